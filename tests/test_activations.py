"""Each activation's record: its in-place g and g' against independent formulas, its gain against the
torch.nn.init table, its variance-rule factors against quadrature, and its mean-field forms against g, g'."""

from __future__ import annotations

import math

import numpy as np
import pytest

from explorer import activations, initializers, theory
from explorer.activations import ACTIVATIONS

Z = np.linspace(-3, 3, 601) + 0.005  # no point on ReLU's kink


def independent_g(name: str, z: np.ndarray) -> np.ndarray:
    return {"linear": z, "relu": np.where(z > 0, z, 0.0), "leaky_relu": np.where(z > 0, z, 0.01 * z),
            "tanh": (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)), "sigmoid": 1 / (1 + np.exp(-z))}[name]


@pytest.mark.parametrize("name", activations.NAMES)
def test_g_and_g_prime_in_place_agree_with_formulas_and_differences(name):
    record = ACTIVATIONS[name]
    out = np.empty_like(Z)
    a = record.g(Z, out)
    assert a is out and np.allclose(a, independent_g(name, Z), rtol=1e-12, atol=1e-15)
    slope = record.g_prime(Z, a, np.empty_like(Z))
    h = 1e-6
    central = (independent_g(name, Z + h) - independent_g(name, Z - h)) / (2 * h)
    assert np.allclose(slope, central, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", activations.NAMES)
def test_gain_is_the_torch_table(name):
    torch_table = {"linear": 1.0, "relu": math.sqrt(2.0), "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)),
                   "tanh": 5.0 / 3, "sigmoid": 1.0}
    assert ACTIVATIONS[name].gain == torch_table[name] == initializers.gain(name)


def test_variance_factors_are_the_gaussian_moments():
    """(E[g(z)^2] / q, E[g'(z)^2]) for z ~ N(0, q): exact for linear and ReLU at every q; tanh's hold as q -> 0."""
    for name, q in (("linear", 2.0), ("relu", 2.0), ("relu", 0.3), ("tanh", 1e-6)):
        forward, backward = ACTIVATIONS[name].variance_factors
        form = ACTIVATIONS[name].mean_field
        assert theory.gaussian_mean(lambda u, f=form: f.g(u) ** 2, q) / q == pytest.approx(forward, rel=1e-2)
        assert theory.gaussian_mean(lambda u, f=form: f.g_prime(u) ** 2, q) == pytest.approx(backward, rel=1e-2)
    assert ACTIVATIONS["sigmoid"].variance_factors is None and ACTIVATIONS["sigmoid"].mean_field is None


@pytest.mark.parametrize("name", [n for n in activations.NAMES if ACTIVATIONS[n].mean_field])
def test_mean_field_forms_agree_with_the_network_ones(name):
    record, form = ACTIVATIONS[name], ACTIVATIONS[name].mean_field
    a = record.g(Z.copy())
    assert np.allclose(form.g(Z), a, rtol=1e-14, atol=1e-15)
    assert np.allclose(form.g_prime(Z), record.g_prime(Z, a, np.empty_like(Z)), rtol=1e-12, atol=1e-14)
    h = 1e-5
    central = (form.g_prime(Z + h) - form.g_prime(Z - h)) / (2 * h)
    assert np.allclose(form.g_second(Z), central, rtol=1e-5, atol=1e-7)
    assert form.homogeneous == np.allclose(form.g(2.5 * Z), 2.5 * form.g(Z))


def test_an_unknown_activation_names_the_valid_ones():
    with pytest.raises(ValueError, match="activation='gelu' is unknown; valid: linear, relu, leaky_relu, tanh"):
        activations.get("gelu")


def test_sigmoid_is_exactly_0_or_1_far_out_never_nan_and_warns_about_nothing():
    """The sigmoid is numpy's own (no scipy): e^-z overflows for z below -709 (float64) or -88 (float32), and
    the result must still be exactly 0, with no warning; far above 0 it is exactly 1."""
    import warnings

    for dtype in (np.float32, np.float64):
        z = np.array([-np.inf, -1e5, -800.0, -100.0, 0.0, 100.0, 800.0, 1e5, np.inf], dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an overflow warning would fail here
            a = activations.sigmoid(z)
        assert a.dtype == dtype and not np.isnan(a).any()
        assert list(a[[0, 1, 2]]) == [0.0, 0.0, 0.0] and list(a[[5, 6, 7, 8]]) == [1.0, 1.0, 1.0, 1.0]
        assert a[4] == 0.5
    assert activations.sigmoid(np.float64(-100.0)) == pytest.approx(math.exp(-100.0), rel=1e-15)  # tiny, not 0
    assert activations.sigmoid(np.arange(3)).dtype == np.float64  # integers give floats


def test_sigmoid_writes_into_out_with_no_temporary_and_may_overwrite_z():
    z = np.linspace(-40, 40, 81)
    expected = 1 / (1 + np.exp(-z))
    out = np.empty_like(z)
    assert activations.sigmoid(z, out) is out and np.allclose(out, expected, rtol=1e-15, atol=0)
    assert activations.sigmoid(z, z) is z and np.array_equal(z, out)  # in place over its own input
