"""Many independent training runs, spread over an existing engine and cached on disk.

The trainability map of Schoenholz et al. (2017, "Deep information propagation", fig. 5): networks of every
depth in a list and every weight variance sigma_w^2 in another, each trained for a fixed number of steps from
its random start; the cost left at the end shows which (depth, sigma_w^2) can be trained. The mean-field theory
(explorer.theory) predicts the boundary: depth of about 6 xi_c.

    result = trainability_map(TrainabilityConfig(depths=(2, 8, 16), sigma_w2=(1.0, 1.76, 3.0)))
    result.cost        # (depths, sigma_w2)

How the work is spread:
- one Network per depth, with all the sigma_w^2 values as its stacked models (K = len(sigma_w2)): one
  vectorised training run gives the whole row;
- the depths are independent jobs for joblib: `n_jobs=1` runs them one after the other in this process,
  `n_jobs=2` on two local worker processes, and `client=<dask.distributed.Client>` sends them to a Dask
  cluster through joblib's "dask" backend. One code path; no scheduler of our own.
- the result is stored under a hash of the full configuration (see `cache_key`), in `cache_directory()`:
  the same configuration a second time is read back, not recomputed.

Every run is seeded from (seed, depth, model), so the numbers are the same bit for bit whichever way the work
is spread (a model trains the same alone or in a stack).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from explorer import __version__, checks, datasets, initializers, runtime
from explorer.network import Network
from explorer.training import Trainer

CACHE_ENV = "EXPLORER_CACHE_DIR"
CACHE_FORMAT = 1  # bump when what is stored for a configuration changes meaning
DATASETS = ("digits",) + datasets.TOY_SETS
ACTIVATIONS = ("tanh", "relu", "linear")
OPTIMIZERS = ("sgd", "momentum", "adam")

Progress = Callable[[int, int], None]  # progress(runs done, runs in all)


# ---------------------------------------------------------------------------------------------
# The cache: one .npz of arrays and one .json of the configuration per result.


def _check_kind(kind: str, config: Mapping) -> None:
    """A kind is part of a file name (letters, digits, - and _); a configuration is a mapping of JSON values."""
    if not isinstance(kind, str) or not kind or not all(c.isalnum() or c in "-_" for c in kind):
        raise ValueError(f"kind={kind!r} must be a non-empty name of letters, digits, - and _")
    if not isinstance(config, Mapping):
        raise TypeError(f"config={config!r} must be a mapping (a dict of JSON values), not {type(config).__name__}")
    try:
        json.dumps(config, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"config={config!r} must hold JSON values only (finite numbers): {error}") from None


def cache_directory(path: str | os.PathLike | None = None) -> Path:
    """Where results are kept: `path`, else $EXPLORER_CACHE_DIR, else $XDG_CACHE_HOME/explorer, else
    ~/.cache/explorer. In a browser page (Pyodide) that is in the page's memory: kept while the page is open,
    gone when it is closed or reloaded."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path={path!r} must be a str or a path (os.PathLike), not {type(path).__name__}")
        return Path(path)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "explorer"


def cache_key(kind: str, config: Mapping) -> str:
    """sha256 of the kind, the cache format and the configuration written as canonical JSON (sorted keys).

    Any change to any field gives another key; the package version is part of the configuration that
    `TrainabilityConfig.as_dict` writes, so a new engine never reads an old engine's numbers."""
    _check_kind(kind, config)
    text = json.dumps({"kind": kind, "format": CACHE_FORMAT, "config": config}, sort_keys=True,
                      separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def cache_paths(kind: str, config: Mapping, directory: str | os.PathLike | None = None) -> tuple[Path, Path]:
    """The .npz and .json files a result of `kind` with `config` is stored in."""
    stem = cache_directory(directory) / f"{kind}-{cache_key(kind, config)}"
    return stem.with_suffix(".npz"), stem.with_suffix(".json")


def load(kind: str, config: Mapping, directory: str | os.PathLike | None = None) -> dict[str, np.ndarray] | None:
    """The stored arrays for this configuration, or None if there are none (or they cannot be read)."""
    npz, meta = cache_paths(kind, config, directory)
    if not (npz.exists() and meta.exists()):
        return None
    try:
        if json.loads(meta.read_text())["config"] != json.loads(json.dumps(config)):
            return None  # a hash collision, or a file edited by hand: recompute
        with np.load(npz, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, KeyError):
        return None


def save(kind: str, config: Mapping, arrays: Mapping[str, np.ndarray],
         directory: str | os.PathLike | None = None, extra: Mapping | None = None) -> Path:
    """Store the arrays and the configuration; each file is written whole or not at all (temporary file, then
    rename), so a reader never sees half a result. `extra` (timings, say) goes into the JSON only."""
    if not isinstance(arrays, Mapping) or not all(isinstance(name, str) for name in arrays):
        raise TypeError(f"arrays={arrays!r} must be a mapping of names to numpy arrays")
    npz, meta = cache_paths(kind, config, directory)
    npz.parent.mkdir(parents=True, exist_ok=True)
    for path, write in ((npz, lambda f: np.savez(f, **arrays)),
                        (meta, lambda f: f.write(json.dumps({"kind": kind, "config": config, **(extra or {})},
                                                            indent=1, sort_keys=True).encode()))):
        handle, temporary = tempfile.mkstemp(dir=npz.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(handle, "wb") as f:
                write(f)
            os.replace(temporary, path)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return npz


# ---------------------------------------------------------------------------------------------
# The trainability map.


@dataclass(frozen=True)
class TrainabilityConfig:
    """Everything that decides the numbers of a trainability map (and so its cache key).

    Networks: [n_in] + [width] * depth + [n_out], `activation` in every hidden layer, W ~ N(0, sigma_w^2 / fan_in)
    (variance_scaling), b ~ N(0, sigma_b^2). Trained with `optimizer` at `lr` for `steps` minibatches of
    `batch_size` drawn from `examples` examples of `dataset` (digits: standardized 8x8 digits, 10 classes; a toy
    set: 2-D, 2 classes).
    """

    activation: str = "tanh"
    sigma_b2: float = 0.05
    sigma_w2: tuple[float, ...] = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0, 8.0)
    depths: tuple[int, ...] = (2, 4, 8, 16, 32, 48)
    width: int = 32
    dataset: str = "digits"
    examples: int = 512
    steps: int = 200
    lr: float = 0.01
    optimizer: str = "sgd"
    batch_size: int = 64
    seed: int = 0

    def __post_init__(self) -> None:
        def number(name, value, low, high):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"{name}={value!r} must be a number from {low} to {high}")

        for name, value, allowed in (("activation", self.activation, ACTIVATIONS),
                                     ("dataset", self.dataset, DATASETS), ("optimizer", self.optimizer, OPTIMIZERS)):
            if value not in allowed:
                raise ValueError(f"{name}={value!r} is unknown; valid: {', '.join(allowed)}")
        number("sigma_b2", self.sigma_b2, 0.0, 100.0)
        number("lr", self.lr, 1e-8, 100.0)
        if not self.sigma_w2 or len(self.sigma_w2) > 200 or not self.depths or len(self.depths) > 200:
            raise ValueError("sigma_w2 and depths must each hold 1 to 200 values")
        for value in self.sigma_w2:
            number("every sigma_w2", value, 1e-6, 100.0)
        for value in self.depths:
            checks.count("every depth", value, 1, 500)
        checks.count("width", self.width, 1, 2048)
        checks.count("examples", self.examples, 2, 100_000)
        checks.count("steps", self.steps, 0, 1_000_000)
        checks.count("batch_size", self.batch_size, 1, 100_000)
        checks.count("seed", self.seed, 0, 2**32 - 1)
        # Floats and ints as plain Python numbers, so the JSON (and so the key) does not depend on their type.
        object.__setattr__(self, "sigma_w2", tuple(float(v) for v in self.sigma_w2))
        object.__setattr__(self, "depths", tuple(int(v) for v in self.depths))
        for name in ("sigma_b2", "lr"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def as_dict(self) -> dict:
        """The configuration as JSON-ready values, with the package version."""
        return {**{k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()},
                "explorer_version": __version__}


@dataclass
class TrainabilityMap:
    """cost, accuracy, diverged: (len(depths), len(sigma_w2)); row i is depths[i].

    cost: training cost on all `examples` after `steps` (NaN where the run diverged).
    accuracy: fraction classified right on them (NaN where diverged).  initial_cost: the same before training.
    from_cache: read back from disk rather than computed.  seconds: computing time (of the original run).
    """

    config: TrainabilityConfig
    cost: np.ndarray
    accuracy: np.ndarray
    initial_cost: np.ndarray
    diverged: np.ndarray
    from_cache: bool = False
    seconds: float = 0.0
    path: Path | None = field(default=None, repr=False)


def _check_config(config: TrainabilityConfig) -> None:
    if not isinstance(config, TrainabilityConfig):
        raise TypeError(f"config={config!r} must be a TrainabilityConfig")


def _check_depth(depth: int) -> None:
    """A depth of the map: a count of hidden layers, from 1 to 500."""
    checks.count("depth", depth, 1, 500)


def task_data(config: TrainabilityConfig) -> tuple[np.ndarray, np.ndarray, str]:
    """Inputs, labels and output layer of the configuration's task (the same arrays every time)."""
    _check_config(config)
    if config.dataset == "digits":
        data = datasets.digits()
        order = np.random.default_rng([config.seed, 7]).permutation(len(data))[: config.examples]
        X = datasets.Standardizer.fit(data.X)(data.X)[order]
        return X, data.y[order], "softmax"
    data = datasets.toy(config.dataset, n=config.examples, noise=0.1, seed=config.seed)
    return datasets.Standardizer.fit(data.X)(data.X), data.y, "sigmoid"


def model_seeds(config: TrainabilityConfig, depth: int) -> list[int]:
    """The seed of each model (one per sigma_w^2) of a depth: from (seed, depth), the same wherever it runs."""
    _check_config(config)
    _check_depth(depth)
    return [int(s) for s in np.random.SeedSequence([config.seed, depth]).generate_state(len(config.sigma_w2))]


def train_depth(config: TrainabilityConfig, depth: int) -> dict[str, np.ndarray]:
    """Train one stacked network per depth: its K models are the sigma_w^2 values. Returns per-model arrays
    cost, accuracy, initial_cost and diverged (shape K)."""
    _check_depth(depth)
    X, y, output = task_data(config)
    n_out = 10 if output == "softmax" else 1
    bias = initializers.normal(math.sqrt(config.sigma_b2)) if config.sigma_b2 > 0 else initializers.zeros()
    net = Network([X.shape[1]] + [config.width] * depth + [n_out], hidden=config.activation, output=output,
                  init=[initializers.variance_scaling(s, "fan_in") for s in config.sigma_w2], bias_init=bias,
                  seed=model_seeds(config, depth))
    trainer = Trainer(net, X, y, lr=config.lr, optimizer=config.optimizer, batch_size=config.batch_size,
                      seed=config.seed)
    Y = net.check_targets(y, len(y))
    with np.errstate(all="ignore"):  # copies: the engine may reuse its buffers on the next pass
        initial = np.array(net.cost(X, Y))
        trainer.run(config.steps)
        cost = np.array(net.cost(X, Y))
        accuracy = np.array(net.accuracy(net.predict(X), Y))
    diverged = (trainer.diverged_at >= 0) | ~np.isfinite(cost)
    return {"cost": np.where(diverged, np.nan, cost), "accuracy": np.where(diverged, np.nan, accuracy),
            "initial_cost": initial, "diverged": diverged}


def trainability_map(config: TrainabilityConfig | None = None, *, progress: Progress | None = None,
                     n_jobs: int = 1, client=None, cache: bool = True,
                     directory: str | os.PathLike | None = None) -> TrainabilityMap:
    """The trainability map for `config`, read from the cache if it was computed before.

    progress(done, total) is called with the number of trained models (len(sigma_w2) per finished depth).
    n_jobs: joblib workers on this machine (1: in this process). client: a dask.distributed.Client; the depths
    then run on its workers through joblib's "dask" backend (n_jobs is ignored).
    """
    config = config or TrainabilityConfig()
    _check_config(config)
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs={n_jobs!r} must be a positive integer, or -1 for every core")
    key = config.as_dict()
    rows, K = len(config.depths), len(config.sigma_w2)
    total = rows * K
    if cache:
        stored = cached_trainability_map(config, directory)
        if stored is not None:
            if progress:
                progress(total, total)
            return stored
    began = time.perf_counter()
    out = {name: np.full((rows, K), np.nan) for name in ("cost", "accuracy", "initial_cost")}
    out["diverged"] = np.zeros((rows, K), dtype=bool)
    if progress:
        progress(0, total)
    done = 0
    for i, row in run_depths(config, n_jobs=n_jobs, client=client):
        for name, values in row.items():
            out[name][i] = values
        done += K
        if progress:
            progress(done, total)
    seconds = time.perf_counter() - began
    path = save("trainability", key, out, directory, extra={"seconds": seconds}) if cache else None
    return TrainabilityMap(config, out["cost"], out["accuracy"], out["initial_cost"], out["diverged"],
                           from_cache=False, seconds=seconds, path=path)


def cached_trainability_map(config: TrainabilityConfig,
                            directory: str | os.PathLike | None = None) -> TrainabilityMap | None:
    """The stored map for `config`, or None if it was never computed (nothing is trained here)."""
    _check_config(config)
    key = config.as_dict()
    stored = load("trainability", key, directory)
    if stored is None:
        return None
    npz, meta = cache_paths("trainability", key, directory)
    try:
        seconds = float(json.loads(meta.read_text()).get("seconds", 0.0))
    except (OSError, ValueError):
        seconds = 0.0
    return TrainabilityMap(config, stored["cost"], stored["accuracy"], stored["initial_cost"], stored["diverged"],
                           from_cache=True, seconds=seconds, path=npz)


def _indexed(config: TrainabilityConfig, i: int) -> tuple[int, dict[str, np.ndarray]]:
    return i, train_depth(config, config.depths[i])


def run_depths(config: TrainabilityConfig, n_jobs: int = 1, client=None):
    """Yield (row index, train_depth result) for every depth as it finishes, through joblib.

    In one process the shallow networks go first, so progress shows early; with several workers the deepest go
    first, so that the longest jobs do not start last while the other workers wait."""
    _check_config(config)  # at the call: a generator's body runs nothing until its first next()
    n_jobs, client, note = runtime.workers(n_jobs, client)  # in a browser page: in this process, with a note
    if note:
        warnings.warn(note, RuntimeWarning, stacklevel=2)
    return _run_depths(config, n_jobs, client)


def _run_depths(config: TrainabilityConfig, n_jobs: int, client):
    if runtime.IN_BROWSER:  # one after another in the page, with no joblib (a package the page would download)
        yield from (_indexed(config, i) for i in sorted(range(len(config.depths)), key=lambda i: config.depths[i]))
        return
    import joblib

    if client is not None:
        backend = joblib.parallel_config(backend="dask", client=client)
        n_jobs = -1
    else:
        backend = contextlib.nullcontext()
    order = sorted(range(len(config.depths)), key=lambda i: config.depths[i], reverse=n_jobs != 1)
    with backend:
        parallel = joblib.Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        yield from parallel(joblib.delayed(_indexed)(config, i) for i in order)


def xi_c_line(config: TrainabilityConfig, factor: float = 6.0, sigma_w2: Sequence[float] | None = None,
              quadrature: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(sigma_w^2, factor * xi_c) for the configuration's activation and sigma_b^2: the depth below which
    Schoenholz et al. found networks trainable. sigma_w2: where to evaluate it (default: 80 values across the
    map). quadrature: Gauss-Hermite nodes per dimension (40: xi_c within about 1e-3 relative, and quick)."""
    from explorer import theory

    _check_config(config)
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.integer, np.floating)) \
            or not 0 < factor < math.inf:
        raise ValueError(f"factor={factor!r} must be a positive finite number (the depth is factor * xi_c)")

    sw = np.asarray(sigma_w2 if sigma_w2 is not None else
                    np.linspace(min(config.sigma_w2), max(config.sigma_w2), 80), dtype=np.float64)
    return sw, factor * theory.mean_field(sw, config.sigma_b2, config.activation, points=quadrature).xi_c
