"""Variance propagation: the closed forms, and the engine's wide random networks against them.

Tolerance for a measured layer variance: each layer multiplies the variance by a random gain whose
relative spread is at most sqrt(2 / n) for n units (the worst case, when the examples are perfectly
correlated and only the n rows of W^[l] average out). Over l layers and K independent networks the log
of measured / predicted then has a standard deviation of at most sqrt(2 l / (n K)); we allow 4 of them.
"""

import math

import numpy as np
import pytest

from explorer import initializers, theory

WIDTH, DEPTH, MODELS = 1000, 8, 4


def tolerance(layer: int, width: int = WIDTH, models: int = MODELS) -> float:
    return 4 * math.sqrt(2 * layer / (width * models))


def test_product_rule_closed_form():
    sizes = [100] * 11
    for factor in (0.5, 1.0, 1.5):
        p = theory.propagate_variance(sizes, factor / 100, "linear", input_second_moment=2.0)
        assert np.allclose(p.a_var, 2.0 * factor ** np.arange(1, 11), rtol=1e-12)


def test_relu_halves_and_he_restores():
    sizes = [64] * 6
    xavier = theory.propagate_variance(sizes, theory.weight_variances(initializers.lecun_normal(), sizes), "relu")
    he = theory.propagate_variance(sizes, theory.weight_variances(initializers.he_normal(), sizes), "relu")
    assert np.allclose(xavier.a_second, 0.5 ** np.arange(1, 6))
    assert np.allclose(he.a_second, 1.0) and np.allclose(he.grad_var, 1.0)
    assert np.allclose(he.a_var, 1 - 1 / np.pi)  # Var = E[a^2] - E[a]^2 = q/2 - q/(2 pi), q = 2


def test_fan_modes_on_changing_widths():
    widths = [784, 1000, 100, 1000, 10]
    predict = {}
    for mode in ("fan_in", "fan_out", "fan_avg"):
        weight_var = theory.weight_variances(initializers.variance_scaling(1.0, mode), widths)
        predict[mode] = theory.propagate_variance(widths, weight_var)
    assert np.allclose(predict["fan_in"].a_var, 1.0)  # forward rule keeps the signal
    assert np.allclose(predict["fan_out"].grad_var, 1.0)  # backward rule keeps the gradient
    assert not np.allclose(predict["fan_in"].grad_var, 1.0) and not np.allclose(predict["fan_out"].a_var, 1.0)
    # fan_avg: each layer's gain is 2 n_in / (n_in + n_out), between the two
    gains = predict["fan_avg"].a_var / np.concatenate([[1.0], predict["fan_avg"].a_var[:-1]])
    n_in, n_out = np.array(widths[:-1]), np.array(widths[1:])
    assert np.allclose(gains, 2 * n_in / (n_in + n_out))


@pytest.mark.parametrize(
    "activation, init, input_std",
    [
        ("linear", initializers.lecun_normal(), 1.0),
        ("linear", initializers.variance_scaling(1.3, "fan_in"), 1.0),
        ("tanh", initializers.lecun_normal(), 0.05),  # small signal: tanh's linear regime
        ("relu", initializers.he_normal(), 1.0),
        ("relu", initializers.lecun_normal(), 1.0),
    ],
)
def test_wide_networks_follow_the_prediction(activation, init, input_std):
    sizes = [WIDTH] * (DEPTH + 1)
    measured = theory.measure_variances(sizes, init, activation, examples=128, models=MODELS, input_std=input_std)
    predicted = theory.propagate_variance(sizes, theory.weight_variances(init, sizes), activation,
                                          input_second_moment=input_std**2)
    for l in range(1, DEPTH + 1):
        assert abs(math.log(measured.z_var[l - 1] / predicted.z_var[l - 1])) < tolerance(l), ("forward", l)
        assert abs(math.log(measured.a_second[l - 1] / predicted.a_second[l - 1])) < tolerance(l) + 0.01, ("a", l)
        back = DEPTH - l + 1  # layers the gradient has crossed
        assert abs(math.log(measured.grad_var[l - 1] / predicted.grad_var[l - 1])) < tolerance(back), ("backward", l)


def test_a_wrong_rule_is_caught():
    """The tolerance is tight enough to tell ReLU's factor 1/2 from none at all."""
    sizes = [WIDTH] * 4
    measured = theory.measure_variances(sizes, initializers.he_normal(), "relu", examples=128, models=MODELS)
    as_if_linear = theory.propagate_variance(sizes, theory.weight_variances(initializers.he_normal(), sizes), "linear")
    assert abs(math.log(measured.z_var[1] / as_if_linear.z_var[1])) > tolerance(2)


def test_bad_arguments():
    with pytest.raises(ValueError, match="activation='swish'"):
        theory.propagate_variance([3, 3], 1.0, "swish")
    with pytest.raises(ValueError, match="not random"):
        theory.weight_variances(initializers.identity(), [3, 3])
