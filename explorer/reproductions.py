"""The numbers behind the initializer zoo and the paper reproductions, scaled to a laptop.

Each function returns the data a figure shows; the notebooks and apps only draw it.

    zoo_network(...)       one network under every initializer of the zoo, stacked (K models)
    glorot_bengio(...)     Glorot & Bengio (2010), figures 6 and 7: activation and back-propagated
                           gradient histograms per layer of a 5-hidden-layer tanh network,
                           "standard" against "normalized" initialization
    he_plain_relu(...)     He et al. (2015), figure 3: a deep plain ReLU network, Xavier against He
    cs231n_tanh(...)       the cs231n experiment: 10 tanh layers of 500 units, per-layer activation
                           statistics for 0.01 * randn, 1.0 * randn and Xavier
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from explorer import checks, datasets, initializers
from explorer.initializers import Initializer
from explorer.network import Network
from explorer.starts import CATALOGUE, Start
from explorer.training import Trainer


def one_blas_thread(function):
    """Run `function` with BLAS held to one thread: these products are small, and on a machine shared with
    a browser a second BLAS thread spins against everything else (see Trainer.blas_limit)."""
    if not callable(function):
        raise TypeError(f"function={function!r} must be callable")

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return wrapper


# ---------------------------------------------------------------------------------------------
# The initializer zoo: one network, every start, trained side by side.


@dataclass(frozen=True)
class ZooStart:
    """One start of the zoo: its start in the catalogue (explorer.starts), a label for legends, a colour, and
    where it comes from."""

    start: Start
    color: str

    @property
    def label(self) -> str:
        return self.start.label

    @property
    def reference(self) -> str:
        return self.start.reference


# zoo key: its start in the catalogue, and its colour.
ZOO: dict[str, ZooStart] = {
    "orthogonal": ZooStart(CATALOGUE["orthogonal"], "#9467bd"),
    "identity": ZooStart(CATALOGUE["identity"], "#8c564b"),
    "truncated_normal": ZooStart(CATALOGUE["truncated_normal"], "#e377c2"),
    "lecun": ZooStart(CATALOGUE["lecun"], "#17becf"),
    "xavier": ZooStart(CATALOGUE["glorot_normal"], "#1f77b4"),
    "he": ZooStart(CATALOGUE["he"], "#2ca02c"),
    "lsuv": ZooStart(CATALOGUE["lsuv"], "#d62728"),
}


def zoo_initializer(key: str, activation: str) -> Initializer:
    """The initializer of zoo start `key` for a network of `activation` units.

    Orthogonal and truncated normal use the gain of the activation (``initializers.gain``), as
    ``torch.nn.init`` recommends; LeCun, Xavier and He are the plain named schemes. LSUV starts
    from an orthonormal draw (gain 1); ``zoo_network`` then rescales it on data.
    """
    if key not in ZOO:
        raise ValueError(f"start={key!r} is unknown; valid: {', '.join(ZOO)}")
    start = ZOO[key].start
    if key in ("orthogonal", "truncated_normal"):
        return start.make(initializers.gain(activation))
    return start.make()


@one_blas_thread
def zoo_network(
    sizes: Sequence[int],
    hidden: str,
    output: str,
    X: np.ndarray,
    starts: Sequence[str] = tuple(ZOO),
    seed: int = 0,
    lsuv_batch: int = 500,
) -> tuple[Network, list[initializers.LSUVLayer] | None]:
    """One network under each of `starts`, as one stack of K = len(starts) models, all from `seed`.

    The LSUV model is made on a network of its own (``initializers.lsuv`` on the first
    `lsuv_batch` rows of X) and its weights copied into its place in the stack, so the stack's
    other models keep their own draws. Returns the network and LSUV's per-layer report (None
    without LSUV).
    """
    starts = list(starts)
    if not starts or len(set(starts)) != len(starts):
        raise ValueError(f"starts={starts!r} must list distinct zoo starts, at least one")
    net = Network(sizes, hidden=hidden, output=output, init=[zoo_initializer(s, hidden) for s in starts], seed=seed)
    report = None
    if "lsuv" in starts:
        alone = Network(sizes, hidden=hidden, output=output, init="orthogonal", seed=seed)
        report = initializers.lsuv(alone, np.asarray(X)[:lsuv_batch])
        k = starts.index("lsuv")
        for W_stack, W_alone in zip(net.W, alone.W, strict=True):
            W_stack[k] = W_alone[0]
    return net, report


# ---------------------------------------------------------------------------------------------
# Shared pieces.


def digits_inputs(m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The built-in 8x8 digits, standardized, in a seeded order; the first `m` of them (all if None)."""
    data = datasets.digits()
    if m is not None:
        checks.count("m", m, 1, len(data.y))
    order = np.random.default_rng(0).permutation(len(data.y))
    X = datasets.standardize(data.X)[0][order]
    y = data.y[order]
    return (X, y) if m is None else (X[:m], y[:m])


def _check_seeds(seeds: Sequence[int]) -> list[int]:
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must list at least one seed")
    return [checks.seed(s) for s in seeds]


def _density(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin (values outside the edges are not counted, as numpy.histogram)."""
    counts, _ = np.histogram(values, bins=edges)
    return counts / values.size


# ---------------------------------------------------------------------------------------------
# Glorot & Bengio (2010), figures 6 and 7.

# Their name: its start in the catalogue (explorer.starts).
GLOROT_STARTS: dict[str, str] = {"standard": "uniform_fan_in", "normalized": "glorot_uniform"}
GLOROT_INITS: dict[str, str] = {name: CATALOGUE[key].label for name, key in GLOROT_STARTS.items()}


def glorot_initializer(name: str) -> Initializer:
    """Glorot & Bengio's two starts: "standard" U[-1/sqrt(n), 1/sqrt(n)] (n = fan_in) and "normalized"
    U[-sqrt(6/(n_in+n_out)), +...] (their eq. 16, now called Xavier uniform)."""
    if name not in GLOROT_STARTS:
        raise ValueError(f"name={name!r} is unknown; valid: {', '.join(GLOROT_INITS)}")
    return CATALOGUE[GLOROT_STARTS[name]].make()


@dataclass
class GlorotBengio:
    """Per hidden layer statistics at initialization, for each start (axis 0 follows `inits`).

    act_std, grad_std: (inits, seeds, layers) std of a^[l] = tanh(z^[l]) and of the back-propagated gradient
        dCost/dz^[l], over the batch and the units of layer l.
    act_hist, grad_hist: (inits, layers, bins) share of the values in each bin, over every seed.
    act_edges, grad_edges: the bin edges (the gradient's are scaled to its spread).
    """

    inits: tuple[str, ...]
    sizes: list[int]
    seeds: list[int]
    act_std: np.ndarray
    grad_std: np.ndarray
    act_hist: np.ndarray
    grad_hist: np.ndarray
    act_edges: np.ndarray
    grad_edges: np.ndarray

    def gradient_shrink(self) -> np.ndarray:
        """(inits, seeds): std of dCost/dz at the lowest hidden layer over that at the highest.
        Below 1: gradients get smaller on their way down to the input."""
        return self.grad_std[:, :, 0] / self.grad_std[:, :, -1]

    def activation_shrink(self) -> np.ndarray:
        """(inits, seeds): std of a at the highest hidden layer over that at the lowest."""
        return self.act_std[:, :, -1] / self.act_std[:, :, 0]


@one_blas_thread
def glorot_bengio(
    hidden_layers: int = 5, width: int = 256, m: int = 256, seeds: Sequence[int] = (0, 1, 2), bins: int = 41
) -> GlorotBengio:
    """Glorot & Bengio (2010), figures 6-7, scaled down: a tanh network with `hidden_layers` layers of `width`
    units and a softmax output on `m` of the 8x8 digits; activations and back-propagated gradients at
    initialization, "standard" against "normalized" start. All starts and seeds run as one stack."""
    seeds = _check_seeds(seeds)
    checks.count("hidden_layers", hidden_layers, 1, 100)
    checks.count("bins", bins, 2, 1_000)
    X, y = digits_inputs(m)
    sizes = [X.shape[1], *[width] * hidden_layers, 10]
    inits = tuple(GLOROT_INITS)
    stack = [glorot_initializer(name) for name in inits for _ in seeds]
    net = Network(sizes, hidden="tanh", output="softmax", init=stack, seed=seeds * len(inits))
    fwd = net.forward(X)
    bwd = net.backward(fwd, y)
    shape = (len(inits), len(seeds))
    acts = [a.reshape(*shape, -1) for a in fwd.A[1:-1]]  # hidden layers only
    grads = [dz.reshape(*shape, -1) for dz in bwd.dZ[:-1]]
    act_std = np.stack([a.std(axis=2) for a in acts], axis=-1)
    grad_std = np.stack([g.std(axis=2) for g in grads], axis=-1)
    act_edges = np.linspace(-1, 1, bins + 1)
    spread = 4 * float(grad_std.max())
    grad_edges = np.linspace(-spread, spread, bins + 1)
    act_hist = np.array([[_density(a[i], act_edges) for a in acts] for i in range(len(inits))])
    grad_hist = np.array([[_density(g[i], grad_edges) for g in grads] for i in range(len(inits))])
    return GlorotBengio(inits, sizes, seeds, act_std, grad_std, act_hist, grad_hist, act_edges, grad_edges)


# ---------------------------------------------------------------------------------------------
# He et al. (2015), figure 3.


@dataclass
class PlainReLU:
    """Training curves of a deep plain ReLU network from two starts (axis 0 follows `inits`).

    steps: (T,) the steps of the curves. cost: (inits, seeds, T) cost on the step's batch.
    act_std: (inits, seeds, hidden layers) std of a^[l] at initialization.
    """

    inits: tuple[str, ...]
    sizes: list[int]
    seeds: list[int]
    lr: float
    steps: np.ndarray
    cost: np.ndarray
    act_std: np.ndarray

    def cost_drop(self) -> np.ndarray:
        """(inits, seeds): how much the cost fell, first snapshot minus the mean of the last quarter."""
        last = self.cost[:, :, -max(1, self.cost.shape[2] // 4):].mean(axis=2)
        return self.cost[:, :, 0] - last


# Their name: its start in the catalogue (explorer.starts).
HE_STARTS: dict[str, str] = {"xavier": "glorot_normal", "he": "he"}
HE_INITS: dict[str, str] = {name: CATALOGUE[key].label for name, key in HE_STARTS.items()}


@one_blas_thread
def he_plain_relu(
    depth: int = 30, width: int = 32, steps: int = 300, lr: float = 0.01, seeds: Sequence[int] = (0, 1),
    batch_size: int = 64, every: int = 10,
) -> PlainReLU:
    """He et al. (2015), figure 3, scaled down: a plain (no shortcuts, no normalization) ReLU network of
    `depth` weight layers (depth - 1 hidden layers of `width` units, softmax output) on the 8x8 digits, trained
    by SGD with momentum 0.9 from Xavier's and He's starts, every start and seed in one stack on the same
    batches."""
    seeds = _check_seeds(seeds)
    checks.count("depth", depth, 2, 500)  # weight layers: at least one hidden layer
    X, y = digits_inputs()
    sizes = [X.shape[1], *[width] * (depth - 1), 10]
    inits = tuple(HE_INITS)
    stack = [CATALOGUE[HE_STARTS[name]].make() for name in inits for _ in seeds]
    net = Network(sizes, hidden="relu", output="softmax", init=stack, seed=seeds * len(inits))
    trainer = Trainer(net, X, y, lr=lr, optimizer="momentum", momentum=0.9, batch_size=batch_size, seed=0)
    shape = (len(inits), len(seeds))
    marks, costs, act_std = [], [], None
    for snap in trainer.snapshots(every=every, steps=steps):
        if act_std is None:
            act_std = snap.a_std[:-1].T.reshape(*shape, -1)
        marks.append(snap.step)
        costs.append(snap.cost.reshape(shape))
    return PlainReLU(inits, sizes, seeds, lr, np.array(marks), np.stack(costs, axis=-1), act_std)


# ---------------------------------------------------------------------------------------------
# The cs231n experiment.

# Their name: its start in the catalogue (explorer.starts). cs231n, like the deeplearning.ai article, calls
# W = randn / sqrt(n_in), N(0, 1/n_in), "Xavier".
CS231N_STARTS: dict[str, str] = {"0.01": "normal_0.01", "1.0": "normal_1", "xavier": "article_xavier"}
CS231N_INITS: dict[str, str] = {name: CATALOGUE[key].label for name, key in CS231N_STARTS.items()}


@dataclass
class TanhStack:
    """Per-layer activation statistics of a deep tanh network on random inputs (axis 0 follows `inits`).

    mean, std: (inits, layers). saturated: (inits, layers) share of units with |a| > 0.99.
    hist: (inits, layers, bins) share of the values of a^[l] in each bin of `edges` over [-1, 1].
    """

    inits: tuple[str, ...]
    layers: int
    width: int
    m: int
    mean: np.ndarray
    std: np.ndarray
    saturated: np.ndarray
    hist: np.ndarray
    edges: np.ndarray


@one_blas_thread
def cs231n_tanh(layers: int = 10, width: int = 500, m: int = 1000, seed: int = 0, bins: int = 40) -> TanhStack:
    """The cs231n lecture experiment: `m` inputs drawn from N(0, 1) in `width` dimensions pass through `layers`
    tanh layers of `width` units, without biases, from W = 0.01 randn, W = randn and W = randn / sqrt(n_in).
    The three starts run as one stack on the same inputs."""
    checks.count("layers", layers, 1, 1_000)
    checks.count("bins", bins, 2, 1_000)
    inits = tuple(CS231N_INITS)
    recipes = [CATALOGUE[CS231N_STARTS[name]].make() for name in inits]
    X = np.random.default_rng(seed).standard_normal((m, width))
    net = Network([width] * (layers + 2), hidden="tanh", output="linear", init=recipes, seed=seed)
    acts = net.forward(X).A[1:-1]  # the `layers` tanh layers; the linear output layer is not part of it
    edges = np.linspace(-1, 1, bins + 1)
    flat = [a.reshape(len(inits), -1) for a in acts]
    mean = np.stack([a.mean(axis=1) for a in flat], axis=1)
    std = np.stack([a.std(axis=1) for a in flat], axis=1)
    saturated = np.stack([(np.abs(a) > 0.99).mean(axis=1) for a in flat], axis=1)
    hist = np.array([[_density(a[i], edges) for a in flat] for i in range(len(inits))])
    return TanhStack(inits, layers, width, m, mean, std, saturated, hist, edges)
