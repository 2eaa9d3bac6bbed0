"""Mean-field signal propagation (explorer.theory, Poole et al. 2016; Schoenholz et al. 2017), checked against
references that share nothing with the quadrature:

- Monte Carlo estimates of the same Gaussian expectations, with tolerances of 5 standard errors computed from
  the samples themselves;
- the ReLU and linear closed forms: q-map sigma_w^2 q / 2 + sigma_b^2, the arc-cosine kernel of Cho & Saul
  (2009) for the correlation map, chi_1 = sigma_w^2 / 2, the edge of chaos at sigma_w^2 = 2;
- finite differences of the maps for the slopes chi_c and the depth scales;
- wide random networks drawn by the engine, whose measured correlations follow the predicted trajectory within
  a tolerance set by their width (see `width_tolerance`);
- the published edge of chaos for tanh with sigma_b^2 = 0.05, sigma_w^2 = 1.76 (Schoenholz et al. 2017, fig. 1).
"""

import math

import numpy as np
import pytest

from explorer import theory

SAMPLES = 400_000


def monte_carlo(values: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error."""
    return float(values.mean()), float(values.std() / math.sqrt(values.size))


def normals(seed: int, count: int = SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(count), rng.standard_normal(count)


def arccos_kernel(c):
    """E[relu(u1) relu(u2)] / q for unit-correlation-c Gaussians of variance q (Cho & Saul 2009, n = 1)."""
    c = np.asarray(c, dtype=np.float64)
    return (np.sqrt(1 - c * c) + (np.pi - np.arccos(c)) * c) / (2 * np.pi)


# -- the quadrature against Monte Carlo ---------------------------------------------------------


@pytest.mark.parametrize("q", [0.1, 0.7, 2.0, 4.0])
def test_length_map_against_monte_carlo(q):
    z, _ = normals(1)
    sw, sb = 1.9, 0.07
    mean, se = monte_carlo(np.tanh(math.sqrt(q) * z) ** 2)
    assert abs(float(theory.length_map(q, sw, sb, "tanh")) - (sw * mean + sb)) < 5 * sw * se


@pytest.mark.parametrize("q, c", [(0.5, 0.0), (1.0, 0.4), (2.0, -0.6), (3.0, 0.95)])
def test_pair_expectations_against_monte_carlo(q, c):
    z1, z2 = normals(2)
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
    for f, g in [(np.tanh, np.tanh), (lambda u: 1 / np.cosh(u) ** 2, lambda u: 1 / np.cosh(u) ** 2)]:
        mean, se = monte_carlo(f(u1) * g(u2))
        assert abs(float(theory.gaussian_pair_mean(f, g, q, c)) - mean) < 5 * se


@pytest.mark.parametrize("sw, sb", [(1.2, 0.05), (2.5, 0.05), (3.5, 0.2)])
def test_fixed_points_and_chi_1_against_monte_carlo(sw, sb):
    """q* is a fixed point of the Monte Carlo length map, chi_1 is the Monte Carlo mean of sigma_w^2 phi'^2 at q*,
    and c* is a fixed point of the Monte Carlo correlation map."""
    z1, z2 = normals(3)
    m = theory.mean_field(sw, sb, "tanh")
    q, c = float(m.q_star), float(m.c_star)
    mean, se = monte_carlo(np.tanh(math.sqrt(q) * z1) ** 2)
    assert abs(sw * mean + sb - q) < 5 * sw * se
    mean, se = monte_carlo(sw / np.cosh(math.sqrt(q) * z1) ** 4)
    assert abs(float(m.chi_1) - mean) < 5 * se
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
    mean, se = monte_carlo(np.tanh(u1) * np.tanh(u2))
    assert abs((sw * mean + sb) / q - c) < 5 * sw * se / q
    if float(m.chi_1) > 1:  # chaotic: c* is below 1 and the slope there is sigma_w^2 E[phi'(u1) phi'(u2)] < 1
        assert c < 0.99
        mean, se = monte_carlo(sw / np.cosh(u1) ** 2 / np.cosh(u2) ** 2)
        assert abs(float(m.chi_c) - mean) < 5 * se and float(m.chi_c) < 1
    else:
        assert c == 1.0 and float(m.chi_c) == pytest.approx(float(m.chi_1), rel=1e-9)


# -- closed forms -----------------------------------------------------------------------------


def test_relu_length_map_and_fixed_point():
    q = np.array([0.0, 0.3, 1.0, 7.0])
    for sw, sb in [(1.0, 0.0), (1.5, 0.05), (3.0, 0.2)]:
        assert np.allclose(theory.length_map(q, sw, sb, "relu"), sw * q / 2 + sb, rtol=1e-12, atol=1e-15)
    assert float(theory.length_fixed_point(1.5, 0.05, "relu")) == pytest.approx(0.05 / (1 - 0.75), rel=1e-12)
    assert float(theory.length_fixed_point(1.5, 0.0, "relu")) == 0.0
    assert float(theory.length_fixed_point(2.5, 0.05, "relu")) == math.inf  # the length grows without bound


@pytest.mark.parametrize("sw, sb", [(1.5, 0.05), (1.0, 0.3), (1.9, 0.0)])
def test_relu_correlation_map_is_the_arccos_kernel(sw, sb):
    """The map c -> (sigma_w^2 q k(c) + sigma_b^2) / (sigma_w^2 q / 2 + sigma_b^2), k the arc-cosine kernel.

    Gauss-Hermite converges slowly on ReLU's kink: the error shrinks like 1/points (0.25/points measured). The
    test holds it to 0.4/points and checks that it does shrink."""
    c = np.array([-0.8, -0.3, 0.0, 0.3, 0.7, 0.95, 1.0])
    q = 1.3
    want = (sw * q * arccos_kernel(c) + sb) / (sw * q / 2 + sb)
    errors = []
    for points in (50, 100, 150):
        got = theory.correlation_map(c, sw, sb, "relu", q=q, points=points)
        errors.append(np.abs(got - want).max())
        assert errors[-1] < 0.4 / points
    assert errors[2] < errors[0] / 2.5
    # At the fixed point the bias term is sigma_b^2 / q* = 1 - sigma_w^2 / 2 (with a bias).
    if sb > 0:
        got = theory.correlation_map(c, sw, sb, "relu", points=150)
        assert np.abs(got - (sw * arccos_kernel(c) + 1 - sw / 2)).max() < 0.4 / 150


def test_relu_and_linear_chi_1_and_edge():
    sw = np.array([0.5, 1.0, 1.9, 2.0, 3.0])
    assert np.allclose(theory.chi_1(sw, 0.05, "relu"), sw / 2, rtol=1e-12)
    assert np.allclose(theory.chi_1(sw, 0.05, "linear"), sw, rtol=1e-12)
    assert np.allclose(theory.critical_sigma_w2([0.0, 0.05, 0.3], "relu"), 2.0, atol=1e-9)
    assert np.allclose(theory.critical_sigma_w2([0.0, 0.05], "linear"), 1.0, atol=1e-9)
    m = theory.mean_field(np.array([0.5, 1.0, 1.5]), 0.05, "relu")  # ordered: c* = 1, xi_c = -1/ln(sigma_w^2/2)
    assert np.all(m.c_star == 1.0)
    assert np.allclose(m.xi_c, -1 / np.log(np.array([0.5, 1.0, 1.5]) / 2), rtol=1e-9)
    assert np.allclose(m.q_star, 0.05 / (1 - np.array([0.5, 1.0, 1.5]) / 2), rtol=1e-12)
    linear = theory.mean_field(0.8, 0.1, "linear")
    assert float(linear.q_star) == pytest.approx(0.1 / 0.2) and float(linear.xi_c) == pytest.approx(-1 / math.log(0.8))


def test_tanh_without_bias_is_critical_at_one():
    """sigma_b^2 = 0: q* = 0 for sigma_w^2 <= 1, where tanh is linear: chi_1 = sigma_w^2 and the edge is at 1."""
    assert float(theory.critical_sigma_w2(0.0, "tanh")) == pytest.approx(1.0, abs=1e-6)
    m = theory.mean_field(0.6, 0.0, "tanh")
    assert float(m.q_star) < 1e-12 and float(m.chi_1) == pytest.approx(0.6)


# -- the edge of chaos for tanh ------------------------------------------------------------------


def test_tanh_edge_of_chaos_at_1_76():
    critical = float(theory.critical_sigma_w2(0.05, "tanh"))
    assert critical == pytest.approx(1.76, abs=0.01)
    assert float(theory.chi_1(critical, 0.05, "tanh")) == pytest.approx(1.0, abs=1e-9)


def test_tanh_edge_of_chaos_by_monte_carlo():
    """Independently of the quadrature: the Monte Carlo length map iterated to its fixed point and chi_1 from
    the same samples; chi_1 - 1 changes sign between sigma_w^2 = 1.74 and 1.78."""
    z, _ = normals(4, 1_000_000)

    def chi_1_mc(sw, sb=0.05):
        q = 0.57  # near q* (a start elsewhere converges the same, in more layers)
        for _ in range(40):
            q = sw * np.mean(np.tanh(math.sqrt(q) * z) ** 2) + sb
        return monte_carlo(sw / np.cosh(math.sqrt(q) * z) ** 4)

    below, se_below = chi_1_mc(1.74)
    above, se_above = chi_1_mc(1.78)
    assert below + 5 * se_below < 1 < above - 5 * se_above


# -- slopes and depth scales against finite differences --------------------------------------------


@pytest.mark.parametrize("sw, sb", [(1.3, 0.05), (2.5, 0.05), (4.0, 0.1)])
def test_chi_c_and_xi_c_by_finite_differences(sw, sb):
    m = theory.mean_field(sw, sb, "tanh")
    c_star, h = float(m.c_star), 1e-5
    if c_star < 1:
        slope = (theory.correlation_map(c_star + h, sw, sb) - theory.correlation_map(c_star - h, sw, sb)) / (2 * h)
    else:
        slope = (1 - theory.correlation_map(1 - h, sw, sb)) / h
    assert float(slope) == pytest.approx(float(m.chi_c), abs=1e-4)
    assert float(m.xi_c) == pytest.approx(-1 / math.log(float(slope)), rel=1e-3)
    q, h = float(m.q_star), 1e-5
    q_slope = (theory.length_map(q + h, sw, sb) - theory.length_map(q - h, sw, sb)) / (2 * h)
    assert float(m.xi_q) == pytest.approx(-1 / math.log(float(q_slope)), rel=1e-4)


def test_correlations_approach_c_star_at_the_rate_xi_c():
    """Iterate the correlation map itself: the distance to c* shrinks by exp(-1/xi_c) per layer."""
    sw, sb = 2.5, 0.05
    m = theory.mean_field(sw, sb, "tanh")
    c = float(m.c_star) + 0.01
    gaps = []
    for _ in range(30):
        c = float(theory.correlation_map(c, sw, sb))
        gaps.append(c - float(m.c_star))
    rate = (gaps[-1] / gaps[-11]) ** (1 / 10)
    assert rate == pytest.approx(math.exp(-1 / float(m.xi_c)), rel=1e-3)


def test_phase_diagram_phases_and_boundary():
    sw = np.linspace(0.5, 4.0, 15)
    sb = np.array([0.0, 0.05, 0.2])
    d = theory.phase_diagram(sw, sb, "tanh")
    assert d.xi_c.shape == d.chi_1.shape == d.c_star.shape == (3, 15)
    assert np.all(d.c_star[d.chi_1 < 1] == 1.0) and np.all(d.c_star[d.chi_1 > 1.01] < 1.0)
    assert np.allclose(d.critical_sigma_w2, theory.critical_sigma_w2(sb, "tanh", points=40), atol=1e-9)
    assert d.critical_sigma_w2[1] == pytest.approx(1.76, abs=0.01)
    for i in range(3):  # the ordered side lies left of the boundary, the chaotic side right of it
        assert np.all((d.chi_1[i] < 1) == (sw < d.critical_sigma_w2[i]))
    for i in (1, 2):  # with a bias, xi_c is largest next to the edge
        j = np.argmin(np.abs(sw - d.critical_sigma_w2[i]))
        assert np.nanargmax(d.xi_c[i]) in (j - 1, j, j + 1)
    # Without a bias and below the edge, q* = 0 where tanh is linear: c^l = c^{l-1} exactly, xi_c infinite.
    assert np.all(np.isinf(d.xi_c[0, sw < 1]))


# -- wide random networks of the engine ---------------------------------------------------------------

WIDTH, MODELS, DEPTH = 500, 4, 10


def width_tolerance(layer: np.ndarray, c: np.ndarray, width: int = WIDTH, models: int = MODELS) -> np.ndarray:
    """A correlation estimated over n units of near-Gaussian variables has a standard error of about (1 - c^2) /
    sqrt(n); every layer adds such an error and passes the earlier ones on (amplified in the chaotic phase, damped
    in the ordered one), so after l layers we allow sqrt(l) of them, averaged over the models, five times over,
    plus 1/n for the bias of a finite width."""
    return 5 * np.sqrt(layer)[:, None] * (1 - c**2) / math.sqrt(width * models) + 1 / width


@pytest.mark.parametrize(
    "activation, sw, sb, other",  # other: a sigma_w^2 in the other phase, whose trajectory must be rejected
    [("tanh", 1.2, 0.05, 2.4), ("tanh", 2.5, 0.05, 1.25), ("relu", 1.5, 0.05, None),
     ("tanh", 1.0, 0.5, None)],  # a large bias: c^1 = (sigma_w^2 q0 c0 + sigma_b^2) / q^1 is far above c0
)
def test_wide_networks_follow_the_predicted_trajectory(activation, sw, sb, other):
    c0 = (0.2, 0.6, 0.9)
    measured = theory.measure_correlations(sw, sb, activation, depth=DEPTH, width=WIDTH, c0=c0, models=MODELS)
    q_pred, c_pred = theory.propagate_correlation(1.0, c0, DEPTH, sw, sb, activation)
    layers = np.arange(1, DEPTH + 1)
    gap = np.abs(measured.c.mean(axis=0) - c_pred)
    assert np.all(gap < width_tolerance(layers, c_pred)), gap
    # q: a mean over width x inputs, relative error about sqrt(2 / n) per layer
    assert np.allclose(measured.q.mean(axis=0), q_pred, rtol=5 * math.sqrt(2 * DEPTH / (WIDTH * MODELS)))
    # ...and the test can fail: correlations that stay at c0 are rejected, and so is the other phase's trajectory.
    wrong = [np.broadcast_to(np.array(c0), c_pred.shape)]
    if other is not None:
        assert (float(theory.chi_1(sw, sb, activation)) > 1) != (float(theory.chi_1(other, sb, activation)) > 1)
        wrong.append(theory.propagate_correlation(1.0, c0, DEPTH, other, sb, activation)[1])
    for c_wrong in wrong:
        assert not np.all(np.abs(measured.c.mean(axis=0) - c_wrong) < width_tolerance(layers, c_wrong))
    # The first layer sees the inputs themselves; a single random layer leaves little noise there.
    assert np.all(np.abs(measured.c.mean(axis=0)[0] - c_pred[0]) < width_tolerance(np.array([1]), c_pred[:1])[0])


def test_measurement_is_deterministic():
    a = theory.measure_correlations(2.0, 0.1, "tanh", depth=3, width=64, models=2, seed=5)
    b = theory.measure_correlations(2.0, 0.1, "tanh", depth=3, width=64, models=2, seed=5)
    assert np.array_equal(a.c, b.c) and np.array_equal(a.q, b.q)


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: theory.mean_field(1.0, 0.05, "sigmoid"),
        lambda: theory.mean_field(-1.0, 0.05, "tanh"),
        lambda: theory.mean_field(1.0, float("nan"), "tanh"),
        lambda: theory.hermite_nodes(500),
        lambda: theory.phase_diagram([], [0.1]),
        lambda: theory.propagate_correlation(1.0, 1.5, 5, 1.0, 0.0),
        lambda: theory.measure_correlations(1.0, 0.0, depth=0),
        lambda: theory.measure_correlations(1.0, 0.0, width=4, c0=(0.1, 0.2, 0.3)),
    ],
)
def test_bad_input_is_refused_with_a_message(call):
    with pytest.raises((ValueError, TypeError)):
        call()
