"""Variance propagation through a residual network at initialization: the stream and its gradient, block by block.

The network (explorer.residual) carries a residual stream x_l of width n through L blocks,

    x_{l+1} = s x_l + alpha_l F(N(x_l)),      s = 1 with the skip connection, 0 for a plain network,

where N is nothing, LayerNorm (over the n units of one example) or BatchNorm (over the m examples of one unit),
and the branch F is pre-activation: m_F = 1 or 2 times "ReLU, then a linear layer" (He et al. 2016, "Identity
mappings in deep residual networks"):

    one layer:  F(h) = W1 relu(h) + b1
    two layers: F(h) = W2 relu(W1 relu(h) + b1) + b2

Forward. For a zero-mean, symmetric input h of second moment q_h, E[relu(h)^2] = q_h / 2, so a linear layer with
weights of variance Var(W) over a fan-in of n gives an output of second moment n Var(W) q_h / 2; a second
"ReLU, linear" does the same to that. The branch's *variance gain* is therefore

    c = prod_i n Var(W_i) / 2          (c = 1 for He, Var(W) = 2/n, in every layer; c = 0 if a layer is zero),

and since F(h) has mean zero over the weights and is uncorrelated with x_l, variances add:

    q_{l+1} = s q_l + alpha_l^2 c q_l      without normalization: x grows by (1 + alpha^2 c) per block,
                                           2x per block for He (2^L after L blocks)
    q_{l+1} = s q_l + alpha_l^2 c          with normalization (N(x) has second moment 1): linear growth, q_0 + L c

Backward. The gradient g_l = dCost/dx_l obeys g_l = s g_{l+1} + alpha_l J_N^T J_F^T g_{l+1}. J_F^T passes through
W_i^T (a factor n Var(W_i) on the variance, n being the fan-out of W^T) and a ReLU mask (a factor 1/2) per layer:
the same gain c. The normalization's Jacobian is (1/sigma) times a projection that removes two directions
(the mean and x-hat) out of N (N = n units for LayerNorm, m examples for BatchNorm), so

    G_l = G_{l+1} (s + alpha_l^2 c)                           without normalization
    G_l = G_{l+1} (s + alpha_l^2 c (1 - 2/N) / q_l)           with normalization

with the usual assumption that the weights used going backward are independent of those used going forward
(exact for infinite width). For He with normalization, 1 + c/q_l = q_{l+1}/q_l: G_l = G_L q_L / q_l.

These are the infinite-width values; at width n each block's factor fluctuates by O(1/sqrt(n)) from draw to
draw, and the tests hold measurements over many draws against them with that tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer import checks

NORMS = ("none", "layer", "batch")


@dataclass
class ResidualPrediction:
    """Per-block predictions: stream[l] = E[x_l^2] (l = 0..L, stream[0] = q_0) and grad[l] = E[g_l^2] relative to
    grad[L] = 1 (the gradient reaching the last block)."""

    stream: np.ndarray
    grad: np.ndarray


def branch_gain(weight_variances: Sequence[float], width: int) -> float:
    """c = prod_i n Var(W_i) / 2 for a pre-activation branch of square layers of width n (ReLU before each)."""
    checks.count("width", width, 1)
    values = np.asarray(weight_variances, dtype=np.float64)
    if values.ndim != 1 or values.size not in (1, 2) or not np.all(np.isfinite(values) & (values >= 0)):
        raise ValueError(f"weight_variances={weight_variances!r} must be one or two finite numbers >= 0")
    return float(np.prod(width * values / 2))


def predict_residual(depth: int, gain: float | Sequence[float], alpha: float | Sequence[float], skip: bool = True,
                     norm: str = "none", q0: float = 1.0, units: int | None = None) -> ResidualPrediction:
    """The stream's second moment E[x_l^2] and the gradient's E[g_l^2] (relative to the last block's) for every
    block l = 0..depth, from the branch gain c (one number, or one per block), the branch scalings alpha_l,
    the skip connection, the normalization ("none", "layer", "batch") and q_0 = E[x_0^2].

    units: N, the count a normalization averages over (n units for LayerNorm, m examples for BatchNorm); None
    leaves out its (1 - 2/N) factor, the infinite-width value.
    """
    L = checks.count("depth", depth, 1, 100_000)
    if norm not in NORMS:
        raise ValueError(f"norm={norm!r} is unknown; valid: {', '.join(NORMS)}")
    try:
        c = np.broadcast_to(np.asarray(gain, dtype=np.float64), (L,))
        a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (L,))
    except (TypeError, ValueError):
        raise ValueError(f"gain={gain!r} and alpha={alpha!r} must each be one number or one per block ({L})") from None
    if not (np.all(np.isfinite(c) & (c >= 0)) and np.all(np.isfinite(a))):
        raise ValueError(f"gain={gain!r} must be finite numbers >= 0 and alpha={alpha!r} finite numbers")
    if not (isinstance(q0, (int, float, np.floating, np.integer)) and math.isfinite(q0) and q0 > 0):
        raise ValueError(f"q0={q0!r} must be a finite number > 0")
    if units is not None:
        checks.count("units", units, 3)
    s = 1.0 if skip else 0.0
    projection = 1.0 if units is None else 1 - 2 / units
    q = np.empty(L + 1)
    q[0] = q0
    for l in range(L):
        q[l + 1] = s * q[l] + a[l] ** 2 * c[l] * (q[l] if norm == "none" else 1.0)
    G = np.empty(L + 1)
    G[L] = 1.0
    for l in range(L - 1, -1, -1):
        through = 1.0 if norm == "none" else projection / q[l]
        G[l] = G[l + 1] * (s + a[l] ** 2 * c[l] * through)
    return ResidualPrediction(q, G)
