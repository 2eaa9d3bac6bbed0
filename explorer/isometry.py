"""Dynamical isometry: the singular values of a deep network's input-output Jacobian at initialization
(Saxe, McClelland & Ganguli 2014; Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in deep
learning through dynamical isometry").

A network of L square layers of width N, h^l = W^l x^{l-1} + b^l, x^l = phi(h^l), has the input-output Jacobian

    J = dx^L / dx^0 = D^L W^L D^{L-1} W^{L-1} ... D^1 W^1,      D^l = diag(phi'(h^l)).

Its squared singular values are the eigenvalues of J J^T. The mean of that spectrum says whether a small change of
the input grows or shrinks on its way through (the mean-field chi_1 per layer); its variance says whether all
directions are treated alike. "Dynamical isometry" is every squared singular value near 1: the mean 1 (at the edge
of chaos, chi_1 = 1) and the variance small.

    critical_point(activation, q_star)       sigma_w^2, sigma_b^2 with chi_1 = 1 at the fixed point q*, and
                                             mu_k = E[phi'(h)^(2k)], h ~ N(0, q*)
    predicted_variance(...)                  the spectrum's variance for very wide layers (free probability)
    linear_gaussian_moments(depth, width)    the exact expectations for a deep linear Gaussian network of width N
    JacobianWalk                             J built layer by layer, with its squared singular values at any depth
    spectra(...)                             the squared singular values at several depths of one network
    scan(...)                                the same one layer at a time, for a caller that paces the work
    comparison_network(...)                  a deep tanh network at criticality, Gaussian and orthogonal as a stack

The predictions (Pennington et al. 2017, eq. 13-17). At criticality the mean is (sigma_w^2 mu_1)^L = 1 and

    Var = L (mu_2 / mu_1^2 - 1 - s_1),    s_1 = -1 for Gaussian weights, 0 for orthogonal ones,

s_1 being the first coefficient of the S-transform of W^T W. So, for every layer added:
    linear, Gaussian    mu_1 = mu_2 = 1:       Var = L
    linear, orthogonal  J is orthogonal:       Var = 0 exactly (every singular value is 1)
    ReLU (He), Gaussian mu_1 = mu_2 = 1/2:     Var = 2 L
    ReLU, orthogonal                           Var = L: half the D's are 0, no isometry whatever the weights
    tanh, Gaussian      mu_2 / mu_1^2 ~ 1:     Var ~ L
    tanh, orthogonal    L (mu_2 / mu_1^2 - 1), which goes to 0 with q*: isometry at small q*
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from explorer import activations, checks, datasets, initializers
from explorer.network import Network
from explorer.starts import CATALOGUE
from explorer.theory import meanfield

ACTIVATIONS = ("linear", "tanh", "relu")
WEIGHTS = ("gaussian", "orthogonal")
S1 = {"gaussian": -1.0, "orthogonal": 0.0}  # first S-transform coefficient of W^T W (Pennington et al. 2017)
MAX_DEPTH = 1_000
MAX_WIDTH = 1_000
MIN_Q_STAR = 1e-6
MAX_Q_STAR = 100.0
_BLAS: list[ThreadpoolController] = []  # made on first use: looking the libraries up takes a few ms


def one_blas_thread():
    """Hold BLAS to one thread: these products are small, and on a shared 2-core machine a second thread only
    fights the other work (measured: 8 networks of width 128, 8 layers, 6 cases: 22 s against 0.4 s)."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def _check_choice(name: str, value, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name}={value!r} is unknown; valid: {', '.join(allowed)}")
    return value


def _check_q_star(q_star) -> float:
    if isinstance(q_star, (bool, np.bool_)) or not isinstance(q_star, (int, float, np.integer, np.floating)):
        raise TypeError(f"q_star={q_star!r} must be a number")
    if not (math.isfinite(q_star) and MIN_Q_STAR <= q_star <= MAX_Q_STAR):
        raise ValueError(f"q_star={q_star!r} must be a number from {MIN_Q_STAR:g} to {MAX_Q_STAR:g}")
    return float(q_star)


@dataclass(frozen=True)
class CriticalPoint:
    """A point on the edge of chaos, chi_1 = sigma_w^2 mu_1 = 1, and what the Jacobian's spectrum needs there.

    q_star: the fixed point of the length map (the mean square of every h^l). Meaningless for linear and ReLU
        networks without bias (their J does not depend on the input's size); kept as given.
    mu_1, mu_2: E[phi'(h)^2] and E[phi'(h)^4] for h ~ N(0, q*): the first two moments of D^2's spectrum.
    """

    activation: str
    q_star: float
    sigma_w2: float
    sigma_b2: float
    mu_1: float
    mu_2: float


def critical_point(activation: str = "tanh", q_star: float = 1 / 64) -> CriticalPoint:
    """sigma_w^2 and sigma_b^2 on the edge of chaos with the fixed point q* (Pennington et al. 2017, Fig. 1).

    linear: sigma_w^2 = 1, no bias. ReLU: He's sigma_w^2 = 2, no bias (chi_1 = sigma_w^2 / 2 for every q*).
    tanh: chi_1 = sigma_w^2 E[phi'(h)^2] = 1 gives sigma_w^2 = 1 / mu_1, and the fixed point
    q* = sigma_w^2 E[phi(h)^2] + sigma_b^2 gives sigma_b^2 = q* - sigma_w^2 E[tanh(h)^2], h ~ N(0, q*)
    (Gauss-Hermite quadrature, explorer.theory.meanfield). Small q* keeps h in tanh's linear part: D ~ I.
    """
    activation = _check_choice("activation", activation, ACTIVATIONS)
    q = _check_q_star(q_star)
    if activation == "linear":
        return CriticalPoint(activation, q, 1.0, 0.0, 1.0, 1.0)
    if activation == "relu":
        return CriticalPoint(activation, q, 2.0, 0.0, 0.5, 0.5)
    forms = activations.ACTIVATIONS["tanh"].mean_field
    mu_1 = float(meanfield.gaussian_mean(lambda u: forms.g_prime(u) ** 2, q))
    mu_2 = float(meanfield.gaussian_mean(lambda u: forms.g_prime(u) ** 4, q))
    sigma_w2 = 1.0 / mu_1
    sigma_b2 = q - sigma_w2 * float(meanfield.gaussian_mean(lambda u: forms.g(u) ** 2, q))
    return CriticalPoint(activation, q, sigma_w2, max(sigma_b2, 0.0), mu_1, mu_2)


def predicted_variance(activation: str, weights: str, depth, q_star: float = 1 / 64) -> np.ndarray:
    """The variance of J J^T's spectrum at criticality for very wide layers: depth (mu_2 / mu_1^2 - 1 - s_1)
    (Pennington et al. 2017, eq. 17); `depth` may be an array. The mean is 1 at every depth."""
    weights = _check_choice("weights", weights, WEIGHTS)
    point = critical_point(activation, q_star)
    depth = np.asarray(depth, dtype=np.float64)
    if np.any(~np.isfinite(depth) | (depth < 0)):
        raise ValueError(f"depth={depth!r} must be numbers >= 0")
    return depth * (point.mu_2 / point.mu_1**2 - 1 - S1[weights])


@dataclass(frozen=True)
class LinearGaussianMoments:
    """Exact expectations for J = W^L ... W^1, W^l with independent N(0, sigma_w^2 / N) entries, N x N.

    Index l = 0..depth (l = 0: J = I). With M = J J^T and its spectrum's moments m_1 = tr(M)/N, m_2 = tr(M^2)/N:
    mean = E[m_1], second = E[m_2], mean_square = E[m_1^2], variance = E[m_2 - m_1^2] (the expected variance of
    one network's spectrum).
    """

    width: int
    sigma_w2: float
    mean: np.ndarray
    second: np.ndarray
    mean_square: np.ndarray

    @property
    def variance(self) -> np.ndarray:
        return self.second - self.mean_square


def linear_gaussian_moments(depth: int, width: int, sigma_w2: float = 1.0) -> LinearGaussianMoments:
    """The exact moments of a deep linear Gaussian network's J J^T at finite width N.

    One more layer, M' = W M W^T with W independent of M, entries of variance s = sigma_w^2 / N. Wick's theorem
    pairs the four W's of tr(M'^2) = sum W_ia M_ab W_jb W_jc M_cd W_id in three ways, giving
    N s^2 (tr M)^2 + N s^2 tr(M^2) + N^2 s^2 tr(M^2); the four W's of (tr M')^2 give N^2 s^2 (tr M)^2 + 2 N s^2 tr(M^2).
    With x = E[(tr M)^2] / N^2 = E[m_1^2] and y = E[tr(M^2)] / N = E[m_2]:

        y' = sigma_w^4 (x + y + y / N),     x' = sigma_w^4 (x + 2 y / N^2),     x = y = 1 at l = 0,

    and E[m_1] = sigma_w^(2 l). At sigma_w^2 = 1 and large N, y - x = l + O(l^2 / N): the variance grows by 1 a layer.
    """
    depth = checks.count("depth", depth, 0, MAX_DEPTH)
    width = checks.count("width", width, 1, 10**9)  # a formula: any width
    if isinstance(sigma_w2, bool) or not isinstance(sigma_w2, (int, float)) or not (0 < sigma_w2 <= 100):
        raise ValueError(f"sigma_w2={sigma_w2!r} must be a number above 0, at most 100")
    s2, n = float(sigma_w2) ** 2, float(width)
    x, y = np.ones(depth + 1), np.ones(depth + 1)
    for l in range(1, depth + 1):
        x[l] = s2 * (x[l - 1] + 2 * y[l - 1] / n**2)
        y[l] = s2 * (x[l - 1] + y[l - 1] * (1 + 1 / n))
    mean = float(sigma_w2) ** np.arange(depth + 1)
    return LinearGaussianMoments(width, float(sigma_w2), mean, y, x)


# ---------------------------------------------------------------------------------------------
# Measuring: one network, its Jacobian layer by layer.


def weight_initializer(weights: str, sigma_w2: float) -> initializers.Initializer:
    """The labelled start (explorer.starts) for the weights: Gaussian N(0, sigma_w^2 / n_in) ("free_fan_in"), or
    orthogonal with the same entry variance sigma_w^2 / n_in ("orthogonal_fan_in"): a random orthogonal matrix times
    sigma_w sqrt(max(n_in, n_out) / n_in). For a square layer that is sigma_w Q, W W^T = sigma_w^2 I; a tall first
    layer (n_out > n_in) gives each unit what a Gaussian layer gives it on average."""
    weights = _check_choice("weights", weights, WEIGHTS)
    if isinstance(sigma_w2, bool) or not isinstance(sigma_w2, (int, float)) or not (0 < sigma_w2 <= 100):
        raise ValueError(f"sigma_w2={sigma_w2!r} must be a number above 0, at most 100")
    return CATALOGUE["free_fan_in" if weights == "gaussian" else "orthogonal_fan_in"].make(sigma_w2)


def bias_initializer(sigma_b2: float) -> initializers.Initializer:
    """N(0, sigma_b^2) biases, or zeros when sigma_b^2 is 0."""
    if isinstance(sigma_b2, bool) or not isinstance(sigma_b2, (int, float)) or not (0 <= sigma_b2 <= 100):
        raise ValueError(f"sigma_b2={sigma_b2!r} must be a number from 0 to 100")
    return initializers.normal(math.sqrt(sigma_b2)) if sigma_b2 > 0 else initializers.zeros()


class JacobianWalk:
    """J of one random network of width N, one layer at a time: `step()` adds a layer, `jacobian` is J so far.

    The weights and biases are drawn exactly as explorer.network.Network(sizes=[N] * (L + 1), init=...,
    bias_init=..., seed=seed) draws them (one generator, W then b, layer by layer), so J is that network's:
    J = D^L W^L ... D^1 W^1 with D^l = diag(phi'(h^l)), where the last layer is taken through phi too.
    The input x^0 = phi(h^0), h^0 ~ N(0, q*) entrywise (its own generator), so h^l starts at the fixed point.
    Each step costs one N x N matrix product.
    """

    def __init__(self, activation: str, weights: str, width: int, q_star: float = 1 / 64, seed: int = 0) -> None:
        self.point = critical_point(activation, q_star)
        self.weights = _check_choice("weights", weights, WEIGHTS)
        self.width = checks.count("width", width, 1, MAX_WIDTH)
        self.seed = checks.seed(seed)
        self.activation = activations.get(self.point.activation)
        self.init = weight_initializer(self.weights, self.point.sigma_w2)
        self.bias_init = bias_initializer(self.point.sigma_b2)
        self.rng = np.random.default_rng(self.seed)
        h0 = math.sqrt(self.point.q_star) * np.random.default_rng([self.seed, 1]).standard_normal(self.width)
        self.input = self.activation.g(h0) if self.point.activation != "linear" else h0
        self.x = self.input.copy()
        self.jacobian = np.eye(self.width)
        self.depth = 0

    def step(self) -> None:
        """Add one layer: h = W x + b, x <- phi(h), J <- D W J."""
        if self.depth >= MAX_DEPTH:
            raise ValueError(f"depth would exceed {MAX_DEPTH:,} layers")
        shape = (self.width, self.width)
        with one_blas_thread():
            W = self.init(self.rng, shape)
            b = self.bias_init(self.rng, (self.width,))
            h = W @ self.x + b
            x = self.activation.g(h, np.empty_like(h))
            d = self.activation.g_prime(h, x, np.empty_like(h))
            self.jacobian = d[:, None] * (W @ self.jacobian)
        self.x = x
        self.depth += 1

    def squared_singular_values(self) -> np.ndarray:
        """The eigenvalues of J J^T, ascending: J's singular values squared (from the SVD, accurate for tiny ones)."""
        with one_blas_thread():
            return np.sort(np.linalg.svd(self.jacobian, compute_uv=False) ** 2)


def spectra(activation: str, weights: str, width: int, depths: Sequence[int], q_star: float = 1 / 64,
            seed: int = 0) -> dict[int, np.ndarray]:
    """The squared singular values of J at each of `depths`, all from one network (one walk to the deepest)."""
    try:
        wanted = sorted({checks.count("depths", d, 1, MAX_DEPTH) for d in depths})
    except TypeError:
        raise TypeError(f"depths={depths!r} must be a list of depths") from None
    if not wanted:
        raise ValueError("depths is empty; give at least one depth")
    walk = JacobianWalk(activation, weights, width, q_star, seed)
    found = {}
    while walk.depth < wanted[-1]:
        walk.step()
        if walk.depth in wanted:
            found[walk.depth] = walk.squared_singular_values()
    return found


@dataclass(frozen=True)
class ScanStep:
    """One layer of a `scan`: the depth reached and, at the depths the scan records, J J^T's eigenvalues."""

    depth: int
    values: np.ndarray | None


def scan_depths(depth: int) -> list[int]:
    """The depths a scan to `depth` records: 1, 2, 4, ... up to `depth`, and `depth` itself."""
    depth = checks.count("depth", depth, 1, MAX_DEPTH)
    return sorted({2**k for k in range(depth.bit_length()) if 2**k <= depth} | {depth})


def scan(activation: str, weights: str, width: int, depth: int, q_star: float = 1 / 64,
         seed: int = 0) -> Iterator[ScanStep]:
    """Walk one network to `depth`, one layer per step: a caller can stop, or hand control back, after any layer.
    At the depths of `scan_depths(depth)` the step carries J J^T's eigenvalues."""
    recorded = set(scan_depths(depth))
    walk = JacobianWalk(activation, weights, width, q_star, seed)  # checks every argument before the first step
    return _walk_to(walk, depth, recorded)


def _walk_to(walk: JacobianWalk, depth: int, recorded: set[int]) -> Iterator[ScanStep]:
    while walk.depth < depth:
        walk.step()
        yield ScanStep(walk.depth, walk.squared_singular_values() if walk.depth in recorded else None)


def log_density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The density of log10(values) over bins with these edges (in log10 units), counted like numpy.histogram
    with density: the bars' areas sum to the fraction of values inside the edges. Values <= 0 (a ReLU network's
    exact zeros) fall below every bin."""
    values = np.asarray(values, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array; got shape {values.shape}")
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be at least two finite, increasing bin edges")
    with np.errstate(divide="ignore"):
        logs = np.log10(np.where(values > 0, values, 0.0))
    counts, _ = np.histogram(logs[np.isfinite(logs)], bins=edges)
    return counts / (values.size * np.diff(edges))


def spectrum_variance(values: np.ndarray) -> float:
    """The variance of a spectrum: mean of lambda^2 minus the mean of lambda squared, m_2 - m_1^2."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array of eigenvalues; got shape {values.shape}")
    return float(np.var(values))


# ---------------------------------------------------------------------------------------------
# What isometry buys: a deep tanh network at criticality, Gaussian against orthogonal, trained side by side.


def comparison_data(q_star: float = 1 / 64, test_fraction: float = 0.25, seed: int = 0):
    """The built-in 8x8 digits for the comparison: (X_train, y_train, X_test, y_test), each pixel standardized on the
    training set, then all scaled by one factor so that the first layer's h^1 has mean square q* at the critical
    point of q* (sigma_w^2 mean(x^2) + sigma_b^2 = q*): the signal starts at the fixed point."""
    point = critical_point("tanh", q_star)
    train, test = datasets.train_test_split(datasets.digits(), test_fraction, seed=checks.seed(seed))
    X_train, X_test = datasets.standardize(train.X, test.X)
    scale = math.sqrt(max(point.q_star - point.sigma_b2, 0.0) / (point.sigma_w2 * float(np.mean(X_train**2))))
    return X_train * scale, train.y, X_test * scale, test.y


def comparison_network(n_in: int, n_out: int, depth: int, width: int, q_star: float = 1 / 64, seed: int = 0,
                       output: str = "softmax") -> Network:
    """A stack of two tanh networks n_in-(depth x width)-n_out at the critical point of q*: model 0 with Gaussian
    weights N(0, sigma_w^2 / n_in), model 1 with orthogonal weights times sigma_w; both with N(0, sigma_b^2) biases
    and the same seed. (Every layer, the first and last too, uses the same rule; a rectangular orthogonal layer
    has entries of variance sigma_w^2 / max(n_in, n_out).)"""
    point = critical_point("tanh", q_star)
    depth = checks.count("depth", depth, 1, MAX_DEPTH)
    width = checks.count("width", width, 1, MAX_WIDTH)
    sizes = [checks.count("n_in", n_in, 1), *[width] * depth, checks.count("n_out", n_out, 1)]
    inits = [weight_initializer(w, point.sigma_w2) for w in WEIGHTS]
    return Network(sizes, hidden="tanh", output=output, init=inits, seed=[checks.seed(seed)] * 2,
                   bias_init=bias_initializer(point.sigma_b2))
