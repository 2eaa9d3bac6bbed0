"""A fully connected network in plain numpy, with K models stacked side by side.

Notation (as in the teaching material): layer l has n^[l] units, its weight matrix W^[l] is
n^[l] x n^[l-1] and its bias b^[l] has n^[l] entries. The caller gives a batch of m examples one per
row, X (m x n^[0]), and reads every layer the same way, (m x n^[l]). Inside, as in the course's own
notation, examples are columns, A^[l] is n^[l] x m, and for every layer

    Z^[l] = W^[l] A^[l-1] + b^[l]        (n^[l] x m)
    A^[l] = g^[l](Z^[l])

with A^[0] = X^T. The last layer's activation comes with its loss: sigmoid with binary cross-entropy,
softmax with cross-entropy, linear with mean squared error. Each loss is computed from the logits
Z^[L] (never from log of a rounded probability), so it stays finite.

Every array the caller sees carries a leading model axis of length K: K independent networks of the
same shape, each with its own initialization and seed, run in one computation. K = 1 is the ordinary
case. All parameters live in one flat buffer `params`; `W[l]` and `b[l]` are views into it, so an
optimizer updates everything with one array operation.

Where the speed comes from (the demos' networks are tiny, so the cost is the number of numpy calls
and how each one walks memory, not arithmetic):
- the bias is folded into the weights: layer l keeps one matrix [W^[l], b^[l]] and its input carries a
  row of ones, so one matrix product gives Z (and one gives dW with db);
- examples are columns: a layer's values are the leading rows of its buffer, one contiguous block,
  which every element-wise operation and matrix product reads and writes straight through (with
  examples as rows, the column of ones would make every block a strided view: measured 1.4x slower
  for the three-layer network);
- every intermediate array lives in a `Workspace` allocated once and written with `out=`;
- K small models are *packed*: layer l of all models is one block-diagonal matrix, so the K models
  cost one matrix product per layer, not K (numpy's stacked matmul makes one BLAS call per model).
  Wide models are *stacked* instead, (K, n_out, n_in + 1), where the zeros between the blocks would
  cost more arithmetic than the calls they save.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from explorer import activations, checks, initializers
from explorer.activations import sigmoid

Initializer = Callable[[np.random.Generator, tuple], np.ndarray]

HIDDEN_ACTIVATIONS = activations.NAMES  # linear, relu, leaky_relu, tanh, sigmoid
OUTPUTS = {"sigmoid": "binary_cross_entropy", "softmax": "cross_entropy", "linear": "mean_squared_error"}
LAYOUTS = ("auto", "packed", "stacked")
MAX_PARAMETERS = 50_000_000  # per stack: 400 MB in float64; refuse larger rather than swap
MAX_LAYERS = 1_000
PACK_WIDTH = 64  # "auto" packs K models when K times the widest layer is at most this

# np.dot without its __array_function__ dispatch (NEP 18 names the undispatched function `_implementation`):
# the dispatch costs about 0.7 us of each of the demos' 3-5 us products, and the engine passes plain arrays.
dot = getattr(np.dot, "_implementation", np.dot)


# ---------------------------------------------------------------------------------------------
# Activations: g(z) and g'(z) are written once each, in explorer.activations; `out` receives the result when given.


def activate(name: str, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """g(z) for a hidden activation `name`."""
    return activations.get(name).g(z, out)


def activation_derivative(name: str, z: np.ndarray, a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """g'(z), using a = g(z) where that is cheaper."""
    g_prime = activations.get(name).g_prime
    return g_prime(z, a, np.empty_like(z) if out is None else out)


def softmax(z: np.ndarray, out: np.ndarray | None = None, axis: int = -1) -> np.ndarray:
    """Softmax over `axis` (the outputs), shifted by the maximum so exp never overflows."""
    out = np.subtract(z, z.max(axis=axis, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=axis, keepdims=True)
    return out


def output_activation(output: str, z: np.ndarray, out: np.ndarray | None = None, axis: int = -1) -> np.ndarray:
    """The network's prediction from its logits: probabilities or values. `axis`: the outputs' axis."""
    if output == "sigmoid":
        return sigmoid(z, out=out)  # 1 / (1 + exp(-z)): exactly 0 or 1 for large |z|, never NaN
    if output == "softmax":
        return softmax(z, out=out, axis=axis)
    if output != "linear":
        raise ValueError(f"output={output!r} is unknown; valid: {', '.join(OUTPUTS)}")
    if out is None:
        return z
    np.copyto(out, z)
    return out


# ---------------------------------------------------------------------------------------------
# Losses: cost per model (mean over the batch) and dCost/dZ^[L], both from the logits.


def loss_and_grad(output: str, z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cost of each model (shape K) and its gradient with respect to the logits Z^[L], (K, m, n^[L]).

    y has the shape of one model's output, (m, n^[L]); for softmax it is one-hot.
    """
    out = output_activation(output, z, out=np.empty_like(z))
    m, n_out = z.shape[-2:]
    return loss(output, z, y), logit_gradient(out, y, logit_scale(output, m, n_out))


def loss(output: str, z: np.ndarray, y: np.ndarray, scratch: np.ndarray | None = None, axis: int = -1) -> np.ndarray:
    """Cost of each model from its logits z (K, m, n^[L]), averaged over the m examples.

    sigmoid: -[y log s(z) + (1-y) log(1-s(z))] = log(1 + e^z) - y z, summed over outputs
    softmax: -sum_j y_j log softmax(z)_j = sum_j y_j (logsumexp(z) - z_j)
    linear:  mean of (z - y)^2 over the outputs
    `scratch`, a buffer of z's shape, avoids allocating one. `axis` -2 takes z as (K, n^[L], m) and y as
    (n^[L], m): one example per column.
    """
    scratch = np.empty_like(z) if scratch is None else scratch
    n_out = z.shape[axis]
    m = z.shape[-1 if axis == -2 else -2]
    if output == "sigmoid":
        np.logaddexp(0, z, out=scratch)
        scratch -= z * y
        return scratch.sum(axis=(-2, -1)) / m
    if output == "softmax":
        shift = z.max(axis=axis, keepdims=True)
        np.subtract(z, shift, out=scratch)
        np.exp(scratch, out=scratch)
        log_sum_exp = np.log(scratch.sum(axis=axis, keepdims=True)) + shift
        np.subtract(log_sum_exp, z, out=scratch)
        np.multiply(scratch, y, out=scratch)
        return scratch.sum(axis=(-2, -1)) / m
    if output == "linear":
        np.subtract(z, y, out=scratch)
        np.multiply(scratch, scratch, out=scratch)
        return scratch.sum(axis=(-2, -1)) / (m * n_out)
    raise ValueError(f"output={output!r} is unknown; valid: {', '.join(OUTPUTS)}")


def logit_scale(output: str, m: int, n_out: int) -> float:
    """The factor in dCost/dZ^[L] = factor (out - y) over m examples and n^[L] outputs: 1/m for sigmoid and
    softmax with cross-entropy, 2 / (m n^[L]) for a linear output with mean squared error."""
    return 2 / (m * n_out) if output == "linear" else 1 / m


def logit_gradient(a: np.ndarray, y: np.ndarray, scale: float, out: np.ndarray | None = None) -> np.ndarray:
    """dCost/dZ^[L] = scale (a - y), from the output a = g(Z^[L]) and the factor `logit_scale` gives."""
    out = np.subtract(a, y, out=out)
    np.multiply(out, scale, out=out)
    return out


def fraction_right(output: str, probabilities: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Fraction of examples classified right per model (float64, (K,)), for a sigmoid or softmax output.
    probabilities: (K, m, n^[L]) and y (m, n^[L]); or with `axis` -2, (K, n^[L], m) and (n^[L], m)."""
    if output == "sigmoid":
        right = np.equal(probabilities > 0.5, y > 0.5).reshape(len(probabilities), -1)
    else:
        right = np.equal(probabilities.argmax(axis=axis), y.argmax(axis=axis))
    return np.add.reduce(right, axis=1, dtype=np.float64) / right.shape[1]


def cost_bound(output: str, z_abs_max: float, y_abs_max: float, n_out: int) -> float:
    """An upper bound on every model's cost from the largest |logit| (or any number at least as large: a
    trainer passes the logits' Euclidean length), so that most steps need no log or exp:
    sigmoid: log(1 + e^z) - y z <= |z| + log 2 per output (y in [0, 1]);
    softmax: logsumexp(z) - z_y <= max z - min z + log n <= 2 max|z| + log n;
    linear:  (z - y)^2 <= (max|z| + max|y|)^2."""
    if output == "sigmoid":
        return n_out * (z_abs_max + math.log(2))
    if output == "softmax":
        return 2 * z_abs_max + math.log(n_out)
    return (z_abs_max + y_abs_max) ** 2


# ---------------------------------------------------------------------------------------------


@dataclass
class Forward:
    """What a forward pass keeps: Z[l-1] is Z^[l] and A[l] is A^[l], each (K, m, n^[l]); A[0] is X (m, n^[0]).

    The arrays are views into `workspace`, whose buffers the next pass through the same workspace reuses.
    """

    Z: list[np.ndarray]
    A: list[np.ndarray]
    workspace: Workspace

    @property
    def output(self) -> np.ndarray:
        return self.A[-1]


@dataclass
class Backward:
    """What a backward pass gives, for every layer l = 1..L.

    flat: the gradient of each model's cost with respect to every parameter, laid out like Network.params.
    dW[l-1], db[l-1]: the same gradient cut into W^[l] and b^[l] views, (K, n^[l], n^[l-1]) and (K, n^[l]).
    dA[l-1]: gradient with respect to the activation A^[l] (for l = L, the probabilities; None if not asked).
    dZ[l-1]: gradient with respect to the pre-activation Z^[l].
    """

    cost: np.ndarray | None  # (K,); None when the caller did not ask for it
    flat: np.ndarray
    dW: list[np.ndarray]
    db: list[np.ndarray]
    dA: list[np.ndarray | None]
    dZ: list[np.ndarray]


class Workspace:
    """Every array one forward and backward pass over m examples needs, allocated once.

    Inside, examples are columns: layer l's buffers are (K n^[l], m) when packed, (K, n^[l], m) when
    stacked. The bias is folded into the weights: each layer multiplies [W^[l], b^[l]] by [A^[l-1]; 1],
    so each activation buffer carries a last row of ones and one matrix product gives Z, another dW and
    db. The input is the exception: [X, 1] stays one example per row, as the data arrive, and the first
    layer reads it transposed (a matrix product takes a transposed operand at no cost).

    Forward and Backward hold views of these buffers in the caller's shape, (K, m, n^[l]); `blocks`
    holds the same buffers as (K, n^[l], m), one contiguous block per model when packed.
    """

    def __init__(self, net: Network, m: int, inputs: np.ndarray | None = None) -> None:
        K, dtype, sizes = net.K, net.dtype, net.sizes
        self.m = m
        # [X, 1]: the caller's own array of that form, or a buffer that `load` fills.
        self.inputs = np.ones((m, sizes[0] + 1), dtype=dtype) if inputs is None else inputs
        self.targets = np.empty((sizes[-1], m), dtype=dtype)  # Y^T, for a caller that loads batches
        # What layer l multiplies by its [W, b]: [A^[l-1]; 1], (K n^[l-1] + 1, m) or (K, n^[l-1] + 1, m).
        self.reads = [self.inputs.T]
        # The gradients and the logits Z^[L] share one buffer, so that one dot product gives |g|^2 + |Z^[L]|^2,
        # for a trainer's quick check of every step (Trainer.forward_backward).
        P = net.params.size
        self.grads_and_logits = np.empty(P + K * sizes[-1] * m, dtype)
        self.grads = self.grads_and_logits[:P]
        self.Z, self.A, self.dZ, self.dA, self.mask = [], [], [], [], []
        for l in range(1, net.L + 1):
            shape = (K * sizes[l], m) if net.packed else (K, sizes[l], m)
            if l < net.L:
                read_shape = (K * sizes[l] + 1, m) if net.packed else (K, sizes[l] + 1, m)
                self.reads.append(np.ones(read_shape, dtype))
                self.A.append(self.reads[-1][..., :-1, :])  # A^[l]: the rows above the ones
            else:
                self.A.append(np.empty(shape, dtype))  # the output
            # A linear layer has A = Z and dZ = dA: one buffer each, nothing to compute.
            linear = l < net.L and net.hidden[l - 1] == "linear"
            if l == net.L:
                self.Z.append(self.grads_and_logits[P:].reshape(shape))
            else:
                self.Z.append(self.A[-1] if linear else np.empty(shape, dtype))
            self.dA.append(np.empty(shape, dtype))
            self.dZ.append(self.dA[-1] if linear else np.empty(shape, dtype))
            self.mask.append(np.empty(shape, dtype))  # g'(Z^[l]), per hidden layer
        self.output = self.A[-1]
        self.loss = np.empty_like(self.Z[-1])
        self.grad_blocks = net.blocks(self.grads)
        self.nonfinite = np.zeros(K, dtype=bool)  # filled by a guarded pass
        # Every view a pass needs, made once: making views costs numpy calls too.
        self.reads_T = [self.inputs] + [r.swapaxes(-1, -2) for r in self.reads[1:]]  # for dW = dZ [A; 1]^T
        block = net.per_model_block
        self.blocks = {
            "Z": [block(z) for z in self.Z], "A": [block(a) for a in self.A],
            "dZ": [block(d) for d in self.dZ], "dA": [block(d) for d in self.dA],
            "loss": block(self.loss),
        }
        # The output layer as one (n^[L], m) block per model, for the output function and dCost/dZ^[L]: for one
        # model the 2-D buffers themselves (a ufunc is quicker on them: 0.7 against 1.5 us for the three-layer
        # network's A - Y), for more the (K, n^[L], m) blocks.
        rows = K == 1 and net.packed
        self.output_Z, self.output_A, self.output_dZ = (
            (self.Z[-1], self.A[-1], self.dZ[-1]) if rows else (self.blocks[key][-1] for key in ("Z", "A", "dZ"))
        )
        self.logit_scale = np.asarray(logit_scale(net.output, m, sizes[-1]), dtype)  # 0-d: see activations.ZEROS
        view = net.per_model
        self.fwd = Forward([view(z) for z in self.Z], [self.inputs[:, :-1]] + [view(a) for a in self.A], self)
        dW, db = net.views(self.grads)
        self.bwd = Backward(np.zeros(K), self.grads, dW, db, [view(d) for d in self.dA], [view(d) for d in self.dZ])

    def load(self, X: np.ndarray) -> None:
        """Copy a checked batch X (m, n^[0]) in front of the column of ones."""
        self.inputs[:, :-1] = X


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
        layout: "packed", "stacked" or "auto" (see the module docstring): how K models share the work.
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
        layout: str = "auto",
    ) -> None:
        self.sizes = _check_sizes(sizes)
        self.L = len(self.sizes) - 1
        self.hidden = _check_hidden(hidden, self.L)
        # Each hidden layer's g and g' (explorer.activations), looked up once here rather than at every pass.
        self.g = [activations.ACTIVATIONS[name].g for name in self.hidden]
        self.g_prime = [activations.ACTIVATIONS[name].g_prime for name in self.hidden]
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r} is unknown; valid: {', '.join(OUTPUTS)}")
        self.output = output
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise ValueError(f"dtype={dtype!r} is not allowed; valid: float32, float64") from None
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype={dtype!r} is not allowed; valid: float32, float64")

        inits = _as_list(init, "init")
        seeds = _as_list(seed, "seed")
        K = max(len(inits), len(seeds))
        for name, values in (("init", inits), ("seed", seeds)):
            if len(values) not in (1, K):
                raise ValueError(f"{name} has {len(values)} entries but the stack has {K} models")
        self.inits = [_resolve_init(i, "init") for i in (inits * K if len(inits) == 1 else inits)]
        self.seeds = [checks.seed(s) for s in (seeds * K if len(seeds) == 1 else seeds)]
        self.bias_init = _resolve_init(bias_init, "bias_init")
        self.K = K
        if layout not in LAYOUTS:
            raise ValueError(f"layout={layout!r} is unknown; valid: {', '.join(LAYOUTS)}")
        if layout == "auto":
            layout = "packed" if K == 1 or K * max(self.sizes[1:]) <= PACK_WIDTH else "stacked"
        self.layout = layout
        self.packed = layout == "packed"

        # One model's parameters: W^[l] is (n_out, n_in) and b^[l] is (n_out,) for each layer.
        self.shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:], strict=True)]
        self.P = sum(n_out * (n_in + 1) for (n_out, n_in), _ in self.shapes)
        self.block_shapes = [self._block_shape(l) for l in range(1, self.L + 1)]
        size = sum(math.prod(shape) for shape in self.block_shapes)
        if size > MAX_PARAMETERS:
            raise ValueError(
                f"sizes={_short(self.sizes)} with {self.K} model{'s' if self.K > 1 else ''} needs {size:,} "
                f"parameters ({size * self.dtype.itemsize / 1e6:,.0f} MB); at most {MAX_PARAMETERS:,} allowed: "
                "use narrower or fewer layers"
            )
        self.params = np.zeros(size, dtype=self.dtype)
        self.weights = self.blocks(self.params)  # per layer [W, b]
        self.weights_W_T = [w[..., :-1].swapaxes(-1, -2) for w in self.weights]  # W^T, for dA = W^T dZ
        # One matrix product per layer: np.dot for the 2-D packed layout (it calls BLAS with less
        # overhead than np.matmul), np.matmul for the stacked (K, ...) one.
        self.product = dot if self.packed else np.matmul
        self.W, self.b = self.views(self.params)
        # Which model each entry of `params` belongs to (-1: a zero between the blocks of a packed layer).
        self.owner = np.full(size, -1)
        owner_W, owner_b = self.views(self.owner)
        for k in range(K):
            for l in range(self.L):
                owner_W[l][k] = k
                owner_b[l][k] = k
        self.between = self.blocks(self.owner < 0)  # per layer: True between the diagonal blocks
        self.reinitialize()

    # -- parameters ---------------------------------------------------------------------------

    def _block_shape(self, l: int) -> tuple[int, ...]:
        """Shape of layer l's matrix [W, b]: stacked (K, n_out, n_in + 1); packed (K n_out, K n_in + 1),
        block-diagonal, except that the first layer reads the same input for every model: (K n_out, n_in + 1)."""
        n_in, n_out = self.sizes[l - 1], self.sizes[l]
        if not self.packed:
            return (self.K, n_out, n_in + 1)
        return (self.K * n_out, (n_in if l == 1 else self.K * n_in) + 1)

    def blocks(self, flat: np.ndarray) -> list[np.ndarray]:
        """Cut a buffer laid out like `params` into the layers' [W, b] matrices (views)."""
        blocks, offset = [], 0
        for shape in self.block_shapes:
            size = math.prod(shape)
            blocks.append(flat[offset : offset + size].reshape(shape))
            offset += size
        return blocks

    def views(self, flat: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Cut a buffer laid out like `params` into W^[l] (K, n_out, n_in) and b^[l] (K, n_out) views."""
        Ws, bs = [], []
        for l, block in enumerate(self.blocks(flat), start=1):
            n_in, n_out, K = self.sizes[l - 1], self.sizes[l], self.K
            if not self.packed:
                Ws.append(block[..., :n_in])
                bs.append(block[..., n_in])
                continue
            bs.append(block[:, -1].reshape(K, n_out))
            if l == 1:  # every model reads all n_in inputs
                Ws.append(block[:, :n_in].reshape(K, n_out, n_in))
            else:  # model k's block sits at rows k n_out.., columns k n_in..
                row, item = block.strides[0], block.strides[1]
                strides = (n_out * row + n_in * item, row, item)
                Ws.append(np.lib.stride_tricks.as_strided(block, (K, n_out, n_in), strides))
        return Ws, bs

    def rows(self, flat: np.ndarray | None = None) -> np.ndarray:
        """Each model's parameters as one row (K, P), layer by layer W then b: a copy."""
        Ws, bs = self.views(self.params if flat is None else flat)
        return np.concatenate([part.reshape(self.K, -1) for pair in zip(Ws, bs, strict=True) for part in pair], axis=1)

    def reinitialize(self) -> None:
        """Draw every model's weights and biases afresh from its initializer and seed."""
        for k in range(self.K):
            rng = np.random.default_rng(self.seeds[k])
            for l in range(self.L):
                n_in, n_out = self.sizes[l], self.sizes[l + 1]
                self.W[l][k] = _draw(self.inits[k], rng, (n_out, n_in), "init")
                self.b[l][k] = _draw(self.bias_init, rng, (n_out,), "bias_init")

    def per_model_block(self, raw: np.ndarray) -> np.ndarray:
        """A layer's buffer, packed (K n, m) or stacked (K, n, m), seen as (K, n, m): a view."""
        if not self.packed:
            return raw
        width, m = raw.shape
        return raw.reshape(self.K, width // self.K, m)

    def per_model(self, raw: np.ndarray) -> np.ndarray:
        """A layer's buffer seen as the caller sees it, (K, m, n): a view."""
        return self.per_model_block(raw).swapaxes(-1, -2)

    # -- forward and backward -----------------------------------------------------------------

    def workspace(self, m: int, inputs: np.ndarray | None = None) -> Workspace:
        """Buffers for passes over batches of m examples (reuse one to avoid allocating every step).
        `inputs`, an (m, n^[0] + 1) array [X, 1], serves as the input buffer without a copy."""
        if inputs is not None and (inputs.shape != (m, self.sizes[0] + 1) or inputs.dtype != self.dtype):
            raise ValueError(f"inputs must be an ({m}, {self.sizes[0] + 1}) {self.dtype.name} array [X, 1]")
        return Workspace(self, m, inputs)

    def forward(self, X: np.ndarray, workspace: Workspace | None = None) -> Forward:
        """Run every model on the batch X (m x n^[0]); keeps Z^[l] and A^[l] for every layer."""
        X = self.check_inputs(X)
        ws = workspace if workspace is not None else self.workspace(len(X))
        ws.load(X)
        return self.forward_pass(ws)

    def forward_pass(self, ws: Workspace, guard: bool = False) -> Forward:
        """The forward pass over the batch already in `ws.inputs`.

        With `guard`, values that are not finite are recorded per model in `ws.nonfinite` and replaced by
        the largest finite number before the next layer reads them: in a packed layer the zeros between
        the blocks would otherwise turn one model's infinity into NaN for every model (0 * inf = NaN).
        """
        if guard:
            ws.nonfinite[:] = False
        product, last = self.product, self.L
        for l, (weights, read, z, a) in enumerate(zip(self.weights, ws.reads, ws.Z, ws.A, strict=True), start=1):
            product(weights, read, out=z)  # Z = [W, b] [A; 1]
            if l == last:
                output_activation(self.output, ws.output_Z, out=ws.output_A, axis=-2)
            elif a is not z:  # (a linear layer computed Z in place of A)
                self.g[l - 1](z, a)
            if guard:
                self._guard(ws, a)
        return ws.fwd

    def backward(self, fwd: Forward, Y: np.ndarray, output_grad: bool = True) -> Backward:
        """Gradients of each model's cost by back-propagation through the kept forward pass."""
        Y = self.check_targets(Y, fwd.workspace.m)
        return self.backward_pass(fwd.workspace, Y.T, output_grad=output_grad)

    def backward_pass(
        self, ws: Workspace, targets: np.ndarray, cost: bool = True, output_grad: bool = False, guard: bool = False
    ) -> Backward:
        """Back-propagation over the workspace's last forward pass, with checked targets Y^T (n^[L], m):
        one example per column. cost=False leaves `cost` None (a trainer bounds it instead, see `cost_bound`)."""
        bwd = ws.bwd
        bwd.cost = self.pass_cost(ws, targets) if cost else None
        logit_gradient(ws.output_A, targets, ws.logit_scale, out=ws.output_dZ)
        product, trim = self.product, self.packed and self.K > 1
        for l in range(self.L, 0, -1):
            dZ, dA = ws.dZ[l - 1], ws.dA[l - 1]
            if l < self.L and dZ is not dA:  # dZ^[l] = dA^[l] * g'(Z^[l])
                g_prime = self.g_prime[l - 1](ws.Z[l - 1], ws.A[l - 1], ws.mask[l - 1])
                np.multiply(dA, g_prime, out=dZ)
            if guard and l < self.L:
                self._guard(ws, dZ)
            # [dW, db] = dZ [A^[l-1]; 1]^T, summed over the batch (the 1/m is already in dZ).
            grad = ws.grad_blocks[l - 1]
            product(dZ, ws.reads_T[l - 1], out=grad)
            if trim and l > 1:
                np.copyto(grad, 0, where=self.between[l - 1])
            if l > 1:  # dA^[l-1] = W^[l]^T dZ^[l]
                product(self.weights_W_T[l - 1], dZ, out=ws.dA[l - 2])
        bwd.dA[-1] = output_gradient(self.output, ws.fwd.output, bwd.dZ[-1], targets.T) if output_grad else None
        return bwd

    def pass_cost(self, ws: Workspace, targets: np.ndarray) -> np.ndarray:
        """Each model's cost (K,) over the workspace's last forward pass, with targets Y^T (n^[L], m)."""
        return loss(self.output, ws.blocks["Z"][-1], targets, ws.blocks["loss"], axis=-2)

    def pass_accuracy(self, ws: Workspace, targets: np.ndarray) -> np.ndarray:
        """Fraction classified right per model (float64, (K,)) over the workspace's last forward pass; NaN
        for a linear output. Targets Y^T (n^[L], m), checked."""
        if self.output == "linear":
            return np.full(self.K, np.nan)
        return fraction_right(self.output, ws.blocks["A"][-1], targets, axis=-2)

    def _guard(self, ws: Workspace, x: np.ndarray) -> None:
        ws.nonfinite |= ~np.isfinite(self.per_model_block(x)).all(axis=(1, 2))
        big = np.finfo(self.dtype).max
        np.fmin(x, big, out=x)  # fmin and fmax ignore NaN: NaN becomes +big
        np.fmax(x, -big, out=x)

    def cost(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Cost of each model on (X, Y), shape (K,)."""
        fwd = self.forward(X)
        Y = self.check_targets(Y, fwd.workspace.m)
        return loss(self.output, fwd.Z[-1], Y)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Each model's output for X: probabilities (sigmoid, softmax) or values (linear)."""
        return self.forward(X).output

    def accuracy(self, output: np.ndarray, Y: np.ndarray) -> np.ndarray:
        """Fraction classified right per model; NaN for a regression (linear) output."""
        if self.output == "linear":
            return np.full(output.shape[0], np.nan)
        return fraction_right(self.output, output, self.check_targets(Y, output.shape[-2]))

    # -- argument checks ----------------------------------------------------------------------

    def check_inputs(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X has shape {X.shape}; expected (m, {self.sizes[0]}): one example per row")
        if X.shape[0] == 0:
            raise ValueError("X has no rows; expected at least one example")
        return self._real_and_finite(X, "X")

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
        return self._real_and_finite(Y, "Y")

    def _real_and_finite(self, values: np.ndarray, name: str) -> np.ndarray:
        """`values` as this network's dtype, refusing what is not a real number or not finite."""
        if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
            raise TypeError(f"{name} has dtype {values.dtype}; expected real numbers")
        values = values.astype(self.dtype, copy=False)
        if not np.isfinite(values).all():
            raise ValueError(f"{name} holds NaN or infinite values; clean the data first")
        return values

    def __repr__(self) -> str:
        return (
            f"Network(sizes={list(self.sizes)}, hidden={self.hidden}, output={self.output!r}, "
            f"models={self.K}, dtype={self.dtype.name}, layout={self.layout!r})"
        )


def output_gradient(output: str, a: np.ndarray, dz: np.ndarray, Y: np.ndarray, axis: int = -1) -> np.ndarray:
    """dCost/dA^[L], the gradient with respect to the network's output.

    For a linear output it equals dZ^[L]. For sigmoid and softmax it is the cross-entropy gradient
    with respect to the probabilities, -(y/a - (1-y)/(1-a))/m and -(y/a)/m, with the probabilities kept
    within [1e-12, 1 - 1e-12] so that a saturated output gives a large number, not infinity.
    `axis`: the outputs' axis, as for `loss`.
    """
    if output == "linear":
        return dz
    m = a.shape[-1 if axis == -2 else -2]
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
    if len(sizes) - 1 > MAX_LAYERS:
        raise ValueError(
            f"sizes has {len(sizes):,} widths ({len(sizes) - 1:,} layers); at most {MAX_LAYERS:,} layers allowed"
        )
    for n in sizes:
        if not checks.is_count(n, 1):
            raise ValueError(f"sizes={sizes!r}: every width must be a positive integer, not {n!r}")
    return [int(n) for n in sizes]


def _short(sizes: list[int]) -> str:
    """A list of widths for a message: whole when short, else its ends."""
    if len(sizes) <= 8:
        return str(list(sizes))
    return f"[{', '.join(map(str, sizes[:3]))}, ... {len(sizes) - 6} more ..., {', '.join(map(str, sizes[-3:]))}]"


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


def _resolve_init(init, name: str) -> Initializer:
    if isinstance(init, str):
        if init not in initializers.NAMES and init not in initializers.ALIASES:
            names = ", ".join(list(initializers.NAMES) + list(initializers.ALIASES))
            raise ValueError(f"{name}={init!r} is unknown; valid: {names}")
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
