"""The training loop: gradient descent that hands out a snapshot every N steps.

    trainer = Trainer(net, X, Y, lr=0.1)
    for snap in trainer.snapshots(every=100, steps=15_000):
        print(snap.step, snap.cost)          # a notebook redraws here; stop by no longer pulling

The loop knows nothing of widgets or figures. A snapshot is taken from the forward and backward pass of
the step it names, before that step's update: snapshot `step=0` shows the network as initialized.

A model whose cost stops being finite or grows past `diverge_above` is marked diverged at that step and
frozen; the other models of the stack train on. Floating-point overflow is expected there (it is part of
the lesson), so numpy's warnings are silenced inside a step and the finiteness checks speak instead.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import ThreadpoolController

from explorer import __version__, checks
from explorer.network import Backward, Forward, Network, Workspace, cost_bound, dot, output_gradient

OPTIMIZERS = ("sgd", "momentum", "adam")
TRAINING, DIVERGED = "training", "diverged"


# ---------------------------------------------------------------------------------------------
# Optimizers: each updates the flat parameter buffer in place from the gradient buffer of the same
# layout. `lr` is a number, or one per entry of the buffer when the models learn at different rates.


class SGD:
    """Plain gradient descent, or with heavy-ball momentum: v <- mu v - lr g; theta <- theta + v.

    With one learning rate for all, plain descent is one BLAS axpy (theta <- theta + (-lr) g, in place,
    one pass over memory): for the MNIST-size network it takes 7 us against 38 us for a multiply and a
    subtract, and 0.4 us against 1.5 us for the three-layer network.
    """

    def __init__(self, lr: float | np.ndarray, momentum: float = 0.0) -> None:
        self.lr, self.momentum = lr, momentum
        self.velocity = self.scratch = self.axpy = None

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        if self.scratch is None and self.axpy is None:  # the first step: choose the path, allocate its buffers
            if np.ndim(self.lr) == 0 and not self.momentum:
                self.axpy = _in_place_axpy(params)
            if self.axpy is None:
                self.scratch = np.zeros_like(grads)
                self.velocity = np.zeros_like(grads) if self.momentum else None
        if self.axpy is not None:
            self.axpy(grads, params, a=-self.lr)
            return
        step = np.multiply(grads, self.lr, out=self.scratch)  # lr g
        if self.momentum:
            np.multiply(self.velocity, self.momentum, out=self.velocity)
            np.subtract(self.velocity, step, out=self.velocity)
            np.add(params, self.velocity, out=params)
        else:
            np.subtract(params, step, out=params)

    def forget(self, entries: np.ndarray) -> None:
        """Drop the state of these entries (a frozen model must not coast on its velocity)."""
        if self.velocity is not None:
            self.velocity[entries] = 0


def _in_place_axpy(params: np.ndarray):
    """BLAS axpy (y <- a x + y) for arrays like `params`, if it writes into y itself; else None (numpy's path).

    scipy is imported here, not at the top: a dashboard kernel starts without it. It may be missing altogether:
    a page in the browser (Pyodide) never loads scipy, and trains with numpy's path, to the same numbers."""
    try:
        from scipy.linalg.blas import get_blas_funcs
    except ImportError:
        return None

    axpy = get_blas_funcs("axpy", (params,))
    y = np.zeros(2, dtype=params.dtype)
    return axpy if np.shares_memory(axpy(np.ones(2, dtype=params.dtype), y, a=1.0), y) and y[0] == 1 else None


class Adam:
    """Adam (Kingma & Ba 2015): moving averages of g and g^2, bias-corrected, step lr m / (sqrt(v) + eps)."""

    def __init__(self, lr: float | np.ndarray, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m = self.v = None
        self.t = 0

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        if self.m is None:
            self.m, self.v = np.zeros_like(grads), np.zeros_like(grads)
            self.scratch, self.denominator = np.zeros_like(grads), np.zeros_like(grads)
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        # m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
        np.multiply(self.m, b1, out=self.m)
        self.m += np.multiply(grads, 1 - b1, out=self.scratch)
        np.multiply(self.v, b2, out=self.v)
        np.multiply(grads, grads, out=self.scratch)
        self.v += np.multiply(self.scratch, 1 - b2, out=self.scratch)
        # theta <- theta - lr m_hat / (sqrt(v_hat) + eps), with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
        np.sqrt(np.multiply(self.v, 1 / (1 - b2**self.t), out=self.denominator), out=self.denominator)
        self.denominator += self.eps
        np.divide(self.m, self.denominator, out=self.scratch)
        np.multiply(self.scratch, self.lr, out=self.scratch)
        np.subtract(params, np.multiply(self.scratch, 1 / (1 - b1**self.t), out=self.scratch), out=params)

    def forget(self, entries: np.ndarray) -> None:
        if self.m is not None:
            self.m[entries] = 0
            self.v[entries] = 0


# ---------------------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """The state of every model of the stack at one step. Arrays indexed [layer, model] are (L, K).

    Layer statistics are over the batch used at that step; histograms count values within the caller's
    bin edges (values outside them are not counted, as in numpy.histogram).
    """

    step: int
    epoch: float  # passes over the training data, as the trainer walks them (Trainer.epoch)
    cost: np.ndarray  # (K,) cost on the step's batch; NaN for a model that diverged earlier
    accuracy: np.ndarray  # (K,) fraction right on the batch; NaN for a regression
    status: list[str]  # per model: "training" or "diverged"
    diverged_at: np.ndarray  # (K,) the step where each model diverged, -1 if it did not
    z_mean: np.ndarray  # (L, K)
    z_std: np.ndarray
    a_mean: np.ndarray
    a_std: np.ndarray
    grad_std: np.ndarray  # (L, K) standard deviation of dCost/dA^[l]
    weight_norm: np.ndarray  # (L, K) Frobenius norm of W^[l]
    grad_norm: np.ndarray  # (L, K) Frobenius norm of dW^[l]
    weights: list[np.ndarray]  # W^[l] copies, (K, n^[l], n^[l-1])
    biases: list[np.ndarray]
    weight_grads: list[np.ndarray]  # dW^[l] copies
    act_hist: np.ndarray | None = None  # (L, K, bins) counts of A^[l]
    grad_hist: np.ndarray | None = None  # (L, K, bins) counts of dCost/dA^[l]
    batch: np.ndarray | None = None  # indices of the examples in the step's batch (None: all)
    output: np.ndarray | None = None  # (K, m, n^[L]) the network's outputs on that batch
    probe: np.ndarray | None = None  # (K, G, n^[L]) outputs on the caller's probe points
    evaluation: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # name: (cost, acc)

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0


class Trainer:
    """Gradient descent on a stack of networks, full-batch or minibatch.

    Args:
        net: the network (its parameters are updated in place).
        X, Y: training data, one example per row; Y as labels or targets (see Network.check_targets).
        lr: learning rate, one for all models or one per model.
        optimizer: "sgd", "momentum" (heavy ball, `momentum`) or "adam".
        batch_size: None for full batch; otherwise examples per step, reshuffled every epoch.
        seed: seeds the minibatch order.
        diverge_above: a cost above this (or not finite) marks the model diverged.
        act_bins, grad_bins: histogram bin edges for activations and their gradients (None: no histogram).
        probe: extra inputs whose outputs every snapshot records (a decision-boundary grid, say).
        evaluate: named datasets {"test": (X, Y)} whose cost and accuracy every snapshot records.
        blas_threads: BLAS threads while training (default 1, see `blas_limit`); None leaves BLAS alone.
        lr_scale: None, or a factor for each entry of `net.params` (an array laid out like it, >= 0): entry i
            then learns at its model's lr times lr_scale[i]. Per-layer learning rates, as μP asks
            (explorer.mup); the rates stay in the optimizer, so the step costs one multiply more than with one rate.
    """

    def __init__(
        self,
        net: Network,
        X: np.ndarray,
        Y: np.ndarray,
        *,
        lr: float | Sequence[float] = 0.1,
        optimizer: str = "sgd",
        momentum: float = 0.9,
        batch_size: int | None = None,
        seed: int = 0,
        diverge_above: float = 1e6,
        act_bins: np.ndarray | None = None,
        grad_bins: np.ndarray | None = None,
        probe: np.ndarray | None = None,
        evaluate: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
        blas_threads: int | None = 1,
        lr_scale: np.ndarray | None = None,
    ) -> None:
        if not isinstance(net, Network):
            raise TypeError(f"net={net!r} must be an explorer.network.Network")
        self.net = net
        self.X = net.check_inputs(X)  # real, finite, (m, n^[0])
        self.m = self.X.shape[0]
        self.Y = net.check_targets(Y, self.m)
        self.lr = _check_lr(lr, net.K)  # (K, 1), float64: the rates as given (config() records them)
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer={optimizer!r} is unknown; valid: {', '.join(OPTIMIZERS)}")
        if not (0 <= momentum < 1):
            raise ValueError(f"momentum={momentum!r} must be in [0, 1)")
        self.optimizer_name = optimizer
        self.momentum = momentum
        # One number when every model learns at the same rate, else each parameter gets its model's rate.
        rates = self.lr.ravel()
        if np.all(rates == rates[0]):
            rate = float(rates[0])
        else:
            rate = np.where(net.owner >= 0, rates[np.maximum(net.owner, 0)], 0).astype(net.dtype)
        self.lr_scale = None if lr_scale is None else _check_lr_scale(lr_scale, net)
        if self.lr_scale is not None:
            rate = np.multiply(rate, self.lr_scale, dtype=net.dtype)
        if optimizer == "adam":
            self.optimizer = Adam(rate)
        else:
            self.optimizer = SGD(rate, momentum if optimizer == "momentum" else 0.0)
        self.batch_size = checks.batch_size(batch_size, self.m)
        self.seed = checks.seed(seed)
        self.rng = np.random.default_rng(self.seed)
        if not (diverge_above > 0):
            raise ValueError(f"diverge_above={diverge_above!r} must be a positive number")
        self.diverge_above = diverge_above
        self.act_bins = None if act_bins is None else _check_bins(act_bins, "act_bins")
        self.grad_bins = None if grad_bins is None else _check_bins(grad_bins, "grad_bins")
        self.probe = None if probe is None else _named(lambda: net.check_inputs(probe), "probe")
        self.evaluate = {
            name: _named(lambda x=x, y=y: (net.check_inputs(x), net.check_targets(y, len(x))), f"evaluate[{name!r}]")
            for name, (x, y) in (evaluate or {}).items()
        }

        if blas_threads is not None and not checks.is_count(blas_threads, 1):
            raise ValueError(f"blas_threads={blas_threads!r} must be None or a positive integer")
        self.blas_threads = blas_threads
        # Looks up the BLAS libraries loaded now (about 2 ms); a library loaded later is left alone.
        self.blas = [] if blas_threads is None else ThreadpoolController().select(user_api="blas").lib_controllers
        self.step = 0
        self.diverged_at = np.full(net.K, -1)
        self.any_active = True
        self.frozen_entries: np.ndarray | None = None  # parameters of diverged models: never updated
        # [X, 1] once, so a full batch needs no copy and a minibatch is one gather.
        self.y_abs_max = float(np.abs(self.Y).max())
        self.X_ext = np.ones((self.m, net.sizes[0] + 1), dtype=net.dtype)
        self.X_ext[:, :-1] = self.X
        self.Y_T = np.ascontiguousarray(self.Y.T)  # one example per column, as the network computes
        self.workspaces: dict[int, Workspace] = {}
        # The probe and evaluation sets never change: load each into its own buffers once.
        self.probe_workspace = None if self.probe is None else _loaded(net, self.probe)
        self.evaluation_workspaces = {name: _loaded(net, x, y) for name, (x, y) in self.evaluate.items()}
        self.order = self.rng.permutation(self.m) if self.batch_size else np.arange(self.m)
        self.cursor = 0  # position in the current epoch's order
        self.epochs_done = 0  # complete passes over the training set

    # -- the loop -----------------------------------------------------------------------------

    @property
    def active(self) -> np.ndarray:
        return self.diverged_at < 0

    def snapshots(self, every: int = 100, steps: int | None = None) -> Iterator[Snapshot]:
        """Train, yielding a snapshot at the current step, then every `every` steps and at any step
        where a model diverges.

        `steps` bounds how many updates this call makes (None: until every model has diverged).
        The last snapshot is at the step training stopped. Stop early by no longer pulling.
        """
        checks.count("every", every, 1)
        if steps is not None and not checks.is_count(steps, 0):
            raise ValueError(f"steps={steps!r} must be None or a non-negative integer")
        return self._snapshots(every, None if steps is None else self.step + steps)

    def _snapshots(self, every: int, end: int | None) -> Iterator[Snapshot]:
        pending = None  # the update of the step last shown, applied when the next snapshot is pulled
        first = True
        while True:
            # Overflow is part of the lesson, not a fault: the finiteness checks speak instead of warnings.
            with self.blas_limit(), np.errstate(all="ignore"):
                if pending is not None:
                    self.update(pending)
                while True:
                    last = (end is not None and self.step >= end) or not self.any_active
                    batch = self.next_batch()
                    fwd, bwd, newly_diverged = self.forward_backward(batch)
                    if first or last or newly_diverged or self.step % every == 0:
                        break  # a snapshot is due, or a model just diverged: show the cost that crossed the line
                    self.update(bwd)
                snap = self.snapshot(batch, fwd, bwd)
            yield snap
            if last:
                return
            pending, first = bwd, False

    def blas_limit(self):
        """Hold BLAS to `blas_threads` threads while training (a no-op when that is None).

        These networks are small: their matrix products take well under a millisecond, and on a
        machine that the kernel shares with a browser, a second BLAS thread spins against everything
        else instead of helping (measured here: 3.6 ms against 0.7 ms for one (4, 100, 100) product).
        """
        if self.blas_threads is None:
            return contextlib.nullcontext()
        return self._blas_limited()

    @contextlib.contextmanager
    def _blas_limited(self):
        # Straight to each library's own setter: threadpoolctl's `limit` takes ~17 us, paid at every snapshot.
        before = [lib.get_num_threads() for lib in self.blas]
        for lib in self.blas:
            lib.set_num_threads(self.blas_threads)
        try:
            yield
        finally:
            for lib, threads in zip(self.blas, before, strict=True):
                lib.set_num_threads(threads)

    def run(self, steps: int) -> np.ndarray:
        """Train `steps` updates with no snapshots; return the cost of each model at the last step."""
        checks.count("steps", steps, 0)
        cost = None
        for snap in self.snapshots(every=max(steps, 1), steps=steps):
            cost = snap.cost
        return cost

    def next_batch(self) -> np.ndarray | None:
        """Indices of the batch for the current step (None: the full batch). Pure: the cursor moves
        only when the step's update is applied, so a run paused at a snapshot resumes on the same batch."""
        if self.batch_size is None:
            return None
        return self.order[self.cursor : self.cursor + self.batch_size]

    def workspace(self, batch: np.ndarray | None) -> Workspace:
        """The buffers for this step's batch, loaded with its examples and targets."""
        m = self.m if batch is None else len(batch)
        ws = self.workspaces.get(m)
        if ws is None:
            full = batch is None
            ws = self.workspaces[m] = self.net.workspace(m, inputs=self.X_ext if full else None)
            if full:
                ws.targets[...] = self.Y_T
        if batch is not None:
            np.take(self.X_ext, batch, axis=0, out=ws.inputs, mode="clip")
            np.take(self.Y_T, batch, axis=1, out=ws.targets, mode="clip")
        return ws

    def forward_backward(self, batch: np.ndarray | None) -> tuple[Forward, Backward, bool]:
        """One step's forward and backward pass; marks models that diverge. Returns (fwd, bwd, any newly)."""
        net, ws = self.net, self.workspace(batch)
        fwd = net.forward_pass(ws)
        bwd = net.backward_pass(ws, ws.targets, cost=False)
        # Fast check, one dot product and no log or exp. The gradients and the logits share one buffer, whose
        # squared length |g|^2 + |Z^[L]|^2 is finite only if every gradient is, and whose length bounds max|z|:
        # so it bounds every cost (false for NaN). Only when the bound exceeds `diverge_above` are the costs
        # computed and checked model by model.
        length = math.sqrt(dot(ws.grads_and_logits, ws.grads_and_logits))
        if cost_bound(net.output, length, self.y_abs_max, net.sizes[-1]) <= self.diverge_above:
            return fwd, bwd, False
        if net.packed and net.K > 1:  # one model's overflow may have leaked into its neighbours: redo, guarded
            fwd = net.forward_pass(ws, guard=True)
            bwd = net.backward_pass(ws, ws.targets, guard=True)
            bad = ws.nonfinite.copy()
        else:
            bwd.cost = net.pass_cost(ws, ws.targets)
            bad = np.zeros(net.K, dtype=bool)
        bad |= ~np.isfinite(bwd.cost) | (bwd.cost > self.diverge_above)
        for grad in bwd.dW + bwd.db:
            bad |= ~np.isfinite(grad.reshape(net.K, -1)).all(axis=1)
        newly = bad & self.active
        if newly.any():
            self.diverged_at[newly] = self.step
            self.any_active = bool(self.active.any())
            self.frozen_entries = np.isin(net.owner, np.flatnonzero(~self.active))
            self.optimizer.forget(self.frozen_entries)
        return fwd, bwd, bool(newly.any())

    def update(self, bwd: Backward) -> None:
        if self.frozen_entries is not None:
            np.copyto(bwd.flat, 0, where=self.frozen_entries)
        self.optimizer.step(self.net.params, bwd.flat)
        self.step += 1
        if self.batch_size is not None:
            self.cursor += self.batch_size
            if self.cursor >= self.m:  # epoch over: a new order for the next one
                self.order = self.rng.permutation(self.m)
                self.cursor = 0
                self.epochs_done += 1

    @property
    def epoch(self) -> float:
        """Epochs trained: complete passes over the data plus the share of the current pass done.

        The last batch of an epoch is what is left of it (1,348 examples in batches of 100 make 13
        batches of 100 and one of 48), so an epoch is ceil(m / batch_size) steps and step x batch
        size / m would overcount. Full batch: one step is one epoch."""
        if self.batch_size is None:
            return float(self.step)
        return self.epochs_done + self.cursor / self.m

    # -- what a snapshot records --------------------------------------------------------------

    def snapshot(self, batch: np.ndarray | None, fwd: Forward, bwd: Backward) -> Snapshot:
        """The snapshot of this step's pass. The training loop calls it inside np.errstate(all="ignore")."""
        net, ws = self.net, fwd.workspace
        frozen = (self.diverged_at >= 0) & (self.diverged_at < self.step)
        if bwd.cost is None:
            bwd.cost = net.pass_cost(ws, ws.targets)
        cost = bwd.cost.astype(np.float64)
        accuracy = net.pass_accuracy(ws, ws.targets)
        cost[frozen] = np.nan
        accuracy[frozen] = np.nan

        def blank(*stats: np.ndarray) -> None:
            if frozen.any():
                for values in stats:
                    values[:, frozen] = np.nan

        weights, biases = [w.copy() for w in net.W], [b.copy() for b in net.b]
        weight_grads = [g.copy() for g in bwd.dW]

        # Statistics over each model's values, in the order they are stored: (K, n, m) blocks. Every
        # layer of Z, A and dA in one pass.
        Z, A = ws.blocks["Z"], ws.blocks["A"]
        dA = ws.blocks["dA"][:-1] + [output_gradient(net.output, A[-1], ws.blocks["dZ"][-1], ws.targets, axis=-2)]
        means, stds = _mean_std(Z + A + dA)
        L = net.L
        z_mean, a_mean = means[:L], means[L : 2 * L]
        z_std, a_std, grad_std = stds[:L], stds[L : 2 * L], stds[2 * L :]
        weight_norm, grad_norm = _norms(weights), _norms(weight_grads)
        blank(z_mean, z_std, a_mean, a_std, grad_std, weight_norm, grad_norm)
        snap = Snapshot(
            step=self.step,
            epoch=self.epoch,
            cost=cost,
            accuracy=accuracy,
            status=[DIVERGED if at >= 0 else TRAINING for at in self.diverged_at.tolist()],
            diverged_at=self.diverged_at.copy(),
            z_mean=z_mean,
            z_std=z_std,
            a_mean=a_mean,
            a_std=a_std,
            grad_std=grad_std,
            weight_norm=weight_norm,
            grad_norm=grad_norm,
            weights=weights,
            biases=biases,
            weight_grads=weight_grads,
            batch=None if batch is None else batch.copy(),
            output=fwd.output.copy(),
        )
        if self.act_bins is not None:
            snap.act_hist = np.stack([_count_in_bins(a, self.act_bins) for a in A])
        if self.grad_bins is not None:
            snap.grad_hist = np.stack([_count_in_bins(g, self.grad_bins) for g in dA])
        if self.probe is not None:
            snap.probe = net.forward_pass(self.probe_workspace).output.copy()
        for name, loaded in self.evaluation_workspaces.items():
            net.forward_pass(loaded)
            ev_cost = net.pass_cost(loaded, loaded.targets).astype(np.float64)
            ev_acc = net.pass_accuracy(loaded, loaded.targets)
            ev_cost[frozen], ev_acc[frozen] = np.nan, np.nan
            snap.evaluation[name] = (ev_cost, ev_acc)
        return snap

    def config(self) -> dict:
        """Everything needed to repeat this run, seeds included."""
        net = self.net
        return {
            "version": __version__,
            "sizes": list(net.sizes),
            "hidden": list(net.hidden),
            "output": net.output,
            "init": [repr(i) for i in net.inits],
            "bias_init": repr(net.bias_init),
            "seeds": list(net.seeds),
            "dtype": net.dtype.name,
            "lr": self.lr.ravel().tolist(),
            "optimizer": self.optimizer_name,
            "momentum": self.momentum if self.optimizer_name == "momentum" else None,
            "batch_size": self.batch_size,
            "batch_seed": self.seed,
            "diverge_above": self.diverge_above,
            "examples": self.m,
        }


# ---------------------------------------------------------------------------------------------


class History:
    """A bounded record of per-model values over steps, for curves that grow during a long run.

    Holds at most `max_points` rows. When full, every second row is dropped and from then on only every
    second new value is kept (the stride doubles), so the record spans the whole run at an even spacing
    and its memory and redraw size stay bounded however long training goes on.
    """

    def __init__(self, models: int, max_points: int = 1000) -> None:
        self.models = checks.count("models", models, 1)
        checks.count("max_points", max_points, 4)
        self.max_points = max_points
        self.steps = np.zeros(max_points, dtype=np.int64)
        self.values = np.zeros((max_points, models))
        self.size = 0
        self.stride = 1
        self.offered = 0
        self.last: tuple[int, np.ndarray] | None = None

    def append(self, step: int, values: np.ndarray) -> None:
        """Offer one row; it is kept if it falls on the current stride."""
        if np.shape(values) != (self.models,):
            raise ValueError(f"values has shape {np.shape(values)}; this history holds {self.models} model(s)")
        keep = self.offered % self.stride == 0
        self.offered += 1
        self.last = (step, np.array(values, dtype=np.float64))
        if not keep:
            return
        if self.size == self.max_points:
            half = self.steps[: self.size : 2], self.values[: self.size : 2]
            n = len(half[0])
            self.steps[:n], self.values[:n] = half[0].copy(), half[1].copy()
            self.size = n
            self.stride *= 2
            self.offered = 1
        self.steps[self.size] = step
        self.values[self.size] = values
        self.size += 1

    def _latest_dropped(self) -> bool:
        return self.last is not None and self.size > 0 and self.steps[self.size - 1] != self.last[0]

    @property
    def x(self) -> np.ndarray:
        """Steps kept, ending with the latest step offered (so a curve always reaches "now")."""
        if self._latest_dropped():
            return np.append(self.steps[: self.size], self.last[0])
        return self.steps[: self.size]

    @property
    def y(self) -> np.ndarray:
        if self._latest_dropped():
            return np.vstack([self.values[: self.size], self.last[1]])
        return self.values[: self.size]

    def __len__(self) -> int:
        return self.size


def histogram_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram of each model's values, (K, ...) -> (K, bins), counted like numpy.histogram.

    One pass for all models: find each value's bin, offset it by model, count with bincount.
    Values outside [edges[0], edges[-1]] and NaN are not counted; the last bin includes its right edge.
    """
    return _count_in_bins(values, _check_bins(edges, "edges"))


def _count_in_bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    K = values.shape[0]
    flat = values.reshape(K, -1)
    bins = len(edges) - 1
    index = np.searchsorted(edges, flat, side="right") - 1
    index[flat == edges[-1]] = bins - 1
    inside = (index >= 0) & (index < bins)
    index += bins * np.arange(K)[:, None]
    return np.bincount(index[inside], minlength=K * bins).reshape(K, bins)


def _mean_std(blocks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each model's values in each block: two (len(blocks), K) arrays.
    A block is one layer's (K, ...) array.

    All blocks are reduced at once: each model's values of all blocks are one row, in which every block is
    one segment, and np.add.reduceat sums every segment (for the nine-layer network's 30 small blocks, 33 us
    against 98 us block by block). Two passes, as np.mean and np.std do, in float64.
    """
    K = len(blocks[0])
    values = np.concatenate([block.reshape(K, -1) for block in blocks], axis=1, dtype=np.float64)
    sizes = [block.size // K for block in blocks]
    starts = [0] + list(itertools.accumulate(sizes))[:-1]
    means = np.add.reduceat(values, starts, axis=1) / sizes
    values -= np.repeat(means, sizes, axis=1)
    np.multiply(values, values, out=values)
    stds = np.sqrt(np.add.reduceat(values, starts, axis=1) / sizes)
    return means.T, stds.T


def _norms(matrices: list[np.ndarray]) -> np.ndarray:
    """Frobenius norm of each model's matrix in each layer's (K, n_out, n_in), (len(matrices), K): einsum
    sums the squares without a copy, which for wide layers costs less than joining them."""
    return np.sqrt([np.einsum("kij,kij->k", x, x) for x in matrices])


def _loaded(net: Network, X: np.ndarray, Y: np.ndarray | None = None) -> Workspace:
    """A workspace holding the checked inputs X (and targets Y), for passes over the same examples again
    and again."""
    ws = net.workspace(len(X))
    ws.load(X)
    if Y is not None:
        ws.targets[...] = Y.T
    return ws


def _named(check, name: str):
    """Run a check of the network's, naming the argument it was given as (probe, evaluate['test'])."""
    try:
        result = check()
    except (ValueError, TypeError) as error:
        raise type(error)(f"{name}: {error}") from None
    return result


def _check_lr(lr, K: int) -> np.ndarray:
    try:
        values = np.atleast_1d(np.asarray(lr, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"lr={lr!r} must be a number or one number per model") from None
    if values.ndim != 1 or len(values) not in (1, K):
        raise ValueError(f"lr={lr!r} must be one number or one per model ({K})")
    for v in values:
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"lr={lr!r}: a learning rate must be a positive finite number, not {v}")
    return np.broadcast_to(values, (K,)).reshape(K, 1).copy()


def _check_lr_scale(lr_scale, net: Network) -> np.ndarray:
    """A factor per entry of net.params: finite and >= 0, in an array of the buffer's shape (a copy)."""
    try:
        values = np.array(lr_scale, dtype=np.float64)
    except (TypeError, ValueError):
        kind = type(lr_scale).__name__
        raise TypeError(f"lr_scale must be an array of numbers laid out like net.params, not {kind}") from None
    if values.shape != net.params.shape:
        raise ValueError(f"lr_scale has shape {values.shape}; expected {net.params.shape}, one factor per entry of "
                         "net.params")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("lr_scale must hold finite factors >= 0")
    return values


def _check_bins(edges, name: str) -> np.ndarray:
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"{name} must be at least two finite, increasing bin edges")
    return edges
