"""Variance propagation: how the variance of signals and gradients travels through a deep network at
initialization (Glorot & Bengio 2010; He et al. 2015), predictions to hold measurements against.

    propagate_variance   the layer-by-layer rule, forward and backward, for any widths and weight variances
    weight_variances     the Var(W^[l]) an initializer promises for given widths
    measure_variances    the same quantities measured on random networks drawn by the engine
    chain_scales         the deep linear chain started at W = gain * I, exactly (with rms, layer_gain, matched)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Real

import numpy as np
from threadpoolctl import ThreadpoolController

from explorer import activations, checks

# ---------------------------------------------------------------------------------------------
# Variance propagation.
#
# With zero-mean weights drawn independently of everything else, unit k of layer l adds up n^[l-1]
# independent terms w_kj a_j, so
#
#     Var(z^[l]) = n^[l-1] Var(W^[l]) E[(a^[l-1])^2] + Var(b^[l])
#
# and going backward, dA^[l-1] = W^[l]^T dZ^[l] adds up n^[l] terms:
#
#     Var(dA^[l-1]) = n^[l] Var(W^[l]) Var(dZ^[l]),     dZ^[l] = dA^[l] * g'(z^[l]).
#
# What the activation does to the second moment, for a zero-mean Gaussian z of variance q, is the pair of
# factors its record carries (explorer.activations):
#   linear: E[a^2] = q and E[g'^2] = 1, exactly;
#   tanh:   the same in its linear regime (small q: tanh z ~ z), an approximation that fails as q grows;
#   relu:   E[a^2] = q / 2 and E[g'^2] = 1 / 2, exactly: half the units are off. He's factor 2 undoes this.

ACTIVATION_FACTORS = {  # name: (E[g(z)^2] / q, E[g'(z)^2]) for z ~ N(0, q)
    name: activations.ACTIVATIONS[name].variance_factors for name in ("linear", "tanh", "relu")
}


MAX_LAYERS = 10_000  # deeper than any network worth predicting
MAX_BYTES = 500_000_000  # measure_variances refuses to allocate more than this (weights and signals, float64)


def _check_sizes(sizes) -> list[int]:
    """Layer widths [n^[0], ..., n^[L]]: at least two positive integers, at most MAX_LAYERS layers."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes={sizes!r} must be a list of layer widths, e.g. [784, 100, 10]")
    if not 2 <= len(sizes) <= MAX_LAYERS + 1:
        raise ValueError(f"sizes has {len(sizes)} widths; give from 2 to {MAX_LAYERS + 1:,} (input first)")
    for n in sizes:
        if not checks.is_count(n, 1):
            raise ValueError(f"sizes={list(sizes)!r}: every width must be a positive integer, not {n!r}")
    return [int(n) for n in sizes]


def _check_real(name: str, value, *, positive: bool = False) -> float:
    """A finite real number, >= 0 (or > 0 if `positive`)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name}={value!r} must be a real number")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name}={value!r} must be a finite number {'> 0' if positive else '>= 0'}")
    return value


@dataclass
class VariancePrediction:
    """Predicted per-layer statistics, index l-1 for layer l = 1..L.

    z_var: Var(z^[l]).  a_second: E[(a^[l])^2].  a_var: Var(a^[l]) (ReLU outputs have a positive mean).
    grad_var: Var(dA^[l]) relative to Var(dA^[L]) = output_grad_variance.
    """

    z_var: np.ndarray
    a_second: np.ndarray
    a_var: np.ndarray
    grad_var: np.ndarray


def weight_variances(init, sizes: Sequence[int]) -> np.ndarray:
    """Var(W^[l]) of each layer that `init` promises for the widths `sizes` = [n^[0], ..., n^[L]]."""
    sizes = _check_sizes(sizes)
    if not callable(getattr(init, "variance", None)):
        raise TypeError(f"init={init!r} must be an initializer from explorer.initializers (it has no variance)")
    values = [init.variance((n_out, n_in)) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False)]
    if any(v is None for v in values):
        raise ValueError(f"init={init!r} is not random; its variance is not defined")
    return np.array(values, dtype=np.float64)


def propagate_variance(
    sizes: Sequence[int],
    weight_var: Sequence[float] | float,
    activation: str = "linear",
    input_second_moment: float = 1.0,
    bias_var: float = 0.0,
    output_grad_variance: float = 1.0,
) -> VariancePrediction:
    """Predict Var(z^[l]), E[(a^[l])^2] forward and Var(dA^[l]) backward through every layer.

    Every layer, the last included, applies `activation` (linear, tanh in its linear regime, or relu).
    """
    if not isinstance(activation, str) or activation not in ACTIVATION_FACTORS:
        raise ValueError(f"activation={activation!r} has no variance rule; valid: {', '.join(ACTIVATION_FACTORS)}")
    n = np.asarray(_check_sizes(sizes), dtype=np.float64)
    L = len(n) - 1
    try:
        v = np.broadcast_to(np.asarray(weight_var, dtype=np.float64), (L,))
    except (TypeError, ValueError):
        raise ValueError(f"weight_var={weight_var!r} must be one number or one per layer ({L})") from None
    if not np.all(np.isfinite(v) & (v >= 0)):
        raise ValueError(f"weight_var={weight_var!r}: every weight variance must be a finite number >= 0")
    input_second_moment = _check_real("input_second_moment", input_second_moment)
    bias_var = _check_real("bias_var", bias_var)
    output_grad_variance = _check_real("output_grad_variance", output_grad_variance)
    forward_factor, backward_factor = ACTIVATION_FACTORS[activation]
    z_var, a_second = np.zeros(L), np.zeros(L)
    previous = input_second_moment
    with np.errstate(over="ignore", invalid="ignore"):  # a deep exploding chain reaches inf: a fair answer
        for l in range(1, L + 1):
            z_var[l - 1] = n[l - 1] * v[l - 1] * previous + bias_var
            a_second[l - 1] = forward_factor * z_var[l - 1]
            previous = a_second[l - 1]
        a_var = a_second - (z_var / (2 * np.pi) if activation == "relu" else 0.0)  # E[relu(z)] = sqrt(q / 2 pi)
        grad_var = np.zeros(L)
        grad_var[L - 1] = output_grad_variance
        for l in range(L, 1, -1):
            grad_var[l - 2] = n[l] * v[l - 1] * backward_factor * grad_var[l - 1]
    return VariancePrediction(z_var, a_second, a_var, grad_var)


@dataclass
class VarianceMeasurement:
    """Measured per-layer statistics of real networks, averaged over a stack of independent draws.

    Same fields as VariancePrediction; `models` independent networks, `examples` inputs each.
    """

    z_var: np.ndarray
    a_second: np.ndarray
    a_var: np.ndarray
    grad_var: np.ndarray
    models: int
    examples: int


def measure_variances(
    sizes: Sequence[int],
    init,
    activation: str = "linear",
    examples: int = 256,
    models: int = 4,
    seed: int = 0,
    input_std: float = 1.0,
) -> VarianceMeasurement:
    """Draw `models` networks with `init`, push Gaussian inputs through them and a gradient back.

    Every layer, the last included, applies `activation`, as `propagate_variance` assumes. The backward
    pass starts from an output gradient drawn independently of the network (standard normal), which is
    what the backward rule assumes; a gradient computed from the network's own output is correlated with
    its weights, and in the top layers of a deep linear network that doubles the measured variance.
    """
    from explorer.network import Network

    sizes = _check_sizes(sizes)
    g = activations.get(activation)
    if not (isinstance(init, str) or callable(init)):
        raise TypeError(f"init={init!r} must be an initializer (callable) or its name")
    examples = checks.count("examples", examples, 1, 1_000_000)
    models = checks.count("models", models, 1, 1_000)
    seed = checks.count("seed", seed, 0, 2**63 - 1)
    input_std = _check_real("input_std", input_std, positive=True)
    weights = models * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    signals = models * examples * (sizes[0] + 3 * sum(sizes[1:]))  # inputs, z, a and the gradient kept per layer
    needed = 8 * (weights + signals)
    if needed > MAX_BYTES:
        raise ValueError(
            f"sizes with {len(sizes) - 1} layers up to {max(sizes):,} wide, {models} models and {examples} examples "
            f"need about {needed / 1e6:,.0f} MB; at most {MAX_BYTES / 1e6:,.0f} MB allowed: "
            "use fewer or narrower layers"
        )

    rng = np.random.default_rng([seed, 1])  # inputs from a stream of their own, apart from the weights'
    net = Network(list(sizes), hidden="linear", output="linear", init=init, seed=[seed + k for k in range(models)])
    X = input_std * rng.standard_normal((examples, sizes[0]))
    L = len(sizes) - 1
    z_var, a_second, a_var, grad_var = (np.zeros(L) for _ in range(4))
    with np.errstate(all="ignore"), ThreadpoolController().limit(limits=1, user_api="blas"):
        a = X
        zs, acts = [], []
        for l in range(L):
            z = a @ net.W[l].transpose(0, 2, 1)
            a = g.g(z)
            zs.append(z)
            acts.append(a)
            z_var[l], a_second[l], a_var[l] = z.var(), np.mean(a * a), a.var()
        da = rng.standard_normal(acts[-1].shape)
        grad_var[L - 1] = da.var()
        for l in range(L - 1, 0, -1):
            dz = da * g.g_prime(zs[l], acts[l], np.empty_like(zs[l]))
            da = dz @ net.W[l]
            grad_var[l - 1] = da.var()
    return VarianceMeasurement(z_var, a_second, a_var, grad_var, models, examples)


# ---------------------------------------------------------------------------------------------
# A deep linear network started at W = gain * I: exploding and vanishing signals, exactly.
#
# Take L layers whose weights are all W^[l] = g I (the last one g times the identity cut to its
# shape), zero biases and linear hidden activations. Then, for every example x,
#
#     a^[l]  = g^l x                                    forward, l = 1..L-1
#     dA^[l] = g^(L-l) dA,  dA = dZ^[L] (1, 0, ..., 0)   backward: W^[l+1..L] transposed, l = 1..L-1
#     dW^[l] = dZ^[l]^T a^[l-1] = g^(l-1) g^(L-l) (dA^T x) = g^(L-1) (dA^T x)
#
# so the activations grow (g > 1) or shrink (g < 1) layer after layer, the back-propagated gradient
# does the same in the other direction, growing toward the input when g > 1, and the weight gradient
# is the same matrix in every layer: what it gains from the backward pass it loses in the forward
# pass. Its size does depend on g, as g^(L-1), for every layer at once.
#
# Random weights with n Var(W) = g^2 multiply the mean square of a signal by g^2 per layer on
# average (the variance rule above); for them the same scales are what to expect, not exact.


def rms(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Root mean square of values from their mean and (population) standard deviation.

    Exact algebra: mean(a^2) = mean(a)^2 + std(a)^2. Turns a snapshot's a_mean and a_std into the
    typical size of a layer's activations, whatever their sign.
    """
    mean, std = np.asarray(mean, dtype=np.float64), np.asarray(std, dtype=np.float64)
    if mean.shape != std.shape:
        raise ValueError(f"mean has shape {mean.shape} but std has shape {std.shape}; they must match")
    with np.errstate(over="ignore"):
        return np.sqrt(mean * mean + std * std)


def layer_gain(fan_in: int, weight_var: float) -> float:
    """sqrt(n Var(W)): the factor by which a layer of random weights multiplies the rms of its input,
    on average (linear activation, zero bias). Xavier and LeCun on square layers give 1."""
    fan_in = checks.count("fan_in", fan_in, 1, 10**9)
    weight_var = _check_real("weight_var", weight_var)
    return float(np.sqrt(fan_in * weight_var))


@dataclass
class ChainScales:
    """How big each layer's signals are, relative to one another, when every layer multiplies by `gain`.

    activations[l-1]: a^[l] for l = 1..L-1, grows as gain^l.
    backprop[l-1]: dA^[l] for l = 1..L-1, grows as gain^(L-l) (toward the input when gain > 1).
    weight_grads[l-1]: dW^[l] for l = 1..L, gain^(L-1): the same for every layer.
    """

    activations: np.ndarray
    backprop: np.ndarray
    weight_grads: np.ndarray


def chain_scales(gain: float, L: int) -> ChainScales:
    """Scales of a^[l], dA^[l] and dW^[l] in an L-layer linear network whose every layer multiplies by `gain`.

    Exact, up to one factor per quantity, for W^[l] = gain * I with zero biases (see the note above).
    """
    if isinstance(L, (bool, np.bool_)) or not (isinstance(L, (int, np.integer)) and 2 <= L <= MAX_LAYERS):
        raise ValueError(f"L={L!r} must be an integer from 2 to {MAX_LAYERS:,}: the chain needs a hidden layer")
    gain = _check_real("gain", gain, positive=True)
    l = np.arange(1, L, dtype=np.float64)
    with np.errstate(over="ignore", under="ignore"):  # gain^L beyond the float range is inf (or 0): a fair answer
        return ChainScales(
            activations=gain**l,
            backprop=gain ** (L - l),
            weight_grads=np.full(L, gain) ** (L - 1),
        )


def matched(prediction: np.ndarray, measured: np.ndarray, at: int) -> np.ndarray:
    """The prediction scaled to equal the measurement at index `at`: the shape of the prediction, set to
    the measured height at one layer. All NaN if that measurement is not a positive finite number."""
    prediction, measured = np.asarray(prediction, dtype=np.float64), np.asarray(measured, dtype=np.float64)
    if prediction.ndim != 1 or prediction.shape != measured.shape:
        raise ValueError(
            f"prediction has shape {prediction.shape}, measured {measured.shape}: expected the same 1-D shape"
        )
    layers = len(measured)
    if isinstance(at, (bool, np.bool_)) or not isinstance(at, (int, np.integer)) or not -layers <= at < layers:
        raise ValueError(f"at={at!r} must be an index into the {len(measured)} layers")
    reference = measured[at]
    if not (np.isfinite(reference) and reference > 0 and np.isfinite(prediction[at]) and prediction[at] > 0):
        return np.full(prediction.shape, np.nan)
    return prediction * (reference / prediction[at])
