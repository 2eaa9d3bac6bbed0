"""The hidden activations, one record each: g, g', the gain that initializers use, and what the theory needs.

    ACTIVATIONS["tanh"].g(z, out)            g(z), written into `out` when given (the network's forward pass)
    ACTIVATIONS["tanh"].g_prime(z, a, out)   g'(z), from z and a = g(z), written into `out` (its backward pass)
    ACTIVATIONS["tanh"].gain                 the factor on the weight std that undoes g's change of size
    ACTIVATIONS["tanh"].variance_factors     (E[g(z)^2] / q, E[g'(z)^2]) for z ~ N(0, q): the variance rule
    ACTIVATIONS["tanh"].mean_field           g, g', g'' as plain functions, for the mean-field expectations

The network's forward and backward passes call `g` and `g_prime` with buffers allocated once, so both work in
place with numpy's `out=` and make no temporary array.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01  # leaky ReLU's slope below 0

# 0 and 1 as 0-d arrays of each float type, for np.maximum(z, 0) and the sigmoid's 1 + e^-z: numpy then converts
# no Python number at each call (float64, 3,000 values: 2.0 against 2.8 us), and the result keeps z's type.
ZEROS = {np.dtype(t): np.zeros((), t) for t in (np.float32, np.float64)}
ONES = {np.dtype(t): np.ones((), t) for t in (np.float32, np.float64)}


@dataclass(frozen=True)
class MeanFieldForms:
    """g, g' and g'' as plain functions of an array, for the expectations of mean-field theory.

    homogeneous: g(a x) = a g(x) for every a > 0 (ReLU, linear), so the length map is a straight line.
    """

    g: Callable[[np.ndarray], np.ndarray]
    g_prime: Callable[[np.ndarray], np.ndarray]
    g_second: Callable[[np.ndarray], np.ndarray]
    homogeneous: bool


@dataclass(frozen=True)
class Activation:
    """One hidden activation.

    name: its name, as Network(hidden=...) takes it.
    formula: g(z), written out.
    g: g(z, out=None) -> array; with `out`, the result is written there.
    g_prime: g_prime(z, a, out) -> out, g'(z) computed from z or from a = g(z), whichever is cheaper.
    gain: the recommended factor on the weight std (the table of torch.nn.init.calculate_gain).
    variance_factors: (E[g(z)^2] / q, E[g'(z)^2]) for z ~ N(0, q), the two factors of the variance rule;
        None where the rule has no constant factors.
    mean_field: the functions mean-field theory integrates; None where it is not offered.
    """

    name: str
    formula: str
    g: Callable[..., np.ndarray]
    g_prime: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    gain: float
    variance_factors: tuple[float, float] | None = None
    mean_field: MeanFieldForms | None = None


# -- g: in place when `out` is given ----------------------------------------------------------


def _linear(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    if out is None:
        return z
    np.copyto(out, z)
    return out


def _relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.maximum(z, ZEROS.get(z.dtype, 0), out=out)


def _leaky_relu(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    scaled = np.multiply(z, LEAKY_SLOPE, out=out)  # max(z, 0.01 z) is z for z > 0 and 0.01 z below
    return np.maximum(z, scaled, out=scaled)


def _tanh(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    return np.tanh(z, out=out)


def sigmoid(z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """1 / (1 + e^-z), written into `out` when given, with no temporary array: four numpy ufuncs in place.

    For large |z| it is exactly 0 or 1, never NaN: e^-z overflows to inf below z = -709 (float64; -88 in
    float32), and 1 / (1 + inf) = 0; numpy's overflow warning for that is silenced. This is scipy's expit
    (scipy.special.expit computes the same formula) without scipy, which a page in the browser would have to
    download (about 20 MB) just for it. Measured against expit: about 1 us slower on the three-layer demo's
    300 values, twice as fast from 10,000 values up (numpy's exp is vectorized).
    """
    if out is None:
        out = np.empty_like(z, dtype=np.result_type(z, 1.0))  # float32 stays float32; integers give float64
    np.negative(z, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    np.add(out, ONES.get(out.dtype, 1), out=out)
    return np.reciprocal(out, out=out)


# -- g': into `out`, from z or a = g(z) ---------------------------------------------------------


def _linear_prime(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    out.fill(1)
    return out


def _relu_prime(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    return np.sign(a, out=out)  # 1 where a = max(z, 0) > 0: sign(a), with no bool-to-float conversion


def _leaky_relu_prime(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.greater(z, 0, out=out)
    np.multiply(out, 1 - LEAKY_SLOPE, out=out)
    return np.add(out, LEAKY_SLOPE, out=out)


def _tanh_prime(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.multiply(a, a, out=out)  # 1 - a^2
    return np.subtract(1, out, out=out)


def _sigmoid_prime(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.subtract(1, a, out=out)  # a (1 - a)
    return np.multiply(out, a, out=out)


ACTIVATIONS: dict[str, Activation] = {
    "linear": Activation(
        "linear", "z", _linear, _linear_prime, gain=1.0,
        variance_factors=(1.0, 1.0),  # exact
        mean_field=MeanFieldForms(lambda u: u, np.ones_like, np.zeros_like, homogeneous=True),
    ),
    "relu": Activation(
        "relu", "max(z, 0)", _relu, _relu_prime, gain=math.sqrt(2.0),
        variance_factors=(0.5, 0.5),  # exact: half the units are off; He's factor 2 undoes it
        mean_field=MeanFieldForms(
            lambda u: np.maximum(u, 0.0),
            lambda u: (u > 0).astype(np.float64),
            np.zeros_like,  # 0 away from the kink (and g = 0 at it)
            homogeneous=True,
        ),
    ),
    "leaky_relu": Activation(
        "leaky_relu", f"max(z, {LEAKY_SLOPE} z)", _leaky_relu, _leaky_relu_prime,
        gain=math.sqrt(2.0 / (1 + LEAKY_SLOPE**2)),
    ),
    "tanh": Activation(
        "tanh", "tanh(z)", _tanh, _tanh_prime, gain=5.0 / 3,
        variance_factors=(1.0, 1.0),  # its linear regime (small q: tanh z ~ z), an approximation that fails as q grows
        mean_field=MeanFieldForms(
            np.tanh,
            lambda u: 1.0 / np.cosh(u) ** 2,
            lambda u: -2.0 * np.tanh(u) / np.cosh(u) ** 2,
            homogeneous=False,
        ),
    ),
    "sigmoid": Activation("sigmoid", "1 / (1 + e^-z)", sigmoid, _sigmoid_prime, gain=1.0),
}

#: Every hidden activation the network offers, in the order its messages list them.
NAMES: tuple[str, ...] = tuple(ACTIVATIONS)


def get(name: str) -> Activation:
    """The record of hidden activation `name`; a ValueError naming the valid ones otherwise."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"activation={name!r} is unknown; valid: {', '.join(NAMES)}")
    return ACTIVATIONS[name]
