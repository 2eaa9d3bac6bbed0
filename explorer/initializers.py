"""Weight initializers: the recipes that decide where training starts.

Every initializer is a small callable object::

    init = he_normal()
    W = init(rng, (fan_out, fan_in))     # rng is a numpy.random.Generator

The shape is ``(fan_out, fan_in)`` because the weight matrix of layer ``l``
is ``n[l] x n[l-1]``: one row per output unit, one column per input.  A
shape of length 1 is a bias vector; it counts as ``fan_in = fan_out = n``.
Arrays come back as float64; cast them yourself if you need another dtype.

Besides drawing weights, each initializer can say what it promises:
``init.variance(shape)`` is the theoretical variance of one weight and
``init.mean`` its expected value.  ``repr(init)`` reads like the call that
built it, e.g. ``he_normal(mode='fan_in', nonlinearity='relu')``.

One rule, many names
--------------------
Most named schemes are the same rule with different numbers plugged in::

    Var(w) = scale / fan

``variance_scaling(scale, mode, distribution)`` implements that rule and
the named initializers are one-line specialisations of it::

    lecun_normal()         == variance_scaling(1.0,    "fan_in",  "normal")
    xavier_normal(gain=g)  == variance_scaling(g**2,   "fan_avg", "normal")
    he_normal()            == variance_scaling(2.0,    "fan_in",  "normal")
    he_normal(mode=m, nonlinearity=f, param=p)
                           == variance_scaling(gain(f, p)**2, m, "normal")

and the same with ``"uniform"`` for the ``*_uniform`` versions.  The numbers
(variance, uniform bound, gain) are the ones ``torch.nn.init`` and Keras use.
The ``*_normal`` versions use a plain, untruncated normal, like PyTorch;
Keras uses a truncated normal instead, available here as
``variance_scaling(..., distribution="truncated_normal")``.

``zeros``, ``constant``, ``normal``, ``uniform``, ``orthogonal`` and
``identity`` do not scale with the fan and stand on their own.
``get(name, **kwargs)`` looks any of them up by name; ``NAMES`` lists them.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from numbers import Real
from typing import Any

import numpy as np

from explorer import activations, checks

__all__ = [
    "ALIASES",
    "DISTRIBUTIONS",
    "MODES",
    "NAMES",
    "NONLINEARITIES",
    "TRUNCATED_NORMAL_STD",
    "Initializer",
    "constant",
    "gain",
    "get",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "lsuv",
    "normal",
    "orthogonal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Shape = tuple[int, ...]

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")
NONLINEARITIES = ("linear", "identity", "sigmoid", "tanh", "relu", "leaky_relu", "selu")

# A standard normal cut off at -2 and +2 has standard deviation 0.8796...
# (not 1), because the tails it loses are the widest values.  Dividing the
# std by this number before cutting gives back the variance we asked for.
TRUNCATED_NORMAL_STD = 0.87962566103423978


# --------------------------------------------------------------------------
# Argument checks.  Each message names the argument, shows the value and
# says what would have been accepted.
# --------------------------------------------------------------------------


# The largest size any argument may have (a std, a bound, a gain, a mean): anything bigger is a typo,
# and its square (the variance) would no longer be a finite float.
MAX_MAGNITUDE = 1e100
# The most weights one call may draw: 50 million, 400 MB in float64 (the network's own limit).
MAX_ENTRIES = 50_000_000


def _check_number(name: str, value: Any, *, positive: bool = False) -> float:
    """Return ``value`` as a float if it is a finite real number of size at most MAX_MAGNITUDE
    (and > 0 if asked)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r} (for weights that are all zero use zeros())")
    if abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"{name} must be at most {MAX_MAGNITUDE:g} in size, got {value!r}")
    return value


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(allowed)}; got {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(0)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _check_shape(shape: Any) -> Shape:
    """Return ``shape`` as a tuple of 1 or 2 positive Python ints."""
    problem = f"shape must be a tuple of 1 or 2 positive ints, got {shape!r}"
    if not isinstance(shape, (tuple, list)) or len(shape) not in (1, 2):
        raise ValueError(problem)
    for n in shape:
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(problem)
    return tuple(int(n) for n in shape)


def _check_matrix_shape(name: str, shape: Shape) -> Shape:
    if len(shape) != 2:
        raise ValueError(f"shape must be 2-D (fan_out, fan_in) for {name}, got {shape!r}")
    return shape


def _fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight matrix (fan_out, fan_in) or a bias (n,)."""
    if len(shape) == 1:
        return shape[0], shape[0]
    fan_out, fan_in = shape
    return fan_in, fan_out


# --------------------------------------------------------------------------
# The initializer object.
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Initializer:
    """A weight recipe: call it as ``init(rng, shape)`` to get a float64 array.

    Attributes:
        name: the function that built it, e.g. ``"he_normal"``.
        params: the arguments it was built with (shown by ``repr``).
        draw: ``draw(rng, shape) -> array``, called after the arguments are
            checked.
        variance_of: ``variance_of(shape) -> float | None``, see ``variance``.
        mean: the expected value of each weight (``None`` if the weights
            are not identically distributed, as for ``identity``).
    """

    name: str
    params: dict[str, Any]
    draw: Callable[[np.random.Generator, Shape], np.ndarray]
    variance_of: Callable[[Shape], float | None]
    mean: float | None = 0.0

    def __call__(self, rng: np.random.Generator, shape: Shape) -> np.ndarray:
        rng = _check_rng(rng)
        shape = _check_shape(shape)
        if math.prod(shape) > MAX_ENTRIES:
            raise ValueError(
                f"shape={shape!r} holds {math.prod(shape):,} weights "
                f"({8 * math.prod(shape) / 1e6:,.0f} MB); at most {MAX_ENTRIES:,} allowed"
            )
        return np.asarray(self.draw(rng, shape), dtype=np.float64)

    def variance(self, shape: Shape) -> float | None:
        """Theoretical variance of a single weight for this shape.

        This is the number the fan-in argument needs: a layer with ``fan_in``
        inputs multiplies the second moment of its input by about
        ``fan_in * variance``.  ``None`` means the weights are not random
        draws of one distribution (``identity``).
        """
        return self.variance_of(_check_shape(shape))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if v is not None)
        return f"{self.name}({args})"


def _renamed(init: Initializer, name: str, **params: Any) -> Initializer:
    """The same initializer, shown under a friendlier name."""
    return replace(init, name=name, params=params)


# --------------------------------------------------------------------------
# Initializers that do not depend on the fan.
# --------------------------------------------------------------------------


def constant(value: float) -> Initializer:
    """Every weight equals ``value``: W = value.

    Draws nothing from ``rng``.  Mean ``value``, variance 0.  With more than
    one unit per layer this is a bad idea for weights: all units in a layer
    compute the same thing and receive the same gradient, so they never
    become different ("symmetry").  It is fine for biases.
    """
    value = _check_number("value", value)
    return Initializer(
        name="constant",
        params={"value": value},
        draw=lambda rng, shape: np.full(shape, value),
        variance_of=lambda shape: 0.0,
        mean=value,
    )


def zeros() -> Initializer:
    """Every weight is 0: W = 0.  Same as ``constant(0.0)``; the usual bias init."""
    return _renamed(constant(0.0), "zeros")


def normal(std: float = 1.0, mean: float = 0.0) -> Initializer:
    """Independent Gaussian weights: W ~ N(mean, std**2), whatever the layer size.

    ``normal(std=0.01)`` is the classic "small random numbers" start.  Since
    ``std`` ignores the fan, signals shrink or grow layer after layer; this
    is the problem the fan-scaled initializers fix.
    """
    std = _check_number("std", std, positive=True)
    mean = _check_number("mean", mean)
    return Initializer(
        name="normal",
        params={"std": std, "mean": mean},
        draw=lambda rng, shape: mean + std * rng.standard_normal(shape),
        variance_of=lambda shape: std**2,
        mean=mean,
    )


def uniform(limit: float) -> Initializer:
    """Independent uniform weights: W ~ U(-limit, limit), variance limit**2 / 3."""
    limit = _check_number("limit", limit, positive=True)
    return Initializer(
        name="uniform",
        params={"limit": limit},
        draw=lambda rng, shape: rng.uniform(-limit, limit, shape),
        variance_of=lambda shape: limit**2 / 3,
    )


# --------------------------------------------------------------------------
# The general fan-scaled rule and its named special cases.
# --------------------------------------------------------------------------


def _truncated_standard_normal(rng: np.random.Generator, shape: Shape) -> np.ndarray:
    """Standard normal draws, with every value outside [-2, 2] drawn again."""
    x = rng.standard_normal(shape)
    outside = np.abs(x) > 2
    while outside.any():
        x[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(x) > 2
    return x


def variance_scaling(
    scale: float = 1.0, mode: str = "fan_in", distribution: str = "normal"
) -> Initializer:
    """Weights with variance ``scale / fan``: the rule behind LeCun, Xavier and He.

    Args:
        scale: the numerator of the variance (> 0; for all-zero weights use ``zeros()``).
        mode: which fan divides it:
            ``"fan_in"`` (columns, keeps the forward signal steady),
            ``"fan_out"`` (rows, keeps the backward gradient steady), or
            ``"fan_avg"`` = (fan_in + fan_out) / 2, a compromise between the
            two: the variance becomes 2 * scale / (fan_in + fan_out), the
            harmonic mean of scale/fan_in and scale/fan_out.
        distribution: the shape of the distribution, all with variance
            ``scale / fan``:
            ``"normal"`` (the default): W = randn * sqrt(scale / fan), the
            form used in the course notes and by ``torch.nn.init``.
            ``"truncated_normal"``: a normal cut off at 2 standard deviations,
            as Keras and Flax do; the std before the cut is
            ``sqrt(scale / fan) / 0.8796...`` so the variance after it is right.
            ``"uniform"``: U(-limit, limit) with limit = sqrt(3 * scale / fan).

    For a bias vector of length n, fan_in = fan_out = n.
    """
    scale = _check_number("scale", scale, positive=True)
    mode = _check_choice("mode", mode, MODES)
    distribution = _check_choice("distribution", distribution, DISTRIBUTIONS)

    def variance_of(shape: Shape) -> float:
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
        return scale / fan

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        std = math.sqrt(variance_of(shape))
        if distribution == "normal":
            return std * rng.standard_normal(shape)
        if distribution == "truncated_normal":
            return std / TRUNCATED_NORMAL_STD * _truncated_standard_normal(rng, shape)
        limit = math.sqrt(3) * std  # uniform
        return rng.uniform(-limit, limit, shape)

    return Initializer(
        name="variance_scaling",
        params={"scale": scale, "mode": mode, "distribution": distribution},
        draw=draw,
        variance_of=variance_of,
    )


def gain(nonlinearity: str, param: float | None = None) -> float:
    """Recommended factor on the weight std for a given activation function.

    A nonlinearity changes the size of the signal passing through it; the
    gain undoes that on average.  Same table as ``torch.nn.init.calculate_gain``:

    ==========================  =========================
    nonlinearity                gain
    ==========================  =========================
    ``linear``, ``identity``    1
    ``sigmoid``                 1
    ``tanh``                    5/3
    ``relu``                    sqrt(2)
    ``leaky_relu``              sqrt(2 / (1 + a**2)), a = ``param`` (default 0.01, the network's slope)
    ``selu``                    3/4
    ==========================  =========================

    ReLU zeroes half of its inputs, which halves the second moment; the
    factor sqrt(2) puts it back (He et al. 2015).  ``param`` is only used by
    ``leaky_relu`` (its negative slope) and ignored by the others.
    """
    nonlinearity = _check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if nonlinearity == "leaky_relu" and param is not None:
        return math.sqrt(2.0 / (1 + _check_number("param", param) ** 2))
    if nonlinearity == "selu":  # not one of the network's activations
        return 3.0 / 4
    # The network's activations carry their gain in their record (explorer.activations).
    return activations.ACTIVATIONS["linear" if nonlinearity == "identity" else nonlinearity].gain


def lecun_normal() -> Initializer:
    """W ~ N(0, 1 / fan_in).

    LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp": with inputs of
    unit variance and ``fan_in`` of them per unit, weights of variance
    1/fan_in give pre-activations of unit variance.  Also the recommended
    start for SELU networks.  Keras's ``lecun_normal`` is the truncated
    version, ``variance_scaling(1.0, "fan_in", "truncated_normal")``.
    """
    return _renamed(variance_scaling(1.0, "fan_in", "normal"), "lecun_normal")


def lecun_uniform() -> Initializer:
    """W ~ U(-limit, limit), limit = sqrt(3 / fan_in): variance 1/fan_in.

    LeCun et al. (1998), "Efficient BackProp".
    """
    return _renamed(variance_scaling(1.0, "fan_in", "uniform"), "lecun_uniform")


def xavier_normal(gain: float = 1.0) -> Initializer:
    """W ~ N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Glorot & Bengio (2010), "Understanding the difficulty of training deep
    feedforward neural networks".  Asking for variance 1/fan_in (forward
    signal) and 1/fan_out (backward gradient) at once is impossible when the
    two differ, so they split the difference with 2 / (fan_in + fan_out).
    Same as ``torch.nn.init.xavier_normal_``; also called Glorot normal.
    Keras's ``glorot_normal`` is the truncated version,
    ``variance_scaling(gain**2, "fan_avg", "truncated_normal")``.
    """
    g = _check_number("gain", gain, positive=True)
    return _renamed(variance_scaling(g**2, "fan_avg", "normal"), "xavier_normal", gain=g)


def xavier_uniform(gain: float = 1.0) -> Initializer:
    """W ~ U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).

    Glorot & Bengio (2010); the uniform form proposed in the paper, with
    variance gain**2 * 2 / (fan_in + fan_out).  Same as
    ``torch.nn.init.xavier_uniform_`` and Keras's ``glorot_uniform``.
    """
    g = _check_number("gain", gain, positive=True)
    return _renamed(variance_scaling(g**2, "fan_avg", "uniform"), "xavier_uniform", gain=g)


def _he_scale(mode: str, nonlinearity: str, param: float | None) -> float:
    _check_choice("mode", mode, ("fan_in", "fan_out"))
    return gain(nonlinearity, param) ** 2


def he_normal(
    mode: str = "fan_in", nonlinearity: str = "relu", param: float | None = None
) -> Initializer:
    """W ~ N(0, std**2), std = gain(nonlinearity, param) / sqrt(fan).

    He, Zhang, Ren & Sun (2015), "Delving Deep into Rectifiers".  For ReLU
    the gain is sqrt(2), so Var(w) = 2 / fan_in: twice LeCun's, making up for
    the half of the signal that ReLU sets to zero.  ``mode`` is ``"fan_in"``
    (steady forward signal) or ``"fan_out"`` (steady backward gradient).
    Same as ``torch.nn.init.kaiming_normal_``, which is why it is also
    called Kaiming normal; Keras's ``he_normal`` is the truncated version,
    ``variance_scaling(2.0, "fan_in", "truncated_normal")``.

    Note: with ``nonlinearity="leaky_relu"`` and no ``param`` the slope is
    0.01 (as in ``gain``), whereas ``kaiming_normal_`` defaults to ``a=0``.
    """
    scale = _he_scale(mode, nonlinearity, param)
    return _renamed(
        variance_scaling(scale, mode, "normal"),
        "he_normal",
        mode=mode,
        nonlinearity=nonlinearity,
        param=param,
    )


def he_uniform(
    mode: str = "fan_in", nonlinearity: str = "relu", param: float | None = None
) -> Initializer:
    """W ~ U(-bound, bound), bound = gain(nonlinearity, param) * sqrt(3 / fan).

    He et al. (2015), "Delving Deep into Rectifiers"; for ReLU the bound is
    sqrt(6 / fan_in).  Same as ``torch.nn.init.kaiming_uniform_`` and
    Keras's ``he_uniform``.
    """
    scale = _he_scale(mode, nonlinearity, param)
    return _renamed(
        variance_scaling(scale, mode, "uniform"),
        "he_uniform",
        mode=mode,
        nonlinearity=nonlinearity,
        param=param,
    )


# --------------------------------------------------------------------------
# Structured matrices.
# --------------------------------------------------------------------------


def orthogonal(gain: float = 1.0) -> Initializer:
    """A random (semi-)orthogonal matrix times ``gain``.

    Saxe, McClelland & Ganguli (2014), "Exact solutions to the nonlinear
    dynamics of learning in deep linear neural networks": orthogonal
    weights keep the length of every input vector, so a deep linear network
    neither shrinks nor blows up its signal, at any depth.

    Recipe (as ``torch.nn.init.orthogonal_``): draw a Gaussian matrix, take
    its QR decomposition, and flip the sign of each column of Q where the
    diagonal of R is negative, so that Q is uniformly random rather than
    biased by the QR algorithm.  If fan_out <= fan_in the rows of W are
    orthonormal (W W^T = gain**2 I), otherwise the columns are
    (W^T W = gain**2 I).  Uses exactly one ``rng.standard_normal(shape)``.

    Each entry has mean 0 and variance gain**2 / max(fan_in, fan_out).
    Needs a 2-D shape.
    """
    g = _check_number("gain", gain, positive=True)

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        rows, cols = _check_matrix_shape("orthogonal", shape)
        a = rng.standard_normal((rows, cols))
        if rows < cols:
            a = a.T  # QR wants a tall matrix
        q, r = np.linalg.qr(a)
        q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
        if rows < cols:
            q = q.T
        return g * q

    def variance_of(shape: Shape) -> float:
        return g**2 / max(_check_matrix_shape("orthogonal", shape))

    return Initializer(name="orthogonal", params={"gain": g}, draw=draw, variance_of=variance_of)


def identity(gain: float = 1.0) -> Initializer:
    """W = gain * I: ones on the diagonal, zeros elsewhere (``numpy.eye``).

    For a non-square shape it is ``gain * numpy.eye(fan_out, fan_in)``, like
    ``torch.nn.init.eye_``.  Draws nothing from ``rng``.  In a deep linear
    network the signal is multiplied by exactly gain**depth: 1.5 * I
    explodes, 0.5 * I vanishes.  ``variance`` is ``None``: the weights are
    fixed, not draws from one distribution.  Needs a 2-D shape.
    """
    g = _check_number("gain", gain, positive=True)

    def draw(rng: np.random.Generator, shape: Shape) -> np.ndarray:
        fan_out, fan_in = _check_matrix_shape("identity", shape)
        return g * np.eye(fan_out, fan_in)

    def variance_of(shape: Shape) -> None:
        _check_matrix_shape("identity", shape)
        return None

    return Initializer(
        name="identity", params={"gain": g}, draw=draw, variance_of=variance_of, mean=None
    )


# --------------------------------------------------------------------------
# Lookup by name.
# --------------------------------------------------------------------------

_REGISTRY: dict[str, Callable[..., Initializer]] = {
    "zeros": zeros,
    "constant": constant,
    "normal": normal,
    "uniform": uniform,
    "variance_scaling": variance_scaling,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "xavier_normal": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "orthogonal": orthogonal,
    "identity": identity,
}

#: Every initializer ``get`` knows, by its main name.
NAMES: tuple[str, ...] = tuple(_REGISTRY)

#: Other names ``get`` accepts, and the main name each one stands for.
ALIASES: dict[str, str] = {
    "glorot_normal": "xavier_normal",
    "glorot_uniform": "xavier_uniform",
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
    "eye": "identity",
}


def get(name: str, **kwargs: Any) -> Initializer:
    """The initializer called ``name``, built with ``kwargs``.

    ``get("he_normal", mode="fan_out")`` is ``he_normal(mode="fan_out")``.
    ``name`` is one of ``NAMES`` or ``ALIASES`` (e.g. ``"glorot_normal"``).
    """
    valid = f"{', '.join(NAMES)} (or the aliases {', '.join(ALIASES)})"
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, one of {valid}; got {name!r}")
    canonical = ALIASES.get(name, name)
    if canonical not in _REGISTRY:
        raise ValueError(f"name must be one of {valid}; got {name!r}")
    factory = _REGISTRY[canonical]
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError:
        accepted = ", ".join(inspect.signature(factory).parameters) or "no arguments"
        given = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise TypeError(f"{canonical} takes {accepted}; got {given}") from None
    return factory(**kwargs)


# --------------------------------------------------------------------------
# LSUV: a data-dependent start (Mishkin & Matas 2015).
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class LSUVLayer:
    """What ``lsuv`` did to one layer, per model of the stack (arrays of length K).

    Attributes:
        layer: l, counting from 1 (the layer whose output Z^[l] was measured).
        variance_before: Var(Z^[l]) right after the orthonormal draw.
        variance_after: Var(Z^[l]) when the layer was done.
        scale: the factor W^[l] ended up multiplied by (the product of the rescalings).
        rounds: how many rescalings were made (0 if the first measurement was already within tol).
        converged: whether |Var(Z^[l]) - 1| < tol at the end.
    """

    layer: int
    variance_before: np.ndarray
    variance_after: np.ndarray
    scale: np.ndarray
    rounds: np.ndarray
    converged: np.ndarray


def lsuv(
    net: Any,
    X: np.ndarray,
    tol: float = 0.1,
    max_rounds: int = 10,
    seed: int | list[int] | None = None,
) -> list[LSUVLayer]:
    """Layer-sequential unit-variance start (LSUV): orthonormal weights, then rescale each layer
    on real data until its output has variance 1.

    Mishkin & Matas (2015), "All you need is a good init":

    1. draw every W^[l] as a random orthonormal matrix (Saxe et al. 2014; ``orthogonal()``);
    2. for l = 1, ..., L in turn: run the batch ``X`` through the network, measure
       v = Var(Z^[l]) over the batch and the units of layer l (its output before the
       activation), and while |v - 1| >= tol and fewer than ``max_rounds`` rescalings were
       made, set W^[l] <- W^[l] / sqrt(v) and measure again.

    Layers below l are done when layer l is treated, so each layer is fitted to the signal it
    will really receive.  With zero biases Z^[l] is proportional to W^[l], and one rescaling
    gives variance 1 exactly; a bias makes it take more rounds, or never get there (then
    ``converged`` is False and the layer keeps the last rescaling).

    ``net`` is anything with ``W`` (a list of (K, n_out, n_in) arrays, assigned into in place)
    and ``forward(X)`` returning an object whose ``Z[l-1]`` is Z^[l] of shape (K, m, n^[l]),
    as ``explorer.network.Network``.  Each of the K models is treated on its own, and draws
    its orthonormal weights from ``numpy.random.default_rng(seed[k])``, layer by layer;
    ``seed`` defaults to ``net.seeds`` (the network's own seeds), else 0.  Biases are left
    as they are.

    Returns one ``LSUVLayer`` per layer, in order.
    """
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, Real):
        raise TypeError(f"tol must be a real number, got {tol!r}")
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    if not checks.is_count(max_rounds, 1):
        raise ValueError(f"max_rounds must be a positive integer, got {max_rounds!r}")
    weights = getattr(net, "W", None)
    if not callable(getattr(net, "forward", None)) or not isinstance(weights, (list, tuple)) or not weights:
        raise TypeError(
            f"net must be a network with a list of weights W and a forward(X) method "
            f"(e.g. explorer.network.Network), got {type(net).__name__}"
        )
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"X must be a batch of at least 2 examples, one per row; got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
        raise ValueError("X must hold finite numbers (no NaN or infinity)")
    K = weights[0].shape[0]
    seeds = _lsuv_seeds(seed if seed is not None else getattr(net, "seeds", 0), K)

    rngs = [np.random.default_rng(s) for s in seeds]
    start = orthogonal()
    for W in weights:
        for k in range(K):
            W[k] = start(rngs[k], W.shape[1:])

    def variance(l: int) -> np.ndarray:
        """Var(Z^[l+1]) of each model, over the batch and the units."""
        with np.errstate(all="ignore"):
            z = np.asarray(net.forward(X).Z[l], dtype=np.float64)
        return z.reshape(K, -1).var(axis=1)

    report = []
    for l, W in enumerate(weights):
        v = variance(l)
        before = v.copy()
        scale = np.ones(K)
        rounds = np.zeros(K, dtype=int)
        for _ in range(max_rounds):
            todo = (np.abs(v - 1) >= tol) & np.isfinite(v) & (v > 0)
            if not todo.any():
                break
            factor = np.where(todo, 1 / np.sqrt(np.where(todo, v, 1.0)), 1.0)
            for k in np.flatnonzero(todo):
                W[k] = W[k] * factor[k]
            scale *= factor
            rounds += todo
            v = variance(l)
        report.append(LSUVLayer(l + 1, before, v, scale, rounds, np.abs(v - 1) < tol))
    return report


def _lsuv_seeds(seed: Any, K: int) -> list[int]:
    seeds = list(seed) if isinstance(seed, (list, tuple, np.ndarray)) else [seed] * K
    if len(seeds) != K:
        raise ValueError(f"seed must be one integer or one per model ({K}); got {seed!r}")
    for s in seeds:
        if not checks.is_count(s, 0):
            raise ValueError(f"seed must be a non-negative integer or one per model; got {seed!r}")
    return [int(s) for s in seeds]
