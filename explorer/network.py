"""A fully connected network in plain numpy, with K models stacked side by side.

Notation (as in the teaching material): layer l has n^[l] units, its weight matrix W^[l] is
n^[l] x n^[l-1] and its bias b^[l] has n^[l] entries. A batch of m examples is stored one example
per row, so for every layer

    Z^[l] = A^[l-1] W^[l]^T + b^[l]        (m x n^[l])
    A^[l] = g^[l](Z^[l])

and A^[0] = X. The last layer's activation comes with its loss: sigmoid with binary cross-entropy,
softmax with cross-entropy, linear with mean squared error. Each loss is computed from the logits
Z^[L] (never from log of a rounded probability), so it stays finite.

Every array carries a leading model axis of length K: K independent networks of the same shape,
each with its own initialization and seed, run in one vectorised computation. K = 1 is the
ordinary case. All parameters of all models live in one flat buffer `params` of shape (K, P);
`W[l]` and `b[l]` are views into it, so an optimizer updates everything with one array operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from explorer import initializers

Initializer = Callable[[np.random.Generator, tuple], np.ndarray]

HIDDEN_ACTIVATIONS = ("linear", "relu", "leaky_relu", "tanh", "sigmoid")
OUTPUTS = {"sigmoid": "binary_cross_entropy", "softmax": "cross_entropy", "linear": "mean_squared_error"}
LEAKY_SLOPE = 0.01
MAX_PARAMETERS = 50_000_000  # per stack: 400 MB in float64; refuse larger rather than swap


# ---------------------------------------------------------------------------------------------
# Activations: g(z) and g'(z) written out once each.


def activate(name: str, z: np.ndarray) -> np.ndarray:
    """g(z) for a hidden activation `name`."""
    if name == "linear":
        return z
    if name == "relu":
        return np.maximum(z, 0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return sigmoid(z)
    raise ValueError(f"activation={name!r} is unknown; valid: {', '.join(HIDDEN_ACTIVATIONS)}")


def activation_derivative(name: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """g'(z), using a = g(z) where that is cheaper."""
    if name == "linear":
        return np.ones_like(z)
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)
    if name == "tanh":
        return 1 - a * a
    if name == "sigmoid":
        return a * (1 - a)
    raise ValueError(f"activation={name!r} is unknown; valid: {', '.join(HIDDEN_ACTIVATIONS)}")


def sigmoid(z: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-z)), without overflow for large |z|."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def softmax(z: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, shifted by the maximum so exp never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Losses: cost per model (mean over the batch) and dCost/dZ^[L], both from the logits.


def loss_and_grad(output: str, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each model (shape K) and its gradient with respect to the logits Z^[L].

    y has the shape of one model's output, (m, n^[L]); for softmax it is one-hot.
    """
    m = z.shape[-2]
    if output == "sigmoid":
        # -[y log s(z) + (1-y) log(1-s(z))] = max(z,0) - z y + log(1 + exp(-|z|))
        per_example = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
        cost = per_example.sum(axis=(-2, -1)) / m
        return cost, (sigmoid(z) - y) / m
    if output == "softmax":
        shifted = z - z.max(axis=-1, keepdims=True)
        log_sum_exp = np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        log_probs = shifted - log_sum_exp
        cost = -(y * log_probs).sum(axis=(-2, -1)) / m
        return cost, (np.exp(log_probs) - y) / m
    if output == "linear":
        diff = z - y
        n_out = z.shape[-1]
        cost = (diff * diff).sum(axis=(-2, -1)) / (m * n_out)
        return cost, 2 * diff / (m * n_out)
    raise ValueError(f"output={output!r} is unknown; valid: {', '.join(OUTPUTS)}")


def output_activation(output: str, z: np.ndarray) -> np.ndarray:
    """The network's prediction from its logits: probabilities or values."""
    if output == "sigmoid":
        return sigmoid(z)
    if output == "softmax":
        return softmax(z)
    return z


# ---------------------------------------------------------------------------------------------


@dataclass
class Forward:
    """What a forward pass keeps: Z[l] and A[l] for l = 1..L (index 0 of A is the input)."""

    Z: list[np.ndarray]  # Z[l-1] is Z^[l], shape (K, m, n^[l])
    A: list[np.ndarray]  # A[0] is X (m, n^[0]); A[l] is A^[l], shape (K, m, n^[l])

    @property
    def output(self) -> np.ndarray:
        return self.A[-1]


@dataclass
class Backward:
    """What a backward pass gives, for every layer l = 1..L.

    dW[l-1], db[l-1]: gradients of each model's cost with respect to W^[l], b^[l] (views into `flat`).
    dA[l-1]: gradient with respect to the activation A^[l] (for l = L, the probabilities).
    dZ[l-1]: gradient with respect to the pre-activation Z^[l].
    """

    cost: np.ndarray  # (K,)
    flat: np.ndarray  # (K, P), same layout as Network.params
    dW: list[np.ndarray]
    db: list[np.ndarray]
    dA: list[np.ndarray]
    dZ: list[np.ndarray]


class Network:
    """K fully connected networks of one shape, stored stacked.

    Args:
        sizes: units per layer, input first: [n^[0], n^[1], ..., n^[L]].
        hidden: activation of the hidden layers, one name for all or one per hidden layer
            (L - 1 names); each of linear, relu, leaky_relu, tanh, sigmoid.
        output: sigmoid (binary cross-entropy), softmax (cross-entropy) or linear (mean squared error).
        init: how weights start: an initializer `init(rng, (fan_out, fan_in))`, its name, or a list of
            them, one per model. A list of K entries makes K stacked models.
        seed: an int, or one per model. Model k draws its weights from `default_rng(seed[k])`, layer by
            layer, so a model is the same alone or in a stack.
        bias_init: how biases start (zeros unless asked otherwise).
        dtype: float64 (default) or float32.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        hidden: str | Sequence[str] = "relu",
        output: str = "sigmoid",
        init: Initializer | str | Sequence[Initializer | str] = "he_normal",
        seed: int | Sequence[int] = 0,
        bias_init: Initializer | str = "zeros",
        dtype: type | str = np.float64,
    ) -> None:
        self.sizes = _check_sizes(sizes)
        self.L = len(self.sizes) - 1
        self.hidden = _check_hidden(hidden, self.L)
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r} is unknown; valid: {', '.join(OUTPUTS)}")
        self.output = output
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype={dtype!r} is not allowed; valid: float32, float64")

        inits = _as_list(init, "init")
        seeds = _as_list(seed, "seed")
        K = max(len(inits), len(seeds))
        for name, values in (("init", inits), ("seed", seeds)):
            if len(values) not in (1, K):
                raise ValueError(f"{name} has {len(values)} entries but the stack has {K} models")
        self.inits = [_resolve_init(i, "init") for i in (inits * K if len(inits) == 1 else inits)]
        self.seeds = [_check_seed(s) for s in (seeds * K if len(seeds) == 1 else seeds)]
        self.bias_init = _resolve_init(bias_init, "bias_init")
        self.K = K

        # One flat buffer for all parameters; W[l], b[l] are views of shape (K, n_out, n_in), (K, n_out).
        self.shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=False)]
        self.P = sum(n_out * n_in + n_out for (n_out, n_in), _ in self.shapes)
        if self.K * self.P > MAX_PARAMETERS:
            raise ValueError(
                f"sizes={list(self.sizes)} with {self.K} models needs {self.K * self.P:,} parameters "
                f"({self.K * self.P * self.dtype.itemsize / 1e6:,.0f} MB); at most {MAX_PARAMETERS:,} allowed"
            )
        self.params = np.zeros((self.K, self.P), dtype=self.dtype)
        self.W, self.b = self.views(self.params)
        self.reinitialize()

    # -- parameters ---------------------------------------------------------------------------

    def views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Cut a (K, P) buffer into per-layer weight and bias views."""
        Ws, bs, offset = [], [], 0
        for (n_out, n_in), _ in self.shapes:
            Ws.append(flat[:, offset : offset + n_out * n_in].reshape(self.K, n_out, n_in))
            offset += n_out * n_in
            bs.append(flat[:, offset : offset + n_out])
            offset += n_out
        return Ws, bs

    def reinitialize(self) -> None:
        """Draw every model's weights and biases afresh from its initializer and seed."""
        for k in range(self.K):
            rng = np.random.default_rng(self.seeds[k])
            for l, (w_shape, b_shape) in enumerate(self.shapes):
                self.W[l][k] = _draw(self.inits[k], rng, w_shape, "init")
                self.b[l][k] = _draw(self.bias_init, rng, b_shape, "bias_init")

    # -- forward and backward -----------------------------------------------------------------

    def forward(self, X: np.ndarray) -> Forward:
        """Run every model on the batch X (m x n^[0]); keeps Z^[l] and A^[l] for every layer."""
        X = self.check_inputs(X)
        Z, A = [], [X]
        for l in range(1, self.L + 1):
            z = A[-1] @ self.W[l - 1].transpose(0, 2, 1) + self.b[l - 1][:, None, :]
            a = activate(self.hidden[l - 1], z) if l < self.L else output_activation(self.output, z)
            Z.append(z)
            A.append(a)
        return Forward(Z, A)

    def backward(self, fwd: Forward, Y: np.ndarray) -> Backward:
        """Gradients of each model's cost by back-propagation through the kept forward pass."""
        Y = self.check_targets(Y, fwd.A[0].shape[0])
        cost, dz = loss_and_grad(self.output, fwd.Z[-1], Y)
        flat = np.empty_like(self.params)
        dW, db = self.views(flat)
        dA: list[np.ndarray] = [None] * self.L  # type: ignore[list-item]
        dZ: list[np.ndarray] = [None] * self.L  # type: ignore[list-item]
        # dA^[L]: gradient with respect to the output probabilities, kept for the histograms.
        dA[-1] = _output_activation_grad(self.output, fwd.A[-1], dz, Y)
        for l in range(self.L, 0, -1):
            if l < self.L:
                g = self.hidden[l - 1]
                dz = dA[l - 1] * activation_derivative(g, fwd.Z[l - 1], fwd.A[l])
            dZ[l - 1] = dz
            a_prev = fwd.A[l - 1]
            # dW^[l] = dZ^[l]^T A^[l-1], summed over the batch (the 1/m is already in dZ).
            np.matmul(dz.transpose(0, 2, 1), a_prev, out=dW[l - 1])
            db[l - 1][...] = dz.sum(axis=1)
            if l > 1:
                dA[l - 2] = dz @ self.W[l - 1]
        return Backward(cost, flat, dW, db, dA, dZ)

    def cost(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Cost of each model on (X, Y), shape (K,)."""
        fwd = self.forward(X)
        Y = self.check_targets(Y, fwd.A[0].shape[0])
        return loss_and_grad(self.output, fwd.Z[-1], Y)[0]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Each model's output for X: probabilities (sigmoid, softmax) or values (linear)."""
        return self.forward(X).output

    def accuracy(self, output: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Fraction classified right per model; NaN for a regression (linear) output."""
        if self.output == "linear":
            return np.full(output.shape[0], np.nan)
        if self.output == "sigmoid":
            right = (output > 0.5) == (Y > 0.5)
            return right.mean(axis=(-2, -1))
        return (output.argmax(axis=-1) == Y.argmax(axis=-1)).mean(axis=-1)

    # -- argument checks ----------------------------------------------------------------------

    def check_inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X has shape {X.shape}; expected (m, {self.sizes[0]}): one example per row")
        if X.shape[0] == 0:
            raise ValueError("X has no rows; expected at least one example")
        return X.astype(self.dtype, copy=False)

    def check_targets(self, Y: np.ndarray, m: int) -> np.ndarray:
        """Targets as (m, n^[L]): binary labels become a column, class labels one-hot."""
        Y = np.asarray(Y)
        n_out = self.sizes[-1]
        if self.output == "softmax" and Y.ndim == 1:
            if not np.issubdtype(Y.dtype, np.integer) or Y.min() < 0 or Y.max() >= n_out:
                raise ValueError(f"Y holds labels outside 0..{n_out - 1}; expected integer class labels")
            Y = np.eye(n_out, dtype=self.dtype)[Y]
        elif Y.ndim == 1:
            Y = Y[:, None]
        if Y.shape != (m, n_out):
            raise ValueError(f"Y has shape {Y.shape}; expected ({m}, {n_out}) to match X and the output layer")
        return Y.astype(self.dtype, copy=False)

    def __repr__(self) -> str:
        return (
            f"Network(sizes={list(self.sizes)}, hidden={self.hidden}, output={self.output!r}, "
            f"models={self.K}, dtype={self.dtype.name})"
        )


def _output_activation_grad(output: str, a: np.ndarray, dz: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """dCost/dA^[L], the gradient with respect to the network's output.

    For a linear output it equals dZ^[L]. For sigmoid and softmax it is the cross-entropy gradient
    with respect to the probabilities, -(y/a - (1-y)/(1-a))/m and -(y/a)/m, with the probabilities kept
    within [1e-12, 1 - 1e-12] so that a saturated output gives a large number, not infinity.
    """
    if output == "linear":
        return dz
    m = a.shape[-2]
    p = np.clip(a, 1e-12, 1 - 1e-12)
    if output == "sigmoid":
        return (p - Y) / (p * (1 - p)) / m
    return -Y / p / m


# ---------------------------------------------------------------------------------------------


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes={sizes!r} must be a list of layer widths, e.g. [2, 6, 3, 1]") from None
    if len(sizes) < 2:
        raise ValueError(f"sizes={sizes!r} needs at least an input and an output width")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"sizes={sizes!r}: every width must be a positive integer, not {n!r}")
    return [int(n) for n in sizes]


def _check_hidden(hidden: str | Sequence[str], L: int) -> list[str]:
    names = [hidden] * (L - 1) if isinstance(hidden, str) else list(hidden)
    if len(names) != L - 1:
        raise ValueError(f"hidden={hidden!r} gives {len(names)} activations; this network has {L - 1} hidden layers")
    for name in names:
        if name not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"hidden activation {name!r} is unknown; valid: {', '.join(HIDDEN_ACTIVATIONS)}")
    return names


def _as_list(value, name: str) -> list:
    if isinstance(value, (str, int, np.integer)) or callable(value):
        return [value]
    try:
        values = list(value)
    except TypeError:
        raise TypeError(f"{name}={value!r} must be one value or a list of them, one per model") from None
    if not values:
        raise ValueError(f"{name} is an empty list; give at least one")
    return values


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer")
    return int(seed)


def _resolve_init(init, name: str) -> Initializer:
    if isinstance(init, str):
        return initializers.get(init)
    if not callable(init):
        raise TypeError(f"{name}={init!r} must be an initializer (callable) or its name")
    return init


def _draw(init: Initializer, rng: np.random.Generator, shape: tuple, name: str) -> np.ndarray:
    values = np.asarray(init(rng, shape))
    if values.shape != shape:
        raise ValueError(f"{name}={init!r} returned shape {values.shape}; expected {shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name}={init!r} returned non-finite values for shape {shape}")
    return values
