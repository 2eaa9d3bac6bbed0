"""Dynamical isometry (explorer.isometry): the Jacobian against finite differences of the network's own forward
pass, the critical point against mean-field theory, the exact moments of deep linear Gaussian networks against
closed forms and Monte Carlo, and the papers' claims about the spectrum's variance with tolerances from the width."""

import math

import numpy as np
import pytest

from explorer import isometry
from explorer.network import Network
from explorer.theory import meanfield
from explorer.training import Trainer


@pytest.mark.parametrize("q_star", [1 / 256, 1 / 64, 0.25, 1.0])
def test_the_tanh_critical_point_is_on_the_edge_of_chaos_with_its_fixed_point(q_star):
    point = isometry.critical_point("tanh", q_star)
    assert point.sigma_b2 >= 0 and point.sigma_w2 > 1
    assert float(meanfield.length_fixed_point(point.sigma_w2, point.sigma_b2, "tanh")) == pytest.approx(q_star,
                                                                                                       rel=1e-9)
    assert float(meanfield.chi_1(point.sigma_w2, point.sigma_b2, "tanh")) == pytest.approx(1.0, abs=1e-9)
    # Small q*: h stays in tanh's linear part and D^2's spectrum narrows. With sech^4 x = 1 - 2x^2 + 7/3 x^4 and
    # sech^8 x = 1 - 4x^2 + 26/3 x^4 and E[x^4] = 3 q^2: mu_2 / mu_1^2 - 1 = 8 q*^2 + O(q*^3).
    if q_star <= 1 / 64:
        assert point.mu_2 / point.mu_1**2 - 1 == pytest.approx(8 * q_star**2, rel=20 * q_star)


def test_linear_and_relu_critical_points():
    assert isometry.critical_point("relu").sigma_w2 == 2 and isometry.critical_point("relu").sigma_b2 == 0
    assert float(meanfield.chi_1(2.0, 0.0, "relu")) == pytest.approx(1.0)
    p = isometry.critical_point("linear")
    assert (p.sigma_w2, p.mu_1, p.mu_2) == (1.0, 1.0, 1.0)


def test_predicted_variances_are_the_papers_rates():
    L = np.array([1, 10, 256])
    np.testing.assert_allclose(isometry.predicted_variance("linear", "gaussian", L), L)
    np.testing.assert_allclose(isometry.predicted_variance("linear", "orthogonal", L), 0)
    np.testing.assert_allclose(isometry.predicted_variance("relu", "gaussian", L), 2 * L)
    np.testing.assert_allclose(isometry.predicted_variance("relu", "orthogonal", L), L)
    tanh_orthogonal = isometry.predicted_variance("tanh", "orthogonal", 256, 1 / 64)
    assert 0 < tanh_orthogonal < 0.6  # near isometry at small q*, even 256 layers deep (about 256 * 8 q*^2)
    assert isometry.predicted_variance("tanh", "gaussian", 256, 1 / 64) > 256


@pytest.mark.parametrize("activation", isometry.ACTIVATIONS)
@pytest.mark.parametrize("weights", isometry.WEIGHTS)
def test_the_jacobian_is_the_networks_by_finite_differences(activation, weights):
    N, L, seed = 7, 5, 3
    walk = isometry.JacobianWalk(activation, weights, N, q_star=0.3, seed=seed)
    for _ in range(L):
        walk.step()
    # The same weights drawn by the engine's Network, whose forward pass gives h^L; x^L = phi(h^L).
    net = Network([N] * (L + 1), hidden=activation, output="linear", init=walk.init, bias_init=walk.bias_init,
                  seed=seed)
    phi = walk.activation.g

    def out(x):
        return phi(net.forward(x[None]).Z[-1][0, 0])

    np.testing.assert_allclose(out(walk.input), walk.x, rtol=1e-12, atol=1e-14)
    eps = 1e-6
    fd = np.stack([(out(walk.input + eps * e) - out(walk.input - eps * e)) / (2 * eps) for e in np.eye(N)], axis=1)
    np.testing.assert_allclose(walk.jacobian, fd, atol=1e-7 * max(1, np.abs(fd).max()))


def test_one_seed_gives_the_same_spectra_bit_for_bit_and_another_seed_others():
    a = isometry.spectra("tanh", "orthogonal", 32, [3, 8], seed=5)
    b = isometry.spectra("tanh", "orthogonal", 32, [8, 3], seed=5)
    assert list(a) == [3, 8] and all(np.array_equal(a[d], b[d]) for d in a)
    assert not np.array_equal(a[8], isometry.spectra("tanh", "orthogonal", 32, [8], seed=6)[8])


def test_the_exact_linear_moments_at_width_one_and_at_large_width():
    # N = 1: M = prod w_l^2 with w_l ~ N(0, s): E[M^2] = (3 s^2)^L, and one eigenvalue has no spread.
    m = isometry.linear_gaussian_moments(6, 1, sigma_w2=0.5)
    np.testing.assert_allclose(m.second, (3 * 0.25) ** np.arange(7))
    np.testing.assert_allclose(m.variance, 0, atol=1e-15)
    np.testing.assert_allclose(m.mean, 0.5 ** np.arange(7))
    # Large N: the variance grows by one a layer (free probability), up to O(L^2 / N).
    L, N = 32, 100_000
    v = isometry.linear_gaussian_moments(L, N).variance
    np.testing.assert_allclose(v, np.arange(L + 1), atol=(L**2 / N))


def test_the_exact_linear_moments_match_monte_carlo_at_width_four():
    """Many small networks drawn at once: E[tr(M^2)]/N and E[(tr M / N)^2] within 4 standard errors."""
    N, L, draws = 4, 5, 40_000
    rng = np.random.default_rng(0)
    J = np.broadcast_to(np.eye(N), (draws, N, N))
    for _ in range(L):
        J = rng.standard_normal((draws, N, N)) / math.sqrt(N) @ J
    M = J @ J.swapaxes(1, 2)
    m1 = np.trace(M, axis1=1, axis2=2) / N
    m2 = np.einsum("kij,kji->k", M, M) / N
    exact = isometry.linear_gaussian_moments(L, N)
    for sample, expected in ((m1, exact.mean[-1]), (m2, exact.second[-1]), (m1**2, exact.mean_square[-1]),
                             (m2 - m1**2, exact.variance[-1])):
        standard_error = sample.std() / math.sqrt(draws)
        assert abs(sample.mean() - expected) < 4 * standard_error, (sample.mean(), expected, standard_error)
    # The finite width matters here: the large-width rate L would be far off.
    assert exact.variance[-1] > L + 10 * (m2 - m1**2).std() / math.sqrt(draws)


def test_orthogonal_linear_networks_are_exact_isometries_at_any_depth():
    values = isometry.spectra("linear", "orthogonal", 48, [1, 256], seed=1)
    for depth in (1, 256):
        np.testing.assert_allclose(values[depth], 1.0, atol=1e-11)


# -- the papers' claims, measured ----------------------------------------------------------------------------------

CLAIM_WIDTH, CLAIM_DEPTH, CLAIM_SEEDS = 128, 8, 8


@pytest.fixture(scope="module")
def measured():
    """The spectrum of J J^T at depth 8 of width-128 networks, 8 seeds, for every activation and weight type."""
    return {(a, w): [isometry.spectra(a, w, CLAIM_WIDTH, [CLAIM_DEPTH], seed=s)[CLAIM_DEPTH] for s in
                     range(CLAIM_SEEDS)] for a in isometry.ACTIVATIONS for w in isometry.WEIGHTS}


@pytest.mark.parametrize("activation", isometry.ACTIVATIONS)
@pytest.mark.parametrize("weights", isometry.WEIGHTS)
def test_the_spectrum_has_mean_one_and_the_predicted_variance(measured, activation, weights):
    """Pennington et al. (2017): at criticality the mean is 1 and the variance L (mu_2 / mu_1^2 - 1 - s_1). Over 8
    networks: within 4 standard errors (from the sample) plus a finite-width correction of 4 L / N relative (the
    exact linear Gaussian one, section 2 of the notebook, is about L / (2N))."""
    spectra = measured[(activation, weights)]
    means = np.array([np.mean(v) for v in spectra])
    variances = np.array([isometry.spectrum_variance(v) for v in spectra])
    predicted = float(isometry.predicted_variance(activation, weights, CLAIM_DEPTH))
    width_correction = 4 * CLAIM_DEPTH / CLAIM_WIDTH

    def within(sample, expected):
        error = 4 * sample.std(ddof=1) / math.sqrt(len(sample)) + width_correction * abs(expected)
        assert abs(sample.mean() - expected) <= error + 1e-12, (sample.mean(), expected, error)

    within(means, 1.0)
    within(variances, predicted)
    if (activation, weights) == ("linear", "gaussian"):
        exact = isometry.linear_gaussian_moments(CLAIM_DEPTH, CLAIM_WIDTH).variance[-1]
        assert abs(variances.mean() - exact) <= 4 * variances.std(ddof=1) / math.sqrt(CLAIM_SEEDS)


def test_only_orthogonal_tanh_and_linear_reach_isometry_relu_never(measured):
    """Every one of the 8 networks: orthogonal linear is exact, orthogonal tanh at q* = 1/64 has a variance below
    0.05 (predicted 0.0135), while Gaussian weights of any activation, and ReLU with either weights, spread by more
    than L / 4."""
    for spectrum in measured[("linear", "orthogonal")]:
        np.testing.assert_allclose(spectrum, 1.0, atol=1e-12)
    assert max(isometry.spectrum_variance(v) for v in measured[("tanh", "orthogonal")]) < 0.05
    for key in (("linear", "gaussian"), ("tanh", "gaussian"), ("relu", "gaussian"), ("relu", "orthogonal")):
        assert min(isometry.spectrum_variance(v) for v in measured[key]) > CLAIM_DEPTH / 4, key


def steps_to_reach(depth: int, width: int, seed: int, threshold: float = 1.0, budget: int = 300) -> list[float]:
    """Steps until each start's batch cost first falls below `threshold` (inf if not within `budget`)."""
    X, y, _, _ = isometry.comparison_data(1 / 64)
    net = isometry.comparison_network(X.shape[1], 10, depth, width, 1 / 64, seed)
    reached = [math.inf, math.inf]
    for snap in Trainer(net, X, y, lr=0.01, batch_size=64, seed=seed).snapshots(every=10, steps=budget):
        for k in range(2):
            if reached[k] == math.inf and snap.cost[k] < threshold:
                reached[k] = snap.step
        if max(reached) < math.inf:
            break
    return reached


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_orthogonal_starts_train_a_deep_tanh_network_faster(seed):
    """Pennington et al. (2017): at criticality, orthogonal weights train deep tanh networks markedly faster than
    Gaussian ones. Here 64-(32x64)-10 on the digits, q* = 1/64, SGD 0.01: the orthogonal start reaches a batch cost
    below 1 in at most 1/1.4 of the Gaussian start's steps (measured over seeds 0-5: 150-170 against 250-330 or
    more; benchmarks/bench_isometry.py train)."""
    gaussian, orthogonal = steps_to_reach(32, 64, seed)
    assert orthogonal <= 200 and 1.4 * orthogonal <= gaussian, (gaussian, orthogonal)
