"""Mean field: order, chaos and the depth a network can be trained at, for very wide random networks
(Poole et al. 2016; Schoenholz et al. 2017), predictions to hold measurements against.

    length_map, correlation_map      one layer of the maps that follow q^l and c^l
    mean_field                       q*, c*, chi_1, chi_c and the depth scales xi_c, xi_q
    critical_sigma_w2, phase_diagram the edge of chaos, and the ordered and chaotic phases around it
    propagate_correlation            predicted q^l and c^l layer by layer
    measure_correlations             the same measured on random networks drawn by the engine
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import ThreadpoolController

from explorer import activations, checks

# ---------------------------------------------------------------------------------------------
# Mean-field signal propagation: order, chaos and the depth a network can be trained at
# (Poole et al. 2016, "Exponential expressivity in deep neural networks through transient chaos";
#  Schoenholz et al. 2017, "Deep information propagation").
#
# Take a network of very wide layers, h^[l] = W^[l] phi(h^[l-1]) + b^[l], weights W_ij ~ N(0, sigma_w^2 / n)
# and biases b_i ~ N(0, sigma_b^2). Over the random weights, each pre-activation h_i^[l] is Gaussian. Two numbers
# follow one input, and one more follows a pair of inputs:
#
#   length map       q^l = sigma_w^2 E_z[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2,            z ~ N(0, 1)
#                    q^l is the mean square of h^[l]; it settles at a fixed point q* within a few layers.
#   correlation map  c^l = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q*,
#                    u1 = sqrt(q*) z1,  u2 = sqrt(q*) (c^{l-1} z1 + sqrt(1 - c^{l-1}^2) z2)
#                    c^l is the correlation of h^[l] for two inputs. c = 1 is always a fixed point.
#   chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2], the slope of the correlation map at c = 1: how much a tiny
#                    difference between two inputs grows (> 1) or shrinks (< 1) per layer.
#
# chi_1 < 1: the ordered phase. Every pair of inputs ends up with c* = 1: deep down, the network can no longer
# tell inputs apart (and gradients vanish). chi_1 > 1: the chaotic phase. c = 1 is unstable, and pairs settle
# at c* < 1: nearby inputs are pulled apart (and gradients explode). chi_1 = 1 is the edge of chaos.
# Near c*, c^l - c* shrinks like exp(-l / xi_c) with the depth scale
#
#   xi_c = -1 / ln(chi_c),   chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at c = c*    (Schoenholz et al. 2017, eq. 9)
#
# so chi_c = chi_1 in the ordered phase, and xi_c diverges at the edge of chaos: information about how two
# inputs differ survives about xi_c layers. Schoenholz et al. found that networks train when their depth is
# below about 6 xi_c. The length settles the same way, with xi_q = -1 / ln(chi_1 + sigma_w^2 E[phi phi''])
# (their eq. 5), the slope of the length map at q*.
#
# Every expectation is a Gauss-Hermite quadrature over standard normals (probabilists' nodes,
# numpy.polynomial.hermite_e.hermegauss): one-dimensional for the length map, a tensor grid of the same nodes
# for the pair. It is exact for polynomials and converges fast for smooth phi (tanh: about 1e-9 at q = 2 with
# 100 nodes). ReLU's kink slows it down to an error of order 1/points (about 1e-3 with 100 nodes in 2-D), so the
# ReLU closed forms (Cho & Saul 2009) are what its tests compare against.
#
# ReLU and linear are positively homogeneous, phi(a x) = a phi(x) for a > 0: their length map is a straight line,
# q -> (sigma_w^2 E[phi(z)^2]) q + sigma_b^2, whose fixed point is solved directly; when it has none (slope >= 1,
# the signal grows without bound) or it is 0 (no bias), the correlation map no longer depends on q and is taken
# in that scale-free form (q = 1, sigma_b^2 = 0).

MEANFIELD_ACTIVATIONS = tuple(name for name in ("tanh", "relu", "linear") if activations.ACTIVATIONS[name].mean_field)
HOMOGENEOUS = tuple(name for name in MEANFIELD_ACTIVATIONS if activations.ACTIVATIONS[name].mean_field.homogeneous)
QUADRATURE_POINTS = 100  # Gauss-Hermite nodes per dimension
MEANFIELD_MAX_BYTES = 400_000_000  # measure_correlations refuses larger weights (one model, float64)
_HERMITE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def hermite_nodes(points: int = QUADRATURE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z_i and weights w_i with E[f(z)] ~ sum_i w_i f(z_i) for z ~ N(0, 1) (weights sum to 1)."""
    if not checks.is_count(points, 2, 150):
        raise ValueError(f"points={points!r} must be an integer from 2 to 150 (hermegauss overflows above)")
    if points not in _HERMITE:
        z, w = np.polynomial.hermite_e.hermegauss(int(points))
        _HERMITE[int(points)] = (z, w / np.sqrt(2 * np.pi))
    return _HERMITE[int(points)]


# phi, phi' and phi'' of each activation are in its record (explorer.activations).


def _phi(activation: str, x: np.ndarray) -> np.ndarray:
    return activations.ACTIVATIONS[activation].mean_field.g(x)


def _dphi(activation: str, x: np.ndarray) -> np.ndarray:
    return activations.ACTIVATIONS[activation].mean_field.g_prime(x)


def _d2phi(activation: str, x: np.ndarray) -> np.ndarray:
    return activations.ACTIVATIONS[activation].mean_field.g_second(x)


def _check_activation(activation) -> str:
    if not isinstance(activation, str) or activation not in MEANFIELD_ACTIVATIONS:
        raise ValueError(f"activation={activation!r} has no mean-field theory here; valid: "
                         f"{', '.join(MEANFIELD_ACTIVATIONS)}")
    return activation


def _as_float_array(name: str, value, *, low: float = 0.0, high: float = np.inf) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r} must be a number or an array of numbers") from None
    if not np.all(np.isfinite(array) & (array >= low) & (array <= high)):
        raise ValueError(f"{name}={value!r} must hold finite numbers from {low} to {high}")
    return array


def _check_variance(name: str, q) -> np.ndarray:
    """A variance q >= 0 (an array, or +inf where a length has blown up), never NaN: sqrt(-1) would be a silent
    NaN."""
    q = np.asarray(q, dtype=np.float64)
    if np.any(np.isnan(q) | (q < 0)):
        raise ValueError(f"{name}={_shown(q)} must be a variance: numbers >= 0, not NaN")
    return q


def _shown(array: np.ndarray) -> str:
    return repr(array.item()) if array.ndim == 0 else f"array of shape {array.shape}"


def gaussian_mean(f, q, points: int = QUADRATURE_POINTS) -> np.ndarray:
    """E[f(sqrt(q) z)] for z ~ N(0, 1), by Gauss-Hermite quadrature; q may be an array."""
    z, w = hermite_nodes(points)
    u = np.sqrt(_check_variance("q", q))[..., None] * z
    return f(u) @ w


def gaussian_pair_mean(f, g, q, c, points: int = QUADRATURE_POINTS) -> np.ndarray:
    """E[f(u1) g(u2)] for u1 = sqrt(q) z1, u2 = sqrt(q) (c z1 + sqrt(1 - c^2) z2), z1, z2 ~ N(0, 1) independent:
    two Gaussians of variance q and correlation c. A tensor grid of Gauss-Hermite nodes; q and c broadcast."""
    z, w = hermite_nodes(points)
    q = _check_variance("q", q)
    c = np.asarray(c, dtype=np.float64)
    if np.any(np.isnan(c) | (np.abs(c) > 1 + 1e-12)):  # a rounding step past +-1 is clipped below
        raise ValueError(f"c={_shown(c)} must be a correlation: numbers from -1 to 1")
    q, c = np.broadcast_arrays(q, np.clip(c, -1, 1))
    root_q = np.sqrt(q)[..., None, None]
    c = c[..., None, None]
    z1, z2 = z[:, None], z[None, :]
    u1 = root_q * z1
    u2 = root_q * (c * z1 + np.sqrt(1 - c * c) * z2)
    return (f(u1) * g(u2)) @ w @ w


def length_map(q, sigma_w2, sigma_b2, activation: str = "tanh", points: int = QUADRATURE_POINTS) -> np.ndarray:
    """One layer of the length map: q^l = sigma_w^2 E[phi(sqrt(q^{l-1}) z)^2] + sigma_b^2 (Poole et al. 2016, eq. 3)."""
    phi = _check_activation(activation)
    sigma_w2 = _as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3)
    sigma_b2 = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3)
    return sigma_w2 * gaussian_mean(lambda u: _phi(phi, u) ** 2, q, points) + sigma_b2


def _bisect(f, lo, hi, iterations: int = 60) -> np.ndarray:
    """Where f changes sign between lo and hi, elementwise: f(lo) >= 0 > f(hi) is kept at every step.

    Each step halves the bracket, so 60 steps reach the float64 resolution of any bracket up to 1e3."""
    lo, hi = np.broadcast_arrays(np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64))
    lo, hi = lo.copy(), hi.copy()
    for _ in range(iterations):
        mid = (lo + hi) / 2
        up = f(mid) >= 0
        lo = np.where(up, mid, lo)
        hi = np.where(up, hi, mid)
    return (lo + hi) / 2


def length_fixed_point(sigma_w2, sigma_b2, activation: str = "tanh", points: int = QUADRATURE_POINTS) -> np.ndarray:
    """q*, the fixed point of the length map; arrays of sigma_w^2 and sigma_b^2 broadcast.

    tanh: tanh^2 < 1, so q -> sigma_w^2 E[tanh^2] + sigma_b^2 stays below sigma_w^2 + sigma_b^2, starts above the
    diagonal at q = 0 (sigma_b^2 >= 0) and is concave: one crossing, found by bisection on [0, sigma_w^2 + sigma_b^2].
    relu, linear: the map is the line q -> s q + sigma_b^2 with s = sigma_w^2 E[phi(z)^2] (1/2 of sigma_w^2 for
    ReLU), so q* = sigma_b^2 / (1 - s) if s < 1, and inf (no fixed point: the length grows without bound) if
    s >= 1 and sigma_b^2 > 0. With s = 1 and no bias, every q is fixed: q* is nan.
    """
    phi = _check_activation(activation)
    sw = _as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3)
    sb = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3)
    sw, sb = np.broadcast_arrays(sw, sb)
    if phi in HOMOGENEOUS:
        slope = sw * gaussian_mean(lambda u: _phi(phi, u) ** 2, 1.0, points)
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.where(slope < 1 - 1e-12, sb / (1 - slope), np.inf)
        return np.where((np.abs(slope - 1) <= 1e-12) & (sb == 0), np.nan, q)
    return _bisect(lambda q: length_map(q, sw, sb, phi, points) - q, np.zeros_like(sw), sw + sb)


def _working_point(sw: np.ndarray, sb: np.ndarray, activation: str, points: int) -> tuple[np.ndarray, np.ndarray]:
    """(q, sigma_b^2) at which to evaluate the correlation map: (q*, sigma_b^2), or for a homogeneous phi whose q*
    is 0, inf or nan, the scale-free limit (1, 0) (see the note above)."""
    q = length_fixed_point(sw, sb, activation, points)
    if activation in HOMOGENEOUS:
        degenerate = ~np.isfinite(q) | (q == 0)
        return np.where(degenerate, 1.0, q), np.where(degenerate, 0.0, sb)
    return q, sb


def correlation_map(c, sigma_w2, sigma_b2, activation: str = "tanh", q=None,
                    points: int = QUADRATURE_POINTS) -> np.ndarray:
    """One layer of the correlation map (Poole et al. 2016, eq. 5):

        c^l = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2) / q^l,   u1, u2 of variance q^{l-1} and correlation c^{l-1}

    with q^l = length_map(q^{l-1}). By default q^{l-1} = q^l = q* (the length has settled), where this is
    the textbook map; pass q to follow a network whose length has not settled yet.
    """
    phi = _check_activation(activation)
    sw = _as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3)
    sb = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3)
    if q is None:
        q, sb = _working_point(*np.broadcast_arrays(sw, sb), phi, points)
    cross = gaussian_pair_mean(lambda u: _phi(phi, u), lambda u: _phi(phi, u), q, c, points)
    return (sw * cross + sb) / length_map(q, sw, sb, phi, points)


def chi_1(sigma_w2, sigma_b2, activation: str = "tanh", points: int = QUADRATURE_POINTS) -> np.ndarray:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] (Poole et al. 2016, eq. 7): the slope of the correlation map at
    c = 1. Below 1: ordered; above 1: chaotic. ReLU: sigma_w^2 / 2 for every q*, so the edge is sigma_w^2 = 2."""
    phi = _check_activation(activation)
    sw = _as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3)
    sb = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3)
    q, _ = _working_point(*np.broadcast_arrays(sw, sb), phi, points)
    return sw * gaussian_mean(lambda u: _dphi(phi, u) ** 2, q, points)


def _slope_of_correlation_map(c, sw, sb, q, activation: str, points: int) -> np.ndarray:
    """dc^l / dc^{l-1} = sigma_w^2 q E[phi'(u1) phi'(u2)] / q^l (Price's theorem: d/dc E[phi(u1) phi(u2)] = q
    E[phi'(u1) phi'(u2)]). At q = q* it is chi_c = sigma_w^2 E[phi'(u1) phi'(u2)]."""
    cross = gaussian_pair_mean(lambda u: _dphi(activation, u), lambda u: _dphi(activation, u), q, c, points)
    return sw * q * cross / length_map(q, sw, sb, activation, points)


def _depth_scale(slope: np.ndarray) -> np.ndarray:
    """-1 / ln(slope): the number of layers over which a deviation shrinks by e. inf at slope 1; nan above 1
    (the deviation grows: no stable fixed point)."""
    slope = np.asarray(slope, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = -1.0 / np.log(np.where(slope > 0, slope, np.nan))
    scale = np.where(slope >= 1 - 1e-12, np.inf, scale)
    return np.where(slope > 1 + 1e-12, np.nan, np.where(slope <= 0, 0.0, scale))


@dataclass
class MeanField:
    """The mean-field quantities at each (sigma_w^2, sigma_b^2); arrays of the broadcast shape.

    q_star: fixed point of the length map (inf: no fixed point, the length grows without bound).
    c_star: stable fixed point of the correlation map (1 in the ordered phase).
    chi_1: slope of the correlation map at c = 1.  chi_c: its slope at c*.
    xi_c = -1 / ln(chi_c): layers over which correlations approach c* (inf at the edge of chaos).
    xi_q = -1 / ln(slope of the length map at q*): layers over which the length approaches q*.
    """

    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    chi_1: np.ndarray
    chi_c: np.ndarray
    xi_c: np.ndarray
    xi_q: np.ndarray


def correlation_fixed_point(sigma_w2, sigma_b2, activation: str = "tanh",
                            points: int = QUADRATURE_POINTS) -> np.ndarray:
    """c*, the stable fixed point of the correlation map; arrays broadcast.

    Where the slope at c = 1 is at most 1, c = 1 is stable and c* = 1. Otherwise f(c) = map(c) - c is >= 0 at
    c = 0 (the map gives (sigma_w^2 E[phi]^2 + sigma_b^2) / q* >= 0 there) and < 0 just below 1 (slope > 1): c* is
    the crossing in between, found by bisection.
    """
    return mean_field(sigma_w2, sigma_b2, activation, points).c_star


def mean_field(sigma_w2, sigma_b2, activation: str = "tanh", points: int = QUADRATURE_POINTS) -> MeanField:
    """q*, c*, chi_1, chi_c, xi_c and xi_q at every (sigma_w^2, sigma_b^2) (arrays broadcast against each other)."""
    phi = _check_activation(activation)
    sw = _as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3)
    sb = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3)
    sw, sb = np.broadcast_arrays(sw, sb)
    q_star = length_fixed_point(sw, sb, phi, points)
    q, sb_eff = _working_point(sw, sb, phi, points)
    slope_at_1 = _slope_of_correlation_map(np.ones_like(q), sw, sb_eff, q, phi, points)
    c_star, chi_c = np.ones(np.shape(q)), np.array(slope_at_1, dtype=np.float64)
    chaotic = slope_at_1 > 1 + 1e-12  # only there is c* below 1: solve for those points alone
    if chaotic.any():
        w, b, r = sw[chaotic], sb_eff[chaotic], q[chaotic]

        def f(c):
            return correlation_map(c, w, b, phi, r, points) - c

        # Bracket [0, 1 - gap] with f(1 - gap) < 0: move toward 1 while f is still >= 0 there (c* close to 1).
        gap = np.full(r.shape, 1e-2)
        for _ in range(20):
            short = f(1 - gap) >= 0
            if not short.any():
                break
            gap = np.where(short, gap / 8, gap)
        found = f(1 - gap) < 0
        c = np.where(found, _bisect(f, np.zeros_like(r), 1 - gap, iterations=40), 1.0)
        c_star[chaotic] = c
        chi_c[chaotic] = np.where(found, _slope_of_correlation_map(c, w, b, r, phi, points), chi_c[chaotic])
    chi = sw * gaussian_mean(lambda u: _dphi(phi, u) ** 2, q, points)
    q_slope = chi + sw * gaussian_mean(lambda u: _phi(phi, u) * _d2phi(phi, u), q, points)
    if phi in HOMOGENEOUS:  # the length map is a line of slope sigma_w^2 E[phi(z)^2], whatever q*
        q_slope = sw * gaussian_mean(lambda u: _phi(phi, u) ** 2, 1.0, points)
    return MeanField(sw, sb, q_star, c_star, chi, chi_c, _depth_scale(chi_c), _depth_scale(q_slope))


def critical_sigma_w2(sigma_b2, activation: str = "tanh", low: float = 0.05, high: float = 20.0,
                      points: int = QUADRATURE_POINTS) -> np.ndarray:
    """The edge of chaos: the sigma_w^2 where chi_1 = 1, for each sigma_b^2 (array or number).

    chi_1 grows with sigma_w^2 (for tanh the growth of q* slows it but never turns it round), so a bisection on
    chi_1 - 1 over [low, high] finds it; nan where chi_1 - 1 does not change sign there. A plain bisection
    rather than scipy.optimize.brentq (brentq would do, but a browser page has no scipy): 60 halvings
    of the bracket reach float64 resolution and work on every sigma_b^2 at once.
    For tanh with sigma_b^2 = 0.05 it is about 1.76 (Schoenholz et al. 2017, fig. 1); for ReLU, 2 (chi_1 =
    sigma_w^2 / 2); for linear, 1.
    """
    phi = _check_activation(activation)
    sb = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3)
    if not 0 < float(_as_float_array("low", low, high=1e3)) < float(_as_float_array("high", high, high=1e3)):
        raise ValueError(f"low={low!r} and high={high!r} must bracket the edge: 0 < low < high")

    def g(sw):
        return 1.0 - chi_1(sw, sb, phi, points)  # >= 0 below the edge

    lo, hi = np.full(sb.shape, float(low)), np.full(sb.shape, float(high))
    found = (g(lo) >= 0) & (g(hi) < 0)
    return np.where(found, _bisect(g, lo, hi), np.nan)


@dataclass
class PhaseDiagram:
    """The mean-field quantities on a grid: arrays of shape (len(sigma_b2), len(sigma_w2)), rows = sigma_b^2.

    critical_sigma_w2[i]: the chi_1 = 1 boundary at sigma_b2[i].
    """

    activation: str
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    q_star: np.ndarray
    c_star: np.ndarray
    chi_1: np.ndarray
    xi_c: np.ndarray
    xi_q: np.ndarray
    critical_sigma_w2: np.ndarray


def phase_diagram(sigma_w2: Sequence[float], sigma_b2: Sequence[float], activation: str = "tanh",
                  points: int = 40) -> PhaseDiagram:
    """Ordered and chaotic phases over a grid of (sigma_w^2, sigma_b^2), with the chi_1 = 1 boundary.

    `points` Gauss-Hermite nodes per dimension: 40 by default, which keeps the quadrature error of the tanh
    maps near 1e-6 at q* = 2 and 1e-4 at q* = 5, and a 40 x 30 grid to about 3 s (the 2-D quadrature of the
    correlation map, 40 halvings of c* at each chaotic point, costs nearly all of it)."""
    phi = _check_activation(activation)
    sw = _as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3).ravel()
    sb = _as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3).ravel()
    if sw.size < 1 or sb.size < 1 or sw.size * sb.size > 100_000:
        raise ValueError(f"the grid has {sw.size} x {sb.size} points; give 1 to 100,000 in all")
    m = mean_field(sw[None, :], sb[:, None], phi, points)
    high = max(20.0, float(sw.max()) * 2)
    return PhaseDiagram(phi, sw, sb, m.q_star, m.c_star, m.chi_1, m.xi_c, m.xi_q,
                        critical_sigma_w2(sb, phi, high=high, points=points))


def propagate_correlation(q0: float, c0, depth: int, sigma_w2: float, sigma_b2: float, activation: str = "tanh",
                          points: int = QUADRATURE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Predicted q^l and c^l of the pre-activations h^[l], l = 1..depth, for two inputs x1, x2 of the same mean
    square q0 = |x|^2 / n^[0] and correlation c0 (c0 may be an array: one trajectory each).

    Layer 1 sees the inputs themselves: q^1 = sigma_w^2 q0 + sigma_b^2, c^1 = (sigma_w^2 q0 c0 + sigma_b^2) / q^1.
    Every later layer applies the length and correlation maps at the current q^{l-1} (not yet q*).
    Returns q of shape (depth,) and c of shape (depth,) + shape of c0.
    """
    phi = _check_activation(activation)
    checks.count("depth", depth, 1, 100_000)
    q0 = float(_as_float_array("q0", q0, low=0.0, high=1e6))
    c0 = _as_float_array("c0", c0, low=-1.0, high=1.0)
    sw = float(_as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3))
    sb = float(_as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3))
    qs, cs = np.zeros(depth), np.zeros((depth,) + c0.shape)
    q = sw * q0 + sb
    c = (sw * q0 * c0 + sb) / q if q > 0 else np.ones_like(c0)
    for l in range(depth):
        qs[l], cs[l] = q, c
        if l + 1 < depth:
            q_next = float(length_map(q, sw, sb, phi, points))
            c = correlation_map(c, sw, sb, phi, q=q, points=points) if q > 0 else np.ones_like(c0)
            q = q_next
    return qs, cs


@dataclass
class CorrelationMeasurement:
    """Measured q^l and c^l of wide random networks drawn by the engine, l = 1..depth.

    q: (models, depth) mean square of h^[l] over units and inputs.  c: (models, depth, pairs) correlation of
    h^[l] for each pair of inputs, over the units.  The mean over models is the estimate; their spread its error.
    """

    q: np.ndarray
    c: np.ndarray
    width: int
    models: int


def measure_correlations(sigma_w2: float, sigma_b2: float, activation: str = "tanh", depth: int = 10,
                         width: int = 500, c0=(0.2, 0.6, 0.9), q0: float = 1.0, models: int = 2,
                         seed: int = 0) -> CorrelationMeasurement:
    """Push pairs of inputs with mean square q0 and correlations c0 through `models` random networks of the engine
    (widths n^[0] = ... = n^[depth] = width, W ~ N(0, sigma_w^2 / n) by variance_scaling, b ~ N(0, sigma_b^2))
    and measure, at every layer, the mean square of h^[l] and the correlation of h^[l] between the two inputs
    of each pair: c = <h_1, h_2> / sqrt(<h_1, h_1> <h_2, h_2>) over the units.

    The pairs are built exactly: x1 = sqrt(n q0) u, x2 = sqrt(n q0) (c0 u + sqrt(1 - c0^2) v) for orthonormal u, v.
    One network at a time, so memory stays at one model's weights (width^2 * depth * 8 bytes).
    """
    from explorer import initializers
    from explorer.network import Network

    phi = _check_activation(activation)
    depth = checks.count("depth", depth, 1, 1000)
    width = checks.count("width", width, 2, 4096)
    models = checks.count("models", models, 1, 100)
    c0 = _as_float_array("c0", c0, low=-1.0, high=1.0).ravel()
    sw = float(_as_float_array("sigma_w2", sigma_w2, low=0.0, high=1e3))
    sb = float(_as_float_array("sigma_b2", sigma_b2, low=0.0, high=1e3))
    if 8.0 * width * width * depth > MEANFIELD_MAX_BYTES:
        raise ValueError(f"width={width} x depth={depth} needs {8.0 * width * width * depth / 1e6:,.0f} MB of "
                         f"weights; at most {MEANFIELD_MAX_BYTES / 1e6:,.0f} MB")
    pairs = c0.size
    if 2 * pairs > width:
        raise ValueError(f"{pairs} pairs need {2 * pairs} orthonormal inputs, more than width={width}")
    basis, _ = np.linalg.qr(np.random.default_rng([seed, 2]).standard_normal((width, 2 * pairs)))
    u, v = basis[:, :pairs].T, basis[:, pairs:].T
    scale = np.sqrt(width * q0)
    X = np.empty((2 * pairs, width))
    X[0::2] = scale * u
    X[1::2] = scale * (c0[:, None] * u + np.sqrt(1 - c0[:, None] ** 2) * v)
    init = initializers.variance_scaling(sw, "fan_in") if sw > 0 else initializers.zeros()
    bias = initializers.normal(np.sqrt(sb)) if sb > 0 else initializers.zeros()
    q = np.zeros((models, depth))
    c = np.zeros((models, depth, pairs))
    with ThreadpoolController().limit(limits=1, user_api="blas"):
        for k in range(models):
            net = Network([width] * (depth + 1), hidden=phi, output="linear", init=init, bias_init=bias,
                          seed=seed * 1000 + k)
            fwd = net.forward(X)
            for l in range(depth):
                h = fwd.Z[l][0]  # (2 pairs, width): h^[l+1] for every input
                h1, h2 = h[0::2], h[1::2]
                q[k, l] = np.mean(h * h)
                c[k, l] = np.sum(h1 * h2, axis=1) / np.sqrt(np.sum(h1 * h1, axis=1) * np.sum(h2 * h2, axis=1))
    return CorrelationMeasurement(q, c, width, models)
