"""Tests for explorer.initializers.

Statistical checks compare sample moments with closed forms.  Tolerances come
from the sample size: with n independent draws the sample mean has standard
error sqrt(var / n), and the sample variance has standard error
sqrt((mu4 - var**2) / n), mu4 being the fourth central moment
(3 var**2 for a normal, 9/5 var**2 for a uniform).  We allow 5 standard errors.
"""

import math
import re

import numpy as np
import pytest

from explorer import initializers as init_mod
from explorer.initializers import (
    ALIASES,
    NAMES,
    TRUNCATED_NORMAL_STD,
    constant,
    gain,
    get,
    he_normal,
    he_uniform,
    identity,
    lecun_normal,
    lecun_uniform,
    normal,
    orthogonal,
    uniform,
    variance_scaling,
    xavier_normal,
    xavier_uniform,
    zeros,
)

WIDE = (300, 700)  # fan_out=300, fan_in=700
TALL = (400, 300)  # fan_out=400, fan_in=300
SHAPES = [WIDE, TALL]
N_SE = 5.0

NORMAL_KURTOSIS = 3.0
UNIFORM_KURTOSIS = 9.0 / 5.0

# Arguments for the initializers that have required ones.
REQUIRED_KWARGS = {"constant": {"value": 0.25}, "uniform": {"limit": 0.5}}
RANDOM_NAMES = [n for n in NAMES if n not in ("zeros", "constant", "identity")]


def fans(shape):
    fan_out, fan_in = shape
    return fan_in, fan_out


def draw(init, shape, seed=0):
    return init(np.random.default_rng(seed), shape)


def truncated_normal_moments(c=2.0):
    """Variance and 4th moment of a standard normal truncated to [-c, c].

    From integration by parts: E[x^k] = (k-1) E[x^(k-2)] - 2 c^(k-1) phi(c) / Z.
    """
    phi = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    z = math.erf(c / math.sqrt(2))
    m2 = 1 - 2 * c * phi / z
    m4 = 3 * m2 - 2 * c**3 * phi / z
    return m2, m4


def assert_moments(w, mean, var, kurtosis):
    """Sample mean and variance of w match (mean, var) within N_SE standard errors."""
    n = w.size
    mean_tol = N_SE * math.sqrt(var / n)
    var_tol = N_SE * math.sqrt((kurtosis - 1) * var**2 / n)
    assert abs(w.mean() - mean) < mean_tol, (w.mean(), mean, mean_tol)
    assert abs(w.var() - var) < var_tol, (w.var(), var, var_tol)


def assert_uniform_bounds(w, bound):
    """All of w in [-bound, bound], and the extremes close to +-bound.

    With n uniform draws on a width 2b, P(max < b - t) = (1 - t / 2b)^n, so
    t = 2b ln(1e6) / n is missed with probability 1e-6.
    """
    slack = 2 * bound * math.log(1e6) / w.size
    assert w.min() >= -bound and w.max() <= bound
    assert w.max() > bound - slack, (w.max(), bound, slack)
    assert w.min() < -bound + slack, (w.min(), bound, slack)


# ---------------------------------------------------------------------------
# Named initializers: statistics against formulas written out here.
# ---------------------------------------------------------------------------

NORMAL_CASES = [
    # (initializer, std as a function of (fan_in, fan_out)) -- torch's formulas
    (lecun_normal(), lambda fi, fo: math.sqrt(1 / fi)),
    (xavier_normal(), lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (xavier_normal(gain=1.7), lambda fi, fo: 1.7 * math.sqrt(2 / (fi + fo))),
    (he_normal(), lambda fi, fo: math.sqrt(2) / math.sqrt(fi)),
    (he_normal(mode="fan_out"), lambda fi, fo: math.sqrt(2) / math.sqrt(fo)),
    (he_normal(nonlinearity="tanh"), lambda fi, fo: (5 / 3) / math.sqrt(fi)),
    (
        he_normal(nonlinearity="leaky_relu", param=0.2),
        lambda fi, fo: math.sqrt(2 / (1 + 0.2**2)) / math.sqrt(fi),
    ),
    (normal(std=0.05), lambda fi, fo: 0.05),
]

UNIFORM_CASES = [
    # (initializer, bound as a function of (fan_in, fan_out))
    (lecun_uniform(), lambda fi, fo: math.sqrt(3 / fi)),
    (xavier_uniform(), lambda fi, fo: math.sqrt(6 / (fi + fo))),
    (xavier_uniform(gain=0.5), lambda fi, fo: 0.5 * math.sqrt(6 / (fi + fo))),
    (he_uniform(), lambda fi, fo: math.sqrt(6 / fi)),
    (he_uniform(mode="fan_out"), lambda fi, fo: math.sqrt(6 / fo)),
    (he_uniform(nonlinearity="selu"), lambda fi, fo: 0.75 * math.sqrt(3 / fi)),
    (uniform(0.3), lambda fi, fo: 0.3),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("init, std_of", NORMAL_CASES, ids=lambda x: repr(x))
def test_normal_initializers_match_closed_form(init, std_of, shape):
    std = std_of(*fans(shape))
    assert init.variance(shape) == pytest.approx(std**2, rel=1e-12)
    assert_moments(draw(init, shape), 0.0, std**2, NORMAL_KURTOSIS)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("init, bound_of", UNIFORM_CASES, ids=lambda x: repr(x))
def test_uniform_initializers_match_closed_form(init, bound_of, shape):
    bound = bound_of(*fans(shape))
    assert init.variance(shape) == pytest.approx(bound**2 / 3, rel=1e-12)
    w = draw(init, shape)
    assert_uniform_bounds(w, bound)
    assert_moments(w, 0.0, bound**2 / 3, UNIFORM_KURTOSIS)


def test_normal_with_mean():
    init = normal(std=2.0, mean=-3.0)
    assert init.mean == -3.0
    assert_moments(draw(init, TALL), -3.0, 4.0, NORMAL_KURTOSIS)


@pytest.mark.parametrize("shape", SHAPES)
def test_zeros_and_constant(shape):
    assert np.array_equal(draw(zeros(), shape), np.zeros(shape))
    assert np.array_equal(draw(constant(-0.5), shape), np.full(shape, -0.5))
    assert zeros().variance(shape) == 0.0 and zeros().mean == 0.0
    assert constant(-0.5).variance(shape) == 0.0 and constant(-0.5).mean == -0.5


def test_bias_vectors():
    rng = np.random.default_rng(0)
    assert np.array_equal(zeros()(rng, (5,)), np.zeros(5))
    assert np.array_equal(constant(0.1)(rng, [5]), np.full(5, 0.1))
    # A bias of length n counts as fan_in = fan_out = n.
    init = variance_scaling(2.0, "fan_avg")
    assert init.variance((50,)) == pytest.approx(2.0 / 50)
    assert init(rng, (50,)).shape == (50,)


# ---------------------------------------------------------------------------
# variance_scaling: modes and distributions.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["normal", "uniform", "truncated_normal"])
def test_variance_scaling(distribution, mode, shape):
    fan_in, fan_out = fans(shape)
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    var = 1.5 / fan
    init = variance_scaling(1.5, mode, distribution)
    assert init.variance(shape) == pytest.approx(var, rel=1e-12)
    w = draw(init, shape)
    if distribution == "normal":
        assert_moments(w, 0.0, var, NORMAL_KURTOSIS)
    elif distribution == "uniform":
        assert_uniform_bounds(w, math.sqrt(3 * var))
        assert_moments(w, 0.0, var, UNIFORM_KURTOSIS)
    else:
        m2, m4 = truncated_normal_moments(2.0)
        cut = 2 * math.sqrt(var) / math.sqrt(m2)  # 2 std of the normal before the cut
        assert np.abs(w).max() <= cut
        assert np.abs(w).max() > 0.99 * cut  # it is cut there, not earlier
        assert_moments(w, 0.0, var, m4 / m2**2)


def test_fan_avg_is_harmonic_mean_of_fan_in_and_fan_out():
    for shape in SHAPES:
        v_in = variance_scaling(1.0, "fan_in").variance(shape)
        v_out = variance_scaling(1.0, "fan_out").variance(shape)
        v_avg = variance_scaling(1.0, "fan_avg").variance(shape)
        assert v_avg == pytest.approx(2 / (1 / v_in + 1 / v_out), rel=1e-12)


def test_truncation_constant():
    m2, _ = truncated_normal_moments(2.0)
    assert TRUNCATED_NORMAL_STD == pytest.approx(math.sqrt(m2), rel=1e-15)


def test_default_distribution_is_untruncated_normal():
    init = variance_scaling()
    assert init.params["distribution"] == "normal"
    # An untruncated normal with 700 * 300 draws goes past 2 std many times.
    w = draw(init, WIDE)
    assert np.abs(w).max() > 4 * math.sqrt(init.variance(WIDE))


@pytest.mark.parametrize(
    "named, general",
    [
        (lecun_normal(), variance_scaling(1.0, "fan_in", "normal")),
        (lecun_uniform(), variance_scaling(1.0, "fan_in", "uniform")),
        (xavier_normal(gain=1.3), variance_scaling(1.3**2, "fan_avg", "normal")),
        (xavier_uniform(gain=1.3), variance_scaling(1.3**2, "fan_avg", "uniform")),
        (he_normal(), variance_scaling(2.0, "fan_in", "normal")),
        (he_uniform(mode="fan_out"), variance_scaling(2.0, "fan_out", "uniform")),
    ],
    ids=lambda x: repr(x),
)
def test_named_are_variance_scaling(named, general):
    for shape in SHAPES:
        np.testing.assert_allclose(draw(named, shape, 7), draw(general, shape, 7), rtol=1e-12)


# ---------------------------------------------------------------------------
# Orthogonal and identity.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(50, 50), (30, 80), (80, 30)])
@pytest.mark.parametrize("g", [1.0, 1.5])
def test_orthogonal(shape, g):
    init = orthogonal(gain=g)
    w = draw(init, shape)
    rows, cols = shape
    if rows <= cols:
        np.testing.assert_allclose(w @ w.T, g**2 * np.eye(rows), rtol=0, atol=1e-10)
    else:
        np.testing.assert_allclose(w.T @ w, g**2 * np.eye(cols), rtol=0, atol=1e-10)
    # The mean square entry is exactly the promised variance.
    assert np.mean(w**2) == pytest.approx(init.variance(shape), rel=1e-10)
    assert init.variance(shape) == pytest.approx(g**2 / max(shape), rel=1e-12)


def test_orthogonal_is_not_biased_by_qr_signs():
    # Without the sign correction numpy's Q has a negative diagonal-ish bias;
    # with it, the diagonal of a random orthogonal matrix averages to ~0.
    # Each diagonal entry has variance 1/n, so the mean of n of them ~ 1/n.
    n = 200
    diag = np.diag(draw(orthogonal(), (n, n), seed=3))
    assert abs(diag.mean()) < N_SE * math.sqrt(1 / n / n)


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)])
@pytest.mark.parametrize("g", [1.0, 0.5, 1.5])
def test_identity(shape, g):
    w = draw(identity(gain=g), shape)
    assert np.array_equal(w, g * np.eye(*shape))
    assert identity(g).variance(shape) is None


@pytest.mark.parametrize("init", [orthogonal(), identity()], ids=repr)
def test_matrix_initializers_need_2d(init):
    with pytest.raises(ValueError, match="shape"):
        draw(init, (5,))


def test_rng_use_is_predictable():
    # zeros / constant / identity leave the generator untouched ...
    for init in [zeros(), constant(2.0), identity()]:
        rng = np.random.default_rng(1)
        init(rng, (6, 4))
        assert rng.random() == np.random.default_rng(1).random()
    # ... and orthogonal takes exactly one standard_normal(shape).
    rng, ref = np.random.default_rng(1), np.random.default_rng(1)
    orthogonal()(rng, (6, 4))
    ref.standard_normal((6, 4))
    assert rng.random() == ref.random()


# ---------------------------------------------------------------------------
# gain table.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nonlinearity, param, expected",
    [
        ("linear", None, 1.0),
        ("identity", None, 1.0),
        ("sigmoid", None, 1.0),
        ("tanh", None, 5 / 3),
        ("relu", None, math.sqrt(2)),
        ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
        ("leaky_relu", 0.2, math.sqrt(2 / (1 + 0.04))),
        ("leaky_relu", 0, math.sqrt(2)),
        ("selu", None, 0.75),
    ],
)
def test_gain_table(nonlinearity, param, expected):
    assert gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


# ---------------------------------------------------------------------------
# get, NAMES, repr.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES + tuple(ALIASES))
def test_get_resolves_every_name(name):
    init = get(name, **REQUIRED_KWARGS.get(ALIASES.get(name, name), {}))
    assert callable(init)
    w = draw(init, (6, 4))
    assert w.shape == (6, 4) and w.dtype == np.float64
    assert repr(init).startswith(ALIASES.get(name, name) + "(")


def test_get_passes_kwargs_and_aliases_match():
    a = get("kaiming_normal", mode="fan_out")
    b = he_normal(mode="fan_out")
    assert repr(a) == repr(b)
    assert np.array_equal(draw(a, TALL), draw(b, TALL))
    assert repr(get("glorot_uniform", gain=2.0)) == "xavier_uniform(gain=2.0)"


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="name") as info:
        get("he_norma")
    for name in NAMES:
        assert name in str(info.value)
    assert "'he_norma'" in str(info.value)


def test_names_are_the_public_functions():
    for name in NAMES:
        assert callable(getattr(init_mod, name))
    assert len(set(NAMES)) == len(NAMES)
    assert not set(ALIASES) & set(NAMES)


def test_repr_reads_like_the_call():
    assert repr(he_normal()) == "he_normal(mode='fan_in', nonlinearity='relu')"
    assert repr(he_uniform(nonlinearity="leaky_relu", param=0.1)) == (
        "he_uniform(mode='fan_in', nonlinearity='leaky_relu', param=0.1)"
    )
    assert repr(xavier_normal()) == "xavier_normal(gain=1.0)"
    assert repr(zeros()) == "zeros()"
    assert repr(variance_scaling(2.0, "fan_avg", "uniform")) == (
        "variance_scaling(scale=2.0, mode='fan_avg', distribution='uniform')"
    )


# ---------------------------------------------------------------------------
# Reproducibility.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_weights(name):
    init = get(name, **REQUIRED_KWARGS.get(name, {}))
    a, b = draw(init, TALL, seed=42), draw(init, TALL, seed=42)
    assert np.array_equal(a, b)
    if name in RANDOM_NAMES:
        assert not np.array_equal(a, draw(init, TALL, seed=43))


def test_truncated_normal_reproducible():
    init = variance_scaling(2.0, distribution="truncated_normal")
    assert np.array_equal(draw(init, WIDE, 5), draw(init, WIDE, 5))
    assert not np.array_equal(draw(init, WIDE, 5), draw(init, WIDE, 6))


# ---------------------------------------------------------------------------
# Bad arguments.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf"), 1e101])
@pytest.mark.parametrize(
    "factory, arg",
    [
        (lambda v: variance_scaling(scale=v), "scale"),
        (lambda v: normal(std=v), "std"),
        (lambda v: uniform(limit=v), "limit"),
        (lambda v: xavier_normal(gain=v), "gain"),
        (lambda v: xavier_uniform(gain=v), "gain"),
        (lambda v: orthogonal(gain=v), "gain"),
        (lambda v: identity(gain=v), "gain"),
    ],
)
def test_bad_numbers(factory, arg, bad):
    with pytest.raises(ValueError, match=rf"{arg}.*{re.escape(repr(bad))}"):
        factory(bad)


@pytest.mark.parametrize(
    "factory, arg",
    [
        (lambda v: normal(mean=v), "mean"),
        (lambda v: constant(v), "value"),
        (lambda v: gain("leaky_relu", v), "param"),
    ],
)
def test_non_finite_numbers(factory, arg):
    for bad in [float("nan"), float("inf"), -1e101]:
        with pytest.raises(ValueError, match=arg):
            factory(bad)


@pytest.mark.parametrize("bad", ["1.0", None, True])
def test_non_numbers(bad):
    with pytest.raises(TypeError, match="scale"):
        variance_scaling(scale=bad)


@pytest.mark.parametrize(
    "call, arg, value, allowed",
    [
        (lambda: variance_scaling(mode="fan_sum"), "mode", "fan_sum", "fan_avg"),
        (lambda: variance_scaling(distribution="gaussian"), "distribution", "gaussian", "uniform"),
        (lambda: he_normal(mode="fan_avg"), "mode", "fan_avg", "fan_out"),
        (lambda: he_uniform(nonlinearity="gelu"), "nonlinearity", "gelu", "leaky_relu"),
        (lambda: gain("ReLU"), "nonlinearity", "ReLU", "relu"),
    ],
)
def test_bad_choices(call, arg, value, allowed):
    with pytest.raises(ValueError, match=rf"{arg}.*'{value}'") as info:
        call()
    assert allowed in str(info.value)


@pytest.mark.parametrize(
    "shape", [(), (3, 4, 5), (0, 4), (3, -1), (3.0, 4), 5, "34", (True, 3), None]
)
def test_bad_shapes(shape):
    with pytest.raises(ValueError, match="shape"):
        he_normal()(np.random.default_rng(0), shape)
    with pytest.raises(ValueError, match="shape"):
        he_normal().variance(shape)


def test_numpy_int_shapes_are_fine():
    w = he_normal()(np.random.default_rng(0), (np.int64(3), np.int32(2)))
    assert w.shape == (3, 2)


@pytest.mark.parametrize("rng", [0, None, np.random.RandomState(0), np.random])
def test_rng_must_be_a_generator(rng):
    with pytest.raises(TypeError, match="rng"):
        he_normal()(rng, (3, 2))


def test_zero_scale_points_to_zeros():
    with pytest.raises(ValueError, match=r"scale must be > 0, got 0\.0.*zeros\(\)"):
        variance_scaling(0)


def test_huge_shapes_are_refused_before_drawing():
    with pytest.raises(ValueError, match=r"shape=\(100000, 100000\) holds 10,000,000,000 weights.*at most 50,000,000"):
        he_normal()(np.random.default_rng(0), (100_000, 100_000))
    assert he_normal().variance((100_000, 100_000)) == pytest.approx(2e-5)  # nothing is drawn: fine


def test_get_names_the_arguments_an_initializer_takes():
    with pytest.raises(TypeError, match=r"he_normal takes mode, nonlinearity, param; got gain=2"):
        get("he_normal", gain=2)
    with pytest.raises(TypeError, match=r"zeros takes no arguments; got std=1"):
        get("zeros", std=1)
    with pytest.raises(TypeError, match=r"name must be a string.*he_normal.*got 3"):
        get(3)


def test_choices_must_be_strings():
    with pytest.raises(TypeError, match=r"mode must be a string, one of fan_in, fan_out, fan_avg; got None"):
        variance_scaling(mode=None)
