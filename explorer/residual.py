"""A residual network in plain numpy, forward and backward by hand, with K models side by side.

    x_0     = P x + p                                  input projection to the stream's width n (LeCun, 1/n_in)
    x_{l+1} = s x_l + alpha_l F(N(x_l)),  l = 0..L-1   L residual blocks (s = 0: a plain network, x_{l+1} = F(x_l))
    z       = U x_L + u                                logits; softmax (cross-entropy) or sigmoid output

N is nothing, LayerNorm (each example over its n units) or BatchNorm (each unit over the batch of m examples, the
batch's own statistics: this is training mode, and it is used for evaluation too), both without a learned scale and
shift (the linear layer after it can learn them). F is pre-activation (He, Zhang, Ren & Sun 2016, "Identity
mappings in deep residual networks"): one or two times "ReLU, then linear",

    branch_layers = 1:  F(h) = W1 relu(h) + b1
    branch_layers = 2:  F(h) = W2 relu(W1 relu(h) + b1) + b2

alpha_l is a scalar per block and model: fixed (1, or 1/sqrt(L)), or learned (SkipInit starts it at 0).

Each of the K models has its own start (a `ResidualStart`: skip or not, which normalization, how its weights
and alphas are drawn) and its own seed; all K train as one computation, examples as columns, every array
(K, n, m). Every parameter lives in one flat buffer, so the optimizers of explorer.training update it in one go.

    net = ResidualNet(64, 32, 20, 10, starts=["resnet_he", "fixup"], seed=[0, 1])
    trainer = ResidualTrainer(net, X, y, lr=0.05, batch_size=64)
    for snap in trainer.snapshots(every=10, steps=500): ...

The per-block variance of the stream and of its gradient at initialization is predicted by
explorer.theory.residual and measured here by `measure_residual`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from explorer import __version__, checks, initializers
from explorer.network import fraction_right, logit_gradient, logit_scale, loss, output_activation
from explorer.starts import CATALOGUE
from explorer.theory.residual import NORMS, branch_gain, predict_residual
from explorer.training import DIVERGED, SGD, TRAINING, Adam, Snapshot, Trainer

EPS = 1e-5  # added to the variance inside LayerNorm and BatchNorm, as torch does
MAX_DEPTH = 500
MAX_PARAMETERS = 30_000_000  # per stack, float64: 240 MB


# ---------------------------------------------------------------------------------------------
# The starts.


@dataclass(frozen=True)
class ResidualStart:
    """How one model of the stack starts.

    skip: x_{l+1} = x_l + alpha F (True) or F alone (False: the plain deep network).
    norm: "none", "layer" or "batch", before each branch.
    alpha: "1", "1/sqrt(L)" or "0": the branch scaling's first value. learn_alpha: SGD trains it.
    branch: "he" (every branch layer N(0, 2/n)) or "fixup": the last layer of each branch (and the output layer)
        zero, the other branch layers He scaled by L^(-1/(2m-2)) in std, m the layers per branch (Zhang, Dauphin &
        Ma 2019, "Fixup initialization"); with one layer per branch that layer is the last, so it is zero.
    """

    key: str
    label: str
    skip: bool = True
    norm: str = "none"
    alpha: str = "1"
    learn_alpha: bool = False
    branch: str = "he"
    color: str = "#1f77b4"
    reference: str = ""

    def alpha_value(self, depth: int) -> float:
        return {"1": 1.0, "1/sqrt(L)": 1 / math.sqrt(depth), "0": 0.0}[self.alpha]

    def branch_variances(self, width: int, depth: int, layers: int) -> list[float]:
        """Var(W_i) of each layer of a branch."""
        he = 2 / width
        if self.branch == "he":
            return [he] * layers
        inner = he * depth ** (-1 / (layers - 1)) if layers > 1 else 0.0  # std times L^(-1/(2m-2))
        return [inner] * (layers - 1) + [0.0]


STARTS: dict[str, ResidualStart] = {start.key: start for start in (
    ResidualStart("plain_he", "plain net (no skip), He N(0, 2/n)", skip=False, color="#7f7f7f",
                  reference="He et al. (2015): variance kept, yet deep plain nets train badly (He et al. 2016)"),
    ResidualStart("resnet_he", "residual, He N(0, 2/n): Var ×2 per block", color="#d62728",
                  reference="He, Zhang, Ren & Sun (2016), with He's rule in every branch layer"),
    ResidualStart("scaled", "residual, He, α = 1/√L", alpha="1/sqrt(L)", color="#ff7f0e",
                  reference="branch scaling: Var(x_L) = (1 + 1/L)^L Var(x_0) < e Var(x_0)"),
    ResidualStart("fixup", "Fixup: last branch layer 0, others He·L^(-1/(2m-2))", branch="fixup", color="#2ca02c",
                  reference="Zhang, Dauphin & Ma (2019), Fixup (without its scalar biases and multipliers)"),
    ResidualStart("skipinit", "SkipInit: α = 0, learned", alpha="0", learn_alpha=True, color="#9467bd",
                  reference="De & Smith (2020), SkipInit"),
    ResidualStart("layernorm", "residual, He, LayerNorm before each branch", norm="layer", color="#1f77b4",
                  reference="pre-LN residual network: Var(x_l) grows by 1 per block"),
    ResidualStart("batchnorm", "residual, He, BatchNorm before each branch", norm="batch", color="#17becf",
                  reference="He et al. (2016), pre-activation ResNet with batch normalization"),
)}


def _check_start(start) -> ResidualStart:
    if isinstance(start, ResidualStart):
        return start
    if not isinstance(start, str) or start not in STARTS:
        raise ValueError(f"start={start!r} is unknown; valid: {', '.join(STARTS)}")
    return STARTS[start]


# ---------------------------------------------------------------------------------------------
# Normalization, forward and backward, over one axis of a (k, n, m) block.


def normalize(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(x - mean) / sqrt(var + EPS) over `axis` (1: LayerNorm over units, 2: BatchNorm over examples);
    returns x-hat and 1/sqrt(var + EPS)."""
    centred = x - x.mean(axis=axis, keepdims=True)
    inverse = 1 / np.sqrt((centred * centred).mean(axis=axis, keepdims=True) + EPS)
    return centred * inverse, inverse


def normalize_backward(dh: np.ndarray, xhat: np.ndarray, inverse: np.ndarray, axis: int) -> np.ndarray:
    """dCost/dx from dCost/dx-hat: (1/sigma) (dh - mean(dh) - x-hat mean(dh x-hat)), means over `axis`."""
    return inverse * (dh - dh.mean(axis=axis, keepdims=True) - xhat * (dh * xhat).mean(axis=axis, keepdims=True))


NORM_AXIS = {"layer": 1, "batch": 2}


# ---------------------------------------------------------------------------------------------
# The network.


@dataclass
class ResidualPass:
    """What a forward pass keeps. stream[l]: x_l (K, n, m), l = 0..L; blocks[l]: the branch's values of block l;
    logits, output: (K, n_out, m)."""

    stream: list[np.ndarray]
    blocks: list[dict]
    logits: np.ndarray
    output: np.ndarray
    X: np.ndarray  # (m, n_in)


class ResidualNet:
    """K residual networks side by side: n_in inputs, a stream of `width` units through `depth` blocks, n_out outputs.

    starts: one start (a key of STARTS or a ResidualStart) for all, or one per model. seed: one, or one per model.
    branch_layers: 1 or 2 linear layers per branch. output: "softmax" or "sigmoid".
    """

    def __init__(self, n_in: int, width: int, depth: int, n_out: int, starts: str | Sequence = "resnet_he",
                 seed: int | Sequence[int] = 0, branch_layers: int = 2, output: str = "softmax") -> None:
        self.n_in = checks.count("n_in", n_in, 1, 100_000)
        self.width = checks.count("width", width, 2, 4096)
        self.depth = checks.count("depth", depth, 1, MAX_DEPTH)
        self.n_out = checks.count("n_out", n_out, 1, 10_000)
        self.branch_layers = checks.count("branch_layers", branch_layers, 1, 2)
        if output not in ("softmax", "sigmoid"):
            raise ValueError(f"output={output!r} is unknown; valid: softmax, sigmoid")
        if output == "sigmoid" and n_out != 1:
            raise ValueError(f"n_out={n_out!r}: a sigmoid output has one unit")
        self.output = output
        start_list = [starts] if isinstance(starts, (str, ResidualStart)) else list(starts)
        seeds = list(seed) if isinstance(seed, (list, tuple, np.ndarray)) else [seed]
        if not start_list:
            raise ValueError("starts is an empty list; give at least one")
        K = max(len(start_list), len(seeds))
        if len(start_list) not in (1, K) or len(seeds) not in (1, K):
            raise ValueError(f"starts has {len(start_list)} entries and seed {len(seeds)}; give one or {K} of each")
        self.starts = [_check_start(s) for s in (start_list * K if len(start_list) == 1 else start_list)]
        self.seeds = [checks.seed(s) for s in (seeds * K if len(seeds) == 1 else seeds)]
        self.K = K
        n, L = self.width, self.depth
        shapes = {"P": (K, n, n_in), "p": (K, n, 1), "alpha": (L, K, 1, 1), "U": (K, n_out, n), "u": (K, n_out, 1)}
        for i in range(1, self.branch_layers + 1):
            shapes[f"W{i}"], shapes[f"b{i}"] = (L, K, n, n), (L, K, n, 1)
        self.shapes = shapes
        size = sum(math.prod(shape) for shape in shapes.values())
        if size > MAX_PARAMETERS:
            raise ValueError(f"width={n} and depth={L} with {K} models need {size:,} parameters; at most "
                             f"{MAX_PARAMETERS:,} allowed: use a narrower or shallower network")
        self.params = np.zeros(size)
        self.p = self.views(self.params)  # name -> view into params
        owner = np.zeros(size, dtype=np.int64)
        for name, view in self.views(owner).items():
            view[...] = np.arange(K).reshape((1, K, 1, 1) if len(shapes[name]) == 4 else (K, 1, 1))
        self.owner = owner
        learned = np.array([s.learn_alpha for s in self.starts])
        fixed = np.zeros(size, dtype=bool)
        self.views(fixed)["alpha"][...] = ~learned.reshape(1, K, 1, 1)
        self.fixed = fixed  # entries the optimizer leaves alone: the alphas that are not learned
        self.skip = np.array([1.0 if s.skip else 0.0 for s in self.starts]).reshape(K, 1, 1)
        self.norm_groups = {kind: np.array([k for k, s in enumerate(self.starts) if s.norm == kind])
                            for kind in NORMS if any(s.norm == kind for s in self.starts)}
        self.reinitialize()

    # -- parameters ---------------------------------------------------------------------------

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Cut a buffer laid out like `params` into its named arrays (views)."""
        out, offset = {}, 0
        for name, shape in self.shapes.items():
            size = math.prod(shape)
            out[name] = flat[offset: offset + size].reshape(shape)
            offset += size
        return out

    def reinitialize(self) -> None:
        """Draw every model's parameters from its start and seed: P ~ N(0, 1/n_in); branch layers as the start
        says; U ~ N(0, 1/n) (zero for Fixup); biases zero; alpha as the start says."""
        n, L, m = self.width, self.depth, self.branch_layers
        self.params[:] = 0
        for k, (start, seed) in enumerate(zip(self.starts, self.seeds, strict=True)):
            rng = np.random.default_rng(seed)
            self.p["P"][k] = initializers.lecun_normal()(rng, (n, self.n_in))
            # Each branch layer: He's rule from the catalogue, scaled (Fixup's inner layers), or left at zero.
            draws = [CATALOGUE["he"].scaled(v * n / 2) if v > 0 else None for v in start.branch_variances(n, L, m)]
            for l in range(L):
                for i, init in enumerate(draws, start=1):
                    if init is not None:
                        self.p[f"W{i}"][l, k] = init(rng, (n, n))
            if start.branch != "fixup":
                self.p["U"][k] = initializers.lecun_normal()(rng, (self.n_out, n))
            self.p["alpha"][:, k] = start.alpha_value(L)

    def branch_gains(self) -> np.ndarray:
        """The branch gain c (explorer.theory.residual.branch_gain) that each model's start promises, (K,)."""
        return np.array([branch_gain(s.branch_variances(self.width, self.depth, self.branch_layers), self.width)
                         for s in self.starts])

    # -- forward and backward -----------------------------------------------------------------

    def forward(self, X: np.ndarray) -> ResidualPass:
        """Run every model on X (m, n_in); keeps what the backward pass needs."""
        X = self.check_inputs(X)
        p = self.p
        x = np.matmul(p["P"], X.T) + p["p"]
        stream, blocks = [x], []
        for l in range(self.depth):
            block = {}
            h = x
            if len(self.norm_groups) > 1 or "none" not in self.norm_groups:
                h = x.copy()
                for kind, models in self.norm_groups.items():
                    if kind != "none":
                        h[models], inverse = normalize(x[models], NORM_AXIS[kind])
                        block[kind] = inverse
            block["h"] = h
            r = np.maximum(h, 0)
            block["r1"] = r
            u = np.matmul(p["W1"][l], r) + p["b1"][l]
            if self.branch_layers == 2:
                r = np.maximum(u, 0)
                block["r2"] = r
                u = np.matmul(p["W2"][l], r) + p["b2"][l]
            block["f"] = u
            x = self.skip * x + p["alpha"][l] * u
            stream.append(x)
            blocks.append(block)
        logits = np.matmul(p["U"], x) + p["u"]
        return ResidualPass(stream, blocks, logits, output_activation(self.output, logits, axis=-2), X)

    def backward(self, fwd: ResidualPass, targets: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Gradients of each model's cost: (flat gradient laid out like `params`, [dCost/dx_l for l = 0..L]).
        targets: Y^T, (n_out, m), as `check_targets(...).T` gives."""
        p = self.p
        m = fwd.X.shape[0]
        grads = np.zeros_like(self.params)
        d = self.views(grads)
        dz = logit_gradient(fwd.output, targets, logit_scale(self.output, m, self.n_out))
        d["U"][...] = np.matmul(dz, fwd.stream[-1].swapaxes(1, 2))
        d["u"][...] = dz.sum(axis=2, keepdims=True)
        g = np.matmul(p["U"].swapaxes(1, 2), dz)
        stream_grads = [g]
        for l in range(self.depth - 1, -1, -1):
            block = fwd.blocks[l]
            d["alpha"][l] = (g * block["f"]).sum(axis=(1, 2), keepdims=True)
            du = p["alpha"][l] * g  # dCost/d(branch output)
            if self.branch_layers == 2:
                d["W2"][l] = np.matmul(du, block["r2"].swapaxes(1, 2))
                d["b2"][l] = du.sum(axis=2, keepdims=True)
                du = np.matmul(p["W2"][l].swapaxes(1, 2), du) * (block["r2"] > 0)
            d["W1"][l] = np.matmul(du, block["r1"].swapaxes(1, 2))
            d["b1"][l] = du.sum(axis=2, keepdims=True)
            dh = np.matmul(p["W1"][l].swapaxes(1, 2), du) * (block["h"] > 0)
            for kind, models in self.norm_groups.items():
                if kind != "none":
                    dh[models] = normalize_backward(dh[models], block["h"][models], block[kind], NORM_AXIS[kind])
            g = self.skip * g + dh
            stream_grads.append(g)
        d["P"][...] = np.matmul(g, fwd.X)
        d["p"][...] = g.sum(axis=2, keepdims=True)
        return grads, stream_grads[::-1]

    def cost(self, fwd: ResidualPass, targets: np.ndarray) -> np.ndarray:
        """Each model's cost (K,) over the pass's batch; targets Y^T (n_out, m)."""
        return loss(self.output, fwd.logits, targets, axis=-2)

    def accuracy(self, fwd: ResidualPass, targets: np.ndarray) -> np.ndarray:
        return fraction_right(self.output, fwd.output, targets, axis=-2)

    # -- argument checks ----------------------------------------------------------------------

    def check_inputs(self, X) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_in or len(X) == 0:
            raise ValueError(f"X has shape {X.shape}; expected (m, {self.n_in}) with m >= 1: one example per row")
        if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
            raise ValueError("X must hold finite real numbers")
        return X.astype(np.float64, copy=False)

    def check_targets(self, y, m: int) -> np.ndarray:
        """Targets as (m, n_out): class labels one-hot (softmax), 0/1 labels as a column (sigmoid)."""
        y = np.asarray(y)
        if y.shape != (m,) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 \
                or y.max() >= max(self.n_out, 2):
            raise ValueError(f"y must be {m} integer labels from 0 to {max(self.n_out, 2) - 1}, one per row of X")
        if self.output == "softmax":
            return np.eye(self.n_out)[y]
        return y[:, None].astype(np.float64)

    def __repr__(self) -> str:
        return (f"ResidualNet({self.n_in}, width={self.width}, depth={self.depth}, {self.n_out}, "
                f"starts={[s.key for s in self.starts]}, branch_layers={self.branch_layers})")


# ---------------------------------------------------------------------------------------------
# Training: the same loop as explorer.training.Trainer, with the same Snapshot records.


@dataclass
class ResidualSnapshot(Snapshot):
    """A training.Snapshot whose per-layer rows are the stream's blocks l = 0..L (L + 1 rows): a_mean, a_std
    (and z_mean, z_std, the same) of x_l, grad_std of dCost/dx_l; weight_norm, grad_norm of W1 per block (L rows).
    Also: stream_var and grad_var, the second moments E[x_l^2] and E[g_l^2] (L + 1, K), and alpha (L, K)."""

    stream_var: np.ndarray | None = None
    grad_var: np.ndarray | None = None
    alpha: np.ndarray | None = None


class ResidualTrainer:
    """SGD (or momentum, Adam) on a ResidualNet, full batch or minibatches, a snapshot every N steps, as
    explorer.training.Trainer does for a Network: a snapshot at step t shows the pass before that step's update;
    a model whose cost is not finite or passes `diverge_above` is frozen from that step on."""

    def __init__(self, net: ResidualNet, X: np.ndarray, y: np.ndarray, *, lr: float = 0.05, optimizer: str = "sgd",
                 momentum: float = 0.9, batch_size: int | None = 64, seed: int = 0,
                 diverge_above: float = 1e6) -> None:
        if not isinstance(net, ResidualNet):
            raise TypeError(f"net={net!r} must be an explorer.residual.ResidualNet")
        self.net = net
        self.X = net.check_inputs(X)
        self.m = len(self.X)
        self.Y = net.check_targets(y, self.m)
        if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (0 < lr < math.inf):
            raise ValueError(f"lr={lr!r}: a learning rate must be a positive finite number")
        self.lr = float(lr)
        if optimizer not in ("sgd", "momentum", "adam"):
            raise ValueError(f"optimizer={optimizer!r} is unknown; valid: sgd, momentum, adam")
        self.optimizer_name = optimizer
        self.optimizer = Adam(self.lr) if optimizer == "adam" else SGD(self.lr, momentum if optimizer == "momentum"
                                                                           else 0.0)
        self.batch_size = checks.batch_size(batch_size, self.m)
        self.seed = checks.seed(seed)
        self.rng = np.random.default_rng(self.seed)
        if not (diverge_above > 0):
            raise ValueError(f"diverge_above={diverge_above!r} must be a positive number")
        self.diverge_above = diverge_above
        self.step = 0
        self.diverged_at = np.full(net.K, -1)
        self.frozen = net.fixed.copy()
        self.blas = ThreadpoolController()
        self.order = self.rng.permutation(self.m) if self.batch_size else np.arange(self.m)
        self.cursor = 0
        self.epochs_done = 0

    @property
    def epoch(self) -> float:
        return float(self.step) if self.batch_size is None else self.epochs_done + self.cursor / self.m

    def batch(self) -> np.ndarray | None:
        return None if self.batch_size is None else self.order[self.cursor: self.cursor + self.batch_size]

    def pass_and_grads(self, batch: np.ndarray | None):
        """Forward and backward over the batch; marks models that diverge. (fwd, flat grads, stream grads, cost,
        targets)."""
        X = self.X if batch is None else self.X[batch]
        targets = (self.Y if batch is None else self.Y[batch]).T
        fwd = self.net.forward(X)
        grads, stream_grads = self.net.backward(fwd, targets)
        cost = self.net.cost(fwd, targets)
        bad = ~np.isfinite(cost) | (cost > self.diverge_above)
        if not np.isfinite(grads.sum()):  # one pass in the usual case; model by model only when something overflowed
            bad |= np.bincount(self.net.owner, weights=~np.isfinite(grads), minlength=self.net.K) > 0
        newly = bad & (self.diverged_at < 0)
        if newly.any():
            self.diverged_at[newly] = self.step
            self.frozen = self.net.fixed | np.isin(self.net.owner, np.flatnonzero(self.diverged_at >= 0))
            self.optimizer.forget(self.frozen)
        return fwd, grads, stream_grads, cost, targets

    def update(self, grads: np.ndarray) -> None:
        np.copyto(grads, 0, where=self.frozen)  # alphas that are not learned, and models that diverged
        self.optimizer.step(self.net.params, grads)
        self.step += 1
        if self.batch_size is not None:
            self.cursor += self.batch_size
            if self.cursor >= self.m:
                self.order = self.rng.permutation(self.m)
                self.cursor = 0
                self.epochs_done += 1

    def snapshots(self, every: int = 10, steps: int | None = None) -> Iterator[ResidualSnapshot]:
        """A snapshot now, then every `every` steps and when a model diverges, for at most `steps` updates (None:
        until every model has diverged)."""
        checks.count("every", every, 1)
        if steps is not None:
            checks.count("steps", steps, 0)
        return self._snapshots(every, None if steps is None else self.step + steps)

    def _snapshots(self, every: int, end: int | None) -> Iterator[ResidualSnapshot]:
        first = True
        while True:
            # One BLAS thread, as Trainer.blas_limit holds it: these products are small, and a second thread spins.
            with self.blas.limit(limits=1, user_api="blas"), np.errstate(all="ignore"):
                while True:
                    before = self.diverged_at.copy()
                    batch = self.batch()
                    fwd, grads, stream_grads, cost, targets = self.pass_and_grads(batch)
                    last = (end is not None and self.step >= end) or (self.diverged_at >= 0).all()
                    newly = bool(((before < 0) & (self.diverged_at >= 0)).any())
                    if first or last or newly or self.step % every == 0:
                        break
                    self.update(grads)
                snap = self.snapshot(fwd, stream_grads, cost, targets, grads)
            yield snap
            if last:
                return
            first = False
            with np.errstate(all="ignore"):
                self.update(grads)

    run = Trainer.run  # `steps` updates without snapshots between (through this trainer's own snapshots())

    def snapshot(self, fwd: ResidualPass, stream_grads, cost, targets, grads) -> ResidualSnapshot:
        net = self.net
        frozen = (self.diverged_at >= 0) & (self.diverged_at < self.step)
        cost = np.where(frozen, np.nan, cost.astype(np.float64))
        accuracy = np.where(frozen, np.nan, net.accuracy(fwd, targets))
        x = np.stack(fwd.stream)  # (L + 1, K, n, m)
        g = np.stack(stream_grads)
        a_mean, a_std = x.mean(axis=(2, 3)), x.std(axis=(2, 3))
        stream_var, grad_var = (x * x).mean(axis=(2, 3)), (g * g).mean(axis=(2, 3))
        dW1 = net.views(grads)["W1"]
        weight_norm = np.sqrt((net.p["W1"] ** 2).sum(axis=(2, 3)))
        grad_norm = np.sqrt((dW1 ** 2).sum(axis=(2, 3)))
        stats = [a_mean, a_std, g.std(axis=(2, 3)), stream_var, grad_var, weight_norm, grad_norm]
        for values in stats:
            values[:, frozen] = np.nan
        return ResidualSnapshot(
            step=self.step, epoch=self.epoch, cost=cost, accuracy=accuracy,
            status=[DIVERGED if at >= 0 else TRAINING for at in self.diverged_at.tolist()],
            diverged_at=self.diverged_at.copy(), z_mean=a_mean, z_std=a_std, a_mean=a_mean, a_std=a_std,
            grad_std=stats[2], weight_norm=weight_norm, grad_norm=grad_norm, weights=[], biases=[], weight_grads=[],
            stream_var=stream_var, grad_var=grad_var, alpha=net.p["alpha"][:, :, 0, 0].copy())

    def config(self) -> dict:
        """Everything needed to repeat this run."""
        net = self.net
        return {"version": __version__, "n_in": net.n_in, "width": net.width, "depth": net.depth,
                "n_out": net.n_out, "branch_layers": net.branch_layers, "output": net.output,
                "starts": [s.key for s in net.starts], "seeds": list(net.seeds), "lr": self.lr,
                "optimizer": self.optimizer_name, "batch_size": self.batch_size, "batch_seed": self.seed,
                "diverge_above": self.diverge_above, "examples": self.m}


# ---------------------------------------------------------------------------------------------
# Measurement at initialization, against explorer.theory.residual.


@dataclass
class ResidualMeasurement:
    """Measured at initialization, averaged over `draws` networks per start: stream[l, k] = E[x_l^2] and
    grad[l, k] = E[g_l^2] / E[g_L^2] (l = 0..L) for start k; `spread`: the standard deviation of log stream over the
    draws (L + 1, K), and `grad_spread` the same for grad. predicted_stream, predicted_grad: the theory, from each
    start's branch gain and the measured q_0."""

    stream: np.ndarray
    grad: np.ndarray
    spread: np.ndarray
    grad_spread: np.ndarray
    predicted_stream: np.ndarray
    predicted_grad: np.ndarray
    draws: int
    extra: dict = field(default_factory=dict)


def measure_residual(starts: Sequence, width: int, depth: int, branch_layers: int = 2, draws: int = 4,
                     examples: int = 64, seed: int = 0, X: np.ndarray | None = None) -> ResidualMeasurement:
    """The stream's and the gradient's per-block second moments, measured on `draws` random networks per start and
    predicted by explorer.theory.residual. Inputs: X, or standard normal inputs of width 16 (`examples` of them);
    targets: random labels of 10 classes (the gradient's size relative to the last block does not depend on them).
    A start whose output layer is zero (Fixup) is measured with a LeCun output layer: a zero one sends no gradient
    into the stream at step 0, and there would be no profile to measure.
    """
    keys = [_check_start(s) for s in starts]
    checks.count("draws", draws, 1, 1000)
    checks.count("examples", examples, 3, 100_000)
    rng = np.random.default_rng(checks.seed(seed))
    X = rng.standard_normal((examples, 16)) if X is None else np.asarray(X, dtype=np.float64)
    labels = rng.integers(0, 10, len(X))
    K = len(keys)
    seeds = np.random.SeedSequence(seed).generate_state(K * draws).reshape(draws, K)
    logs, glogs, streams, gradvals = [], [], [], []
    net = None
    with ThreadpoolController().limit(limits=1, user_api="blas"):  # small products: one thread is quicker
        for d in range(draws):
            net = ResidualNet(X.shape[1], width, depth, 10, starts=keys, seed=[int(s) for s in seeds[d]],
                              branch_layers=branch_layers)
            # A zero output layer (Fixup's) passes no gradient to the stream at all: for the gradient's profile, which
            # is measured relative to the last block's, such a model gets a LeCun output layer here.
            for k in range(K):
                if not net.p["U"][k].any():
                    net.p["U"][k] = initializers.lecun_normal()(np.random.default_rng(int(seeds[d, k])), (10, width))
            targets = net.check_targets(labels, len(X)).T
            with np.errstate(all="ignore"):
                fwd = net.forward(X)
                _, grads = net.backward(fwd, targets)
                q = np.stack([(x * x).mean(axis=(1, 2)) for x in fwd.stream])  # (L + 1, K)
                G = np.stack([(g * g).mean(axis=(1, 2)) for g in grads])
                G = G / G[-1]
            streams.append(q)
            gradvals.append(G)
            logs.append(np.log(q))
            glogs.append(np.log(G))
    stream, grad = np.mean(streams, axis=0), np.mean(gradvals, axis=0)
    gains = net.branch_gains()
    predicted_stream, predicted_grad = [], []
    for k, start in enumerate(keys):
        units = None if start.norm == "none" else (width if start.norm == "layer" else len(X))
        pred = predict_residual(depth, gains[k], start.alpha_value(depth), start.skip, start.norm,
                                q0=float(stream[0, k]), units=units)
        predicted_stream.append(pred.stream)
        predicted_grad.append(pred.grad)
    return ResidualMeasurement(stream, grad, np.std(logs, axis=0), np.std(glogs, axis=0),
                               np.stack(predicted_stream, axis=1), np.stack(predicted_grad, axis=1), draws)


# ---------------------------------------------------------------------------------------------
# Trainability over depth: every start trained for a fixed budget at each depth, cached like the trainability map.


def digits_task(examples: int = 512, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`examples` of the 8x8 digits (a seeded choice), standardized: X (examples, 64) and labels (examples,)."""
    from explorer import datasets

    checks.count("examples", examples, 2, 1797)
    data = datasets.digits()
    order = np.random.default_rng([checks.seed(seed), 7]).permutation(len(data))[:examples]
    return datasets.Standardizer.fit(data.X)(data.X)[order], data.y[order]


@dataclass(frozen=True)
class DepthSweepConfig:
    """What decides a sweep's numbers (and its cache key): every start in `starts` at every depth in `depths`,
    width `width`, `branch_layers` per branch, trained with SGD at `lr` for `steps` minibatches of `batch_size`
    from `examples` digits."""

    depths: tuple[int, ...] = (10, 20, 50, 100, 200)
    starts: tuple[str, ...] = tuple(STARTS)
    width: int = 32
    branch_layers: int = 2
    steps: int = 200
    lr: float = 0.05
    batch_size: int = 64
    examples: int = 512
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.depths or len(self.depths) > 50:
            raise ValueError(f"depths={self.depths!r} must hold 1 to 50 depths")
        for depth in self.depths:
            checks.count("every depth", depth, 1, MAX_DEPTH)
        for start in self.starts:
            _check_start(start)
        if not self.starts:
            raise ValueError("starts is empty; give at least one key of explorer.residual.STARTS")
        checks.count("width", self.width, 2, 1024)
        checks.count("branch_layers", self.branch_layers, 1, 2)
        checks.count("steps", self.steps, 0, 100_000)
        checks.count("batch_size", self.batch_size, 1, 100_000)
        checks.count("examples", self.examples, 2, 1797)
        checks.seed(self.seed)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < 100:
            raise ValueError(f"lr={self.lr!r} must be a number between 0 and 100")
        object.__setattr__(self, "depths", tuple(int(d) for d in self.depths))
        object.__setattr__(self, "starts", tuple(self.starts))
        object.__setattr__(self, "lr", float(self.lr))

    def as_dict(self) -> dict:
        return {"depths": list(self.depths), "starts": list(self.starts), "width": self.width,
                "branch_layers": self.branch_layers, "steps": self.steps, "lr": self.lr,
                "batch_size": self.batch_size, "examples": self.examples, "seed": self.seed,
                "explorer_version": __version__}


@dataclass
class DepthSweep:
    """cost, accuracy (on all the sweep's examples after training; NaN where diverged), initial_cost and diverged:
    (len(depths), len(starts))."""

    config: DepthSweepConfig
    cost: np.ndarray
    accuracy: np.ndarray
    initial_cost: np.ndarray
    diverged: np.ndarray
    from_cache: bool = False
    seconds: float = 0.0


@dataclass
class SweepProgress:
    """done of total training steps (summed over depths); result: the sweep, in the last item only."""

    done: int
    total: int
    result: DepthSweep | None = None


def train_depth(config: DepthSweepConfig, depth: int, chunk: int = 20) -> Iterator[int | dict]:
    """Train every start of the config at `depth` as one stack: yields the steps done every `chunk` steps, then a
    dict of per-start arrays (cost, accuracy, initial_cost, diverged)."""
    if not isinstance(config, DepthSweepConfig):
        raise TypeError(f"config={config!r} must be a DepthSweepConfig")
    checks.count("depth", depth, 1, MAX_DEPTH)
    checks.count("chunk", chunk, 1)
    return _train_depth(config, depth, chunk)


def _train_depth(config: DepthSweepConfig, depth: int, chunk: int) -> Iterator[int | dict]:
    X, y = digits_task(config.examples, config.seed)
    seeds = [int(s) for s in np.random.SeedSequence([config.seed, depth]).generate_state(len(config.starts))]
    net = ResidualNet(X.shape[1], config.width, depth, 10, starts=list(config.starts), seed=seeds,
                      branch_layers=config.branch_layers)
    trainer = ResidualTrainer(net, X, y, lr=config.lr, batch_size=config.batch_size, seed=config.seed)
    targets = net.check_targets(y, len(y)).T
    with np.errstate(all="ignore"):
        initial = net.cost(net.forward(X), targets)
        snapshots = trainer.snapshots(every=chunk, steps=config.steps)
        for snap in snapshots:
            yield snap.step
        fwd = net.forward(X)
        cost, accuracy = net.cost(fwd, targets), net.accuracy(fwd, targets)
    diverged = (trainer.diverged_at >= 0) | ~np.isfinite(cost)
    yield {"cost": np.where(diverged, np.nan, cost), "accuracy": np.where(diverged, np.nan, accuracy),
           "initial_cost": initial, "diverged": diverged}


def depth_sweep(config: DepthSweepConfig | None = None, directory=None, cache: bool = True,
                chunk: int = 20) -> Iterator[SweepProgress]:
    """Run the sweep (or read it from the cache, explorer.sweep), yielding progress every `chunk` steps: stop
    pulling to cancel (nothing is stored then). The last item carries the result, stored in the cache."""
    config = config or DepthSweepConfig()
    if not isinstance(config, DepthSweepConfig):
        raise TypeError(f"config={config!r} must be a DepthSweepConfig")
    checks.count("chunk", chunk, 1)
    return _depth_sweep(config, directory, cache, chunk)


def _depth_sweep(config, directory, cache, chunk) -> Iterator[SweepProgress]:
    import time

    from explorer import sweep

    total = config.steps * len(config.depths)
    stored = cached_depth_sweep(config, directory) if cache else None
    if stored is not None:
        yield SweepProgress(total, total, stored)
        return
    began = time.perf_counter()
    shape = (len(config.depths), len(config.starts))
    out = {name: np.full(shape, np.nan) for name in ("cost", "accuracy", "initial_cost")}
    out["diverged"] = np.zeros(shape, dtype=bool)
    yield SweepProgress(0, total)
    for i, depth in enumerate(config.depths):
        for item in train_depth(config, depth, chunk):
            if isinstance(item, dict):
                for name, values in item.items():
                    out[name][i] = values
            else:
                yield SweepProgress(i * config.steps + item, total)
    seconds = time.perf_counter() - began
    if cache:
        sweep.save("residual-depth", config.as_dict(), out, directory, extra={"seconds": seconds})
    yield SweepProgress(total, total, DepthSweep(config, out["cost"], out["accuracy"], out["initial_cost"],
                                                 out["diverged"], from_cache=False, seconds=seconds))


def cached_depth_sweep(config: DepthSweepConfig, directory=None) -> DepthSweep | None:
    """The stored sweep for `config`, or None if it was never computed (nothing is trained here)."""
    import json

    from explorer import sweep

    if not isinstance(config, DepthSweepConfig):
        raise TypeError(f"config={config!r} must be a DepthSweepConfig")
    stored = sweep.load("residual-depth", config.as_dict(), directory)
    if stored is None:
        return None
    _, meta = sweep.cache_paths("residual-depth", config.as_dict(), directory)
    try:
        seconds = float(json.loads(meta.read_text()).get("seconds", 0.0))
    except (OSError, ValueError):
        seconds = 0.0
    return DepthSweep(config, stored["cost"], stored["accuracy"], stored["initial_cost"], stored["diverged"],
                      from_cache=True, seconds=seconds)
