"""Width transfer: the standard parametrization (SP) against the maximal update parametrization (μP).

Yang, Hu, Babuschkin, Sidor, Liu, Farhi, Ryder, Pachocki, Chen & Gao (2022), "Tensor Programs V: Tuning large
neural networks via zero-shot hyperparameter transfer" (TP5). Their claim: in SP the best learning rate of a
network moves as it is made wider, so what was tuned on a small model is wrong for a large one; in μP it stays
put ("μTransfer"), and at a fixed learning rate a wider network is better.

The network: an MLP, n^[0] inputs -> `hidden_layers` ReLU layers of width n -> n^[L] outputs (softmax), biases
starting at zero. Its layers, in TP5's words: the *input* weights W^[1] (n x n^[0]: from a finite dimension to the
width), the *hidden* weights W^[2..L-1] (n x n) and the *output* weights W^[L] (n^[L] x n: from the width to a
finite dimension).

TP5 Table 3 ("μP and SP for general neural networks", the form without parameter multipliers), with SP's entry
in parentheses where it differs:

                    input weights & all biases    output weights          hidden weights
    Init. Var.      1/fan_in                      1/fan_in^2 (1/fan_in)   1/fan_in
    SGD LR          fan_out (1)                   1/fan_in (1)            1
    Adam LR         1                             1/fan_in (1)            1/fan_in (1)

The fan_out of a bias is its length, so the biases of the hidden layers (length n) learn at the input weights'
rate, the output bias (length n^[L]) at a rate that does not change with width. TP5 Table 8 is the same
parametrization written with a multiplier: output weights start at variance 1 and are multiplied by 1/fan_in in
the forward pass, and then learn at SGD rate fan_in (Adam: 1). The two are one network: for SGD a multiplier a
on a weight with rate eta is the same as no multiplier, variance a^2 times larger and rate a^2 eta (TP5 sec. J,
the "abc" symmetry; for Adam, rate a eta). This module uses Table 3's form, so the engine's Network and Trainer
compute it unchanged: per-layer initial variances, and per-layer learning rates (Trainer's `lr_scale`).

Only the *scaling with width* is fixed by the table; the constants are free. As in TP5's experiments (and the
`mup` package's base shapes), every ratio is taken against a base width n0, so that at n = n0 μP *is* SP:
with r = n / n0,

    SP     input and hidden W ~ N(0, 2/fan_in) (He, for ReLU), output W ~ N(0, 1/fan_in); every entry learns at eta
    μP     input W   ~ N(0, 2/fan_in),        SGD rate eta r     Adam rate eta
           hidden W  ~ N(0, 2/fan_in),        SGD rate eta       Adam rate eta / r
           output W  ~ N(0, 1/(fan_in r)),    SGD rate eta / r   Adam rate eta / r
           hidden biases                      SGD rate eta r     Adam rate eta
           output bias                        SGD rate eta       Adam rate eta

(1/(fan_in r) = n0 / n^2 is Table 3's 1/fan_in^2 up to the constant n0.) TP5 also allow output weights that start
at zero, `output_init="zero"`: the sweep's default (TransferConfig says why); μP at the base width is SP exactly
only with the table's variance, `output_init="table"`.

Why (TP5 sec. 5, and `coordinate_check` below measures it): after a step of SGD at a fixed rate, in SP the
output logits move by about eta |a^[L-1]|^2 ~ n and the hidden pre-activations by ~ sqrt(n), while the input layer's
move shrinks as 1/sqrt(n); a wider network needs a smaller eta to stay stable, and its input layer then hardly
learns. In μP every layer's pre-activations move by Theta(1) whatever the width: the same eta works at every
width.

    result = transfer_sweep(TransferConfig())      # loss after `steps` against log2 eta, per width, SP and μP
    result.best_log2_lr()                          # (parametrizations, widths)
    check = coordinate_check("sp")                 # RMS of each layer's pre-activations over a few steps
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from explorer import __version__, checks, datasets, initializers, runtime, sweep
from explorer.network import Network
from explorer.training import Trainer

PARAMETRIZATIONS = {"sp": "SP (standard)", "mup": "μP"}
OPTIMIZERS = ("sgd", "adam")
OUTPUT_INITS = ("table", "zero")
OUTPUTS = ("softmax", "linear")  # cross-entropy over the 10 classes, or mean squared error to the one-hot targets
KIND = "mup-transfer"  # the cache's name for a sweep's results (explorer.sweep.save)
MAX_WIDTH = 4096

Progress = Callable[[int, int], None]  # progress(work done, work in all), in parameter-steps


# ---------------------------------------------------------------------------------------------
# The table.


@dataclass(frozen=True)
class LayerScaling:
    """One layer's rule: W^[l] ~ N(0, weight_variance), biases start at 0; with a base learning rate eta, W^[l]
    learns at eta * weight_lr and b^[l] at eta * bias_lr."""

    layer: int  # 1..L
    kind: str  # "input", "hidden" or "output"
    fan_in: int
    fan_out: int
    weight_variance: float
    weight_lr: float
    bias_lr: float


def _check_parametrization(parametrization: str) -> None:
    if parametrization not in PARAMETRIZATIONS:
        raise ValueError(f"parametrization={parametrization!r} is unknown; valid: {', '.join(PARAMETRIZATIONS)}")


def _check_choice(name: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is unknown; valid: {', '.join(allowed)}")


def mlp_sizes(n_in: int, width: int, n_out: int, hidden_layers: int = 2) -> list[int]:
    """[n^[0], n, ..., n, n^[L]]: `hidden_layers` hidden layers of `width` units."""
    checks.count("n_in", n_in, 1)
    checks.count("width", width, 1, MAX_WIDTH)
    checks.count("n_out", n_out, 1)
    checks.count("hidden_layers", hidden_layers, 1, 20)
    return [n_in] + [width] * hidden_layers + [n_out]


def scalings(parametrization: str, sizes: Sequence[int], base_width: int = 64, optimizer: str = "sgd",
             output_init: str = "table") -> list[LayerScaling]:
    """Each layer's initial variance and learning-rate factors (TP5 Table 3; see the module docstring), for an
    MLP `sizes` = [n^[0], n, ..., n, n^[L]] and ratios taken against `base_width` n0 (r = n / n0)."""
    _check_parametrization(parametrization)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("output_init", output_init, OUTPUT_INITS)
    sizes = list(sizes)
    if len(sizes) < 3 or len(set(sizes[1:-1])) != 1:
        raise ValueError(f"sizes={sizes!r} must be [n_in, n, ..., n, n_out]: one or more hidden layers of one width")
    for n in sizes:
        checks.count("every size", n, 1)
    checks.count("base_width", base_width, 1, MAX_WIDTH)
    r = sizes[1] / base_width
    L = len(sizes) - 1
    rules = []
    for l in range(1, L + 1):
        fan_in, fan_out = sizes[l - 1], sizes[l]
        kind = "input" if l == 1 else "output" if l == L else "hidden"
        if kind == "output":
            variance = 1 / fan_in  # SP: LeCun; the logits start with the variance of one input unit
        else:
            variance = 2 / fan_in  # He: ReLU halves the mean square, the factor 2 makes it up
        weight_lr = bias_lr = 1.0
        if parametrization == "mup":
            if kind == "output":
                variance = 0.0 if output_init == "zero" else variance / r  # 1/fan_in^2, up to n0
            if optimizer == "sgd":
                weight_lr = {"input": r, "hidden": 1.0, "output": 1 / r}[kind]  # fan_out, 1, 1/fan_in
                bias_lr = 1.0 if kind == "output" else r  # a bias's fan_out is its length
            else:
                weight_lr = {"input": 1.0, "hidden": 1 / r, "output": 1 / r}[kind]  # 1, 1/fan_in, 1/fan_in
        rules.append(LayerScaling(l, kind, fan_in, fan_out, variance, weight_lr, bias_lr))
    return rules


def network(parametrization: str, sizes: Sequence[int], *, base_width: int = 64, seed: int | Sequence[int] = 0,
            optimizer: str = "sgd", output_init: str = "table", output: str = "softmax",
            dtype: type | str = np.float64) -> tuple[Network, np.ndarray]:
    """A ReLU network with a softmax output drawn by the rule of `scalings`, and the `lr_scale` array (laid out
    like net.params) that gives each entry its learning-rate factor (Trainer(..., lr_scale=...)).

    The weights are the engine's own N(0, 1) draws, multiplied by each layer's standard deviation: the same seed
    gives the same draws under SP and μP, so at the base width the two networks are the same network."""
    rules = scalings(parametrization, sizes, base_width, optimizer, output_init)
    seeds = [seed] if isinstance(seed, (int, np.integer)) else list(seed)
    _check_choice("output", output, OUTPUTS)
    net = Network(sizes, hidden="relu", output=output, init=initializers.normal(1.0), seed=seeds, dtype=dtype)
    lr_scale = np.zeros(net.params.shape)
    Ws, bs = net.views(lr_scale)
    for l, rule in enumerate(rules):
        net.W[l][...] *= math.sqrt(rule.weight_variance)
        Ws[l][...] = rule.weight_lr
        bs[l][...] = rule.bias_lr
    return net, lr_scale


def digits_task(examples: int = 1024, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`examples` of the built-in 8x8 digits (64 standardized inputs, labels 0-9), in an order drawn from `seed`."""
    checks.count("examples", examples, 2, 1797)
    data = datasets.digits()
    order = np.random.default_rng([checks.seed(seed), 7]).permutation(len(data))[:examples]
    X = datasets.Standardizer.fit(data.X)(data.X)[order]
    return X, data.y[order]


# ---------------------------------------------------------------------------------------------
# The sweep: loss after a fixed budget against the learning rate, per width.


@dataclass(frozen=True)
class TransferConfig:
    """Everything that decides the numbers of a width-transfer sweep (and so its cache key).

    For each parametrization and width: one stack of networks, one per base learning rate eta = 2^log2_lr (the
    same initial weights for all, from `seed`), trained with `optimizer` for `steps` minibatches of `batch_size`
    from `examples` digits; the cost on all `examples` at the end is the curve's point.

    The defaults were chosen by measurement (benchmarks/bench_mup.py): with a softmax and cross-entropy the digits
    are learned almost perfectly by every width within the budget and the logits' overshoot in SP costs little
    (cross-entropy's gradient is bounded), so neither parametrization's best rate moves; with the mean squared error
    to the one-hot labels (`output="linear"`) a step that overshoots is punished and SP's best rate falls with
    width. μP's output layer starts at zero (`output_init="zero"`, which TP5 allow): with Table 3's variance
    n0/n^2 its best rate crept up by about one grid step from width 64 to 512 (the base network's random initial
    outputs are an error the wider ones do not start with); from zero it stays at the same grid point.
    """

    widths: tuple[int, ...] = (64, 128, 256, 512)
    log2_lr: tuple[float, ...] = tuple(float(x) for x in range(-8, 3))
    parametrizations: tuple[str, ...] = ("sp", "mup")
    base_width: int = 64
    hidden_layers: int = 2
    optimizer: str = "sgd"
    output_init: str = "zero"
    output: str = "linear"
    examples: int = 1024
    steps: int = 100
    batch_size: int = 64
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        if not self.widths or len(self.widths) > 16:
            raise ValueError(f"widths={self.widths!r} must hold 1 to 16 widths")
        for width in self.widths:
            checks.count("every width", width, 1, MAX_WIDTH)
        if not self.log2_lr or len(self.log2_lr) > 64:
            raise ValueError(f"log2_lr={self.log2_lr!r} must hold 1 to 64 values")
        for value in self.log2_lr:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not -30 <= value <= 10:
                raise ValueError(f"every log2_lr must be a number from -30 to 10, not {value!r}")
        if not self.parametrizations or len(set(self.parametrizations)) != len(self.parametrizations):
            raise ValueError(f"parametrizations={self.parametrizations!r} must name sp and/or mup, each once")
        for p in self.parametrizations:
            _check_parametrization(p)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_choice("output_init", self.output_init, OUTPUT_INITS)
        _check_choice("output", self.output, OUTPUTS)
        _check_choice("dtype", self.dtype, ("float32", "float64"))
        checks.count("base_width", self.base_width, 1, MAX_WIDTH)
        checks.count("hidden_layers", self.hidden_layers, 1, 20)
        checks.count("examples", self.examples, 2, 1797)
        checks.count("steps", self.steps, 0, 100_000)
        checks.count("batch_size", self.batch_size, 1, 1797)
        checks.seed(self.seed)
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "log2_lr", tuple(float(v) for v in self.log2_lr))
        object.__setattr__(self, "parametrizations", tuple(self.parametrizations))

    def as_dict(self) -> dict:
        """The configuration as JSON-ready values, with the package version (part of the cache key)."""
        return {**{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()},
                "explorer_version": __version__}

    @property
    def lrs(self) -> np.ndarray:
        return 2.0 ** np.asarray(self.log2_lr)


@dataclass
class TransferResult:
    """loss, initial_loss, diverged: (parametrizations, widths, learning rates), in the configuration's orders.

    loss: the training cost on all `examples` after `steps` (NaN where the run diverged).
    from_cache: read back from disk.  seconds: the computing time of the original run.
    """

    config: TransferConfig
    loss: np.ndarray
    initial_loss: np.ndarray
    diverged: np.ndarray
    from_cache: bool = False
    seconds: float = 0.0
    path: Path | None = field(default=None, repr=False)

    def best_index(self) -> np.ndarray:
        """(parametrizations, widths): the index of the learning rate with the lowest loss (-1: all diverged)."""
        finite = np.where(np.isfinite(self.loss), self.loss, np.inf)
        best = finite.argmin(axis=-1)
        return np.where(np.isfinite(finite.min(axis=-1)), best, -1)

    def best_log2_lr(self) -> np.ndarray:
        """(parametrizations, widths): log2 of the best base learning rate (NaN where every rate diverged)."""
        grid = np.asarray(self.config.log2_lr)
        index = self.best_index()
        return np.where(index >= 0, grid[np.maximum(index, 0)], np.nan)

    def curve(self, parametrization: str, width: int) -> np.ndarray:
        """The loss against log2_lr of one parametrization and width."""
        return self.loss[self.config.parametrizations.index(parametrization), self.config.widths.index(width)]


def _check_config(config: TransferConfig) -> None:
    if not isinstance(config, TransferConfig):
        raise TypeError(f"config={config!r} must be a TransferConfig")


def _parameters(config: TransferConfig, width: int) -> int:
    """Weights and biases of one network of the sweep: what a step of it costs, about."""
    sizes = mlp_sizes(64, width, 10, config.hidden_layers)
    return sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


class WidthRun:
    """The stack of one (parametrization, width) of a sweep, trained a few steps at a time (`advance`).

    Trains through Trainer's own step (forward_backward, update) without its snapshots: a snapshot copies every
    weight, and a sweep reads only the final cost."""

    def __init__(self, config: TransferConfig, parametrization: str, width: int) -> None:
        _check_config(config)
        _check_parametrization(parametrization)
        checks.count("width", width, 1, MAX_WIDTH)
        self.config = config
        self.X, self.y = digits_task(config.examples, config.seed)
        K = len(config.log2_lr)
        sizes = mlp_sizes(self.X.shape[1], width, 10, config.hidden_layers)
        self.net, lr_scale = network(parametrization, sizes, base_width=config.base_width, seed=[config.seed] * K,
                                     optimizer=config.optimizer, output_init=config.output_init,
                                     output=config.output, dtype=config.dtype)
        if config.output == "linear":
            self.y = np.eye(10)[self.y]  # one-hot targets for the mean squared error
        self.trainer = Trainer(self.net, self.X, self.y, lr=config.lrs, optimizer=config.optimizer,
                               batch_size=config.batch_size, seed=config.seed, lr_scale=lr_scale)
        self.Y = self.net.check_targets(self.y, len(self.y))
        with np.errstate(all="ignore"):
            self.initial_loss = np.array(self.net.cost(self.X, self.Y), dtype=np.float64)

    @property
    def steps_left(self) -> int:
        """Steps of the budget still to train (0 once every rate diverged: the rest would change nothing)."""
        return self.config.steps - self.trainer.step if self.trainer.any_active else 0

    def advance(self, steps: int) -> int:
        """Train up to `steps` more steps (fewer at the end of the budget); return how many were trained."""
        trainer = self.trainer
        count = min(steps, self.steps_left)
        with trainer.blas_limit(), np.errstate(all="ignore"):
            for _ in range(count):
                _, bwd, _ = trainer.forward_backward(trainer.next_batch())
                trainer.update(bwd)
        return count

    def result(self) -> dict[str, np.ndarray]:
        """Per learning rate: loss (NaN where diverged), initial_loss and diverged."""
        with np.errstate(all="ignore"):
            loss = np.array(self.net.cost(self.X, self.Y), dtype=np.float64)
        diverged = (self.trainer.diverged_at >= 0) | ~np.isfinite(loss)
        return {"loss": np.where(diverged, np.nan, loss), "initial_loss": self.initial_loss, "diverged": diverged}


def train_width(config: TransferConfig, parametrization: str, width: int) -> dict[str, np.ndarray]:
    """Train one (parametrization, width) of the sweep to the end of its budget; see WidthRun.result."""
    run = WidthRun(config, parametrization, width)
    run.advance(config.steps)
    return run.result()


class TransferSweep:
    """A sweep that runs in small pieces, so a dashboard can show its progress and cancel it between two.

        work = TransferSweep(config, directory=...)
        while work.advance():           # one piece: `chunk_steps` steps of one stack
            show(work.done, work.total)
        work.result                     # a TransferResult, stored in the cache (unless cache=False)

    The stacks run narrowest first (so progress shows early); `done` and `total` count parameter-steps, so the
    progress bar moves evenly although a wide stack costs more a step. A configuration computed before is read
    back at once: `result` is set from the start. Stop at any time by no longer calling `advance` (nothing is
    stored then).
    """

    def __init__(self, config: TransferConfig | None = None, *, cache: bool = True, directory=None,
                 chunk_steps: int = 5) -> None:
        self.config = config if config is not None else TransferConfig()
        _check_config(self.config)
        self.chunk_steps = checks.count("chunk_steps", chunk_steps, 1)
        self.cache, self.directory = cache, directory
        c = self.config
        self.jobs = [(p, w) for w in sorted(c.widths) for p in c.parametrizations]
        self.costs = [_parameters(c, w) * len(c.log2_lr) for _, w in self.jobs]
        self.total = sum(self.costs) * c.steps
        self.done = 0
        self.result: TransferResult | None = cached_transfer_sweep(c, directory) if cache else None
        if self.result is not None:
            self.done = self.total
        shape = (len(c.parametrizations), len(c.widths), len(c.log2_lr))
        self.out = {name: np.full(shape, np.nan) for name in ("loss", "initial_loss")}
        self.out["diverged"] = np.zeros(shape, dtype=bool)
        self.job = 0
        self.run: WidthRun | None = None
        self.seconds = 0.0

    @property
    def finished(self) -> bool:
        return self.result is not None

    def advance(self) -> bool:
        """Train one piece; True while work remains (False once `result` is set)."""
        if self.result is not None:
            return False
        began = time.perf_counter()
        c = self.config
        if self.run is None:
            parametrization, width = self.jobs[self.job]
            self.run = WidthRun(c, parametrization, width)
        trained = self.run.advance(self.chunk_steps)
        self.done += trained * self.costs[self.job]
        if self.run.steps_left <= 0:
            parametrization, width = self.jobs[self.job]
            index = (c.parametrizations.index(parametrization), c.widths.index(width))
            for name, values in self.run.result().items():
                self.out[name][index] = values
            self.done = sum(self.costs[: self.job + 1]) * c.steps  # a stack that diverged whole ends early
            self.run = None
            self.job += 1
        self.seconds += time.perf_counter() - began
        if self.job == len(self.jobs):
            self._finish()
            return False
        return True

    def _finish(self) -> None:
        c = self.config
        path = sweep.save(KIND, c.as_dict(), self.out, self.directory, extra={"seconds": self.seconds}) \
            if self.cache else None
        self.result = TransferResult(c, self.out["loss"], self.out["initial_loss"], self.out["diverged"],
                                     from_cache=False, seconds=self.seconds, path=path)


def transfer_sweep(config: TransferConfig | None = None, *, progress: Progress | None = None,
                   should_stop: Callable[[], bool] | None = None, n_jobs: int = 1, client=None, cache: bool = True,
                   directory=None) -> TransferResult | None:
    """The sweep for `config`, read from the cache if it was computed before; None if `should_stop()` said so.

    progress(done, total) is called as the work goes on (in parameter-steps). should_stop() is asked between
    pieces (in this process only). n_jobs: joblib workers on this machine, one (parametrization, width) stack each;
    client: a dask.distributed.Client, whose workers then take the stacks (joblib's "dask" backend). The numbers
    are the same bit for bit whichever way the work is spread.

    Bigger sweeps: TransferConfig(widths=(64, 128, 256, 512, 1024, 2048), steps=1000), n_jobs=-1 or a client.
    """
    config = config if config is not None else TransferConfig()
    _check_config(config)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer, or -1 for every core")
    n_jobs, client, note = runtime.workers(n_jobs, client)  # in a browser page: in this process, with a note
    if note:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    work = TransferSweep(config, cache=cache, directory=directory)
    if progress:
        progress(work.done, work.total)
    if work.finished:
        return work.result
    if n_jobs == 1 and client is None:
        while work.advance():
            if progress:
                progress(work.done, work.total)
            if should_stop is not None and should_stop():
                return None
        if progress:
            progress(work.total, work.total)
        return work.result
    began = time.perf_counter()
    for job, row in _run_jobs(config, work.jobs, n_jobs, client):
        parametrization, width = work.jobs[job]
        index = (config.parametrizations.index(parametrization), config.widths.index(width))
        for name, values in row.items():
            work.out[name][index] = values
        work.done += work.costs[job] * config.steps
        if progress:
            progress(work.done, work.total)
    work.seconds = time.perf_counter() - began
    work._finish()
    return work.result


def _indexed(config: TransferConfig, job: int, parametrization: str, width: int) -> tuple[int, dict]:
    return job, train_width(config, parametrization, width)


def _run_jobs(config: TransferConfig, jobs: list[tuple[str, int]], n_jobs: int, client) -> Iterator:
    import joblib

    if client is not None:
        backend = joblib.parallel_config(backend="dask", client=client)
        n_jobs = -1
    else:
        backend = contextlib.nullcontext()
    order = sorted(range(len(jobs)), key=lambda j: jobs[j][1], reverse=True)  # widest first: they take longest
    with backend:
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from parallel(joblib.delayed(_indexed)(config, j, *jobs[j]) for j in order)


def cached_transfer_sweep(config: TransferConfig, directory=None) -> TransferResult | None:
    """The stored sweep for `config`, or None if it was never computed (nothing is trained here)."""
    _check_config(config)
    key = config.as_dict()
    stored = sweep.load(KIND, key, directory)
    if stored is None:
        return None
    npz, meta = sweep.cache_paths(KIND, key, directory)
    try:
        seconds = float(json.loads(meta.read_text()).get("seconds", 0.0))
    except (OSError, ValueError):
        seconds = 0.0
    return TransferResult(config, stored["loss"], stored["initial_loss"], stored["diverged"], from_cache=True,
                          seconds=seconds, path=npz)


# ---------------------------------------------------------------------------------------------
# The coordinate check (TP5 sec. 5 and app. D.1; the `mup` package's "coord check").


@dataclass
class CoordinateCheck:
    """How big each layer's pre-activations are over the first steps of training, against width.

    rms[w, t, l]: the root mean square of Z^[l+1] (every unit, every example, averaged over the seeds) at step t
    for widths[w]; change[w, t, l]: the same of Z^[l+1]_t - Z^[l+1]_0, what t steps of training moved it.
    Layers: the input layer's h^[1] = W^[1] x, the hidden layers' h^[l], and the output logits.
    """

    parametrization: str
    widths: np.ndarray
    layers: list[str]
    rms: np.ndarray
    change: np.ndarray
    log2_lr: float

    def slopes(self, step: int = 1, of: str = "change") -> np.ndarray:
        """Per layer: the least-squares slope of log2(`of` at `step`) against log2(width): the exponent p of
        size ~ n^p. TP5's scaling argument (module docstring) predicts, after one SGD step, 0 for every layer
        in μP; in SP -1/2 for the input layer, +1/2 for the hidden layers and +1 for the logits."""
        _check_choice("of", of, ("change", "rms"))
        checks.count("step", step, 0, self.rms.shape[1] - 1)
        values = getattr(self, of)[:, step, :]
        x = np.log2(self.widths.astype(float))
        return np.polyfit(x, np.log2(values), 1)[0]


def expected_slopes(parametrization: str, hidden_layers: int = 2) -> np.ndarray:
    """The exponents p of change ~ n^p after one SGD step that the scaling argument predicts (see
    CoordinateCheck.slopes): μP all 0; SP -1/2 (input layer), +1/2 (hidden layers), +1 (logits)."""
    _check_parametrization(parametrization)
    checks.count("hidden_layers", hidden_layers, 1, 20)
    if parametrization == "mup":
        return np.zeros(hidden_layers + 1)
    return np.array([-0.5] + [0.5] * (hidden_layers - 1) + [1.0])


def layer_names(hidden_layers: int) -> list[str]:
    """The coordinate check's layer labels: "input layer h¹", "hidden h²", ..., "output logits"."""
    checks.count("hidden_layers", hidden_layers, 1, 20)
    supers = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return (["input layer h¹"] + [f"hidden h{str(l).translate(supers)}" for l in range(2, hidden_layers + 1)]
            + ["output logits"])


def coordinate_check(parametrization: str, widths: Sequence[int] = (64, 128, 256, 512, 1024), *,
                     log2_lr: float = -3.0, steps: int = 4, seeds: int = 2, base_width: int = 64,
                     hidden_layers: int = 2, optimizer: str = "sgd", output_init: str = "table", examples: int = 64,
                     seed: int = 0) -> CoordinateCheck:
    """Train `seeds` networks of each width for `steps` full-batch steps at base rate 2^log2_lr on `examples`
    digits (softmax and cross-entropy: the scaling argument holds for any loss whose gradient at the logits is
    O(1)), and record each layer's pre-activation size at every step 0..steps (see CoordinateCheck).

    TP5's test of an implementation of μP: the sizes are flat in width under μP, and some grow (or shrink) under SP.
    """
    _check_parametrization(parametrization)
    if isinstance(widths, (str, int)) or len(widths) < 2:
        raise ValueError(f"widths={widths!r} must hold at least two widths (a slope needs two points)")
    widths = [checks.count("every width", w, 1, MAX_WIDTH) for w in widths]
    if isinstance(log2_lr, bool) or not isinstance(log2_lr, (int, float, np.integer, np.floating)) \
            or not -30 <= log2_lr <= 10:
        raise ValueError(f"log2_lr={log2_lr!r} must be a number from -30 to 10")
    checks.count("steps", steps, 0, 100)
    checks.count("seeds", seeds, 1, 64)
    X, y = digits_task(examples, seed)
    L = hidden_layers + 1
    rms = np.zeros((len(widths), steps + 1, L))
    change = np.zeros_like(rms)
    for i, width in enumerate(widths):
        sizes = mlp_sizes(X.shape[1], width, 10, hidden_layers)
        seed_list = [int(s) for s in np.random.SeedSequence([seed, width]).generate_state(seeds)]
        net, lr_scale = network(parametrization, sizes, base_width=base_width, seed=seed_list, optimizer=optimizer,
                                output_init=output_init)
        trainer = Trainer(net, X, y, lr=2.0**log2_lr, optimizer=optimizer, lr_scale=lr_scale)
        first = None
        with trainer.blas_limit(), np.errstate(all="ignore"):
            for t in range(steps + 1):
                fwd, bwd, _ = trainer.forward_backward(None)
                Z = [z.astype(np.float64) for z in fwd.Z]  # (K, m, n^[l]) copies: the buffers are reused
                first = Z if first is None else first
                for l in range(L):
                    rms[i, t, l] = np.sqrt(np.mean(Z[l] ** 2, axis=(1, 2))).mean()
                    change[i, t, l] = np.sqrt(np.mean((Z[l] - first[l]) ** 2, axis=(1, 2))).mean()
                if t < steps:
                    trainer.update(bwd)
    return CoordinateCheck(parametrization, np.array(widths), layer_names(hidden_layers), rms, change,
                           float(log2_lr))
