"""Training: symmetry, divergence in a stack, determinism, snapshots and histograms."""

import math
import sys

import numpy as np
import pytest

from explorer import datasets, initializers, training
from explorer.network import Network
from explorer.training import Trainer, histogram_counts


@pytest.fixture
def xor():
    d = datasets.toy("xor", n=200, noise=0.05, seed=0)
    return d.X, d.y


def test_zero_start_never_breaks_symmetry_and_stays_at_ln2(xor):
    X, y = xor
    net = Network([2, 6, 3, 1], hidden="relu", output="sigmoid", init="zeros")
    trainer = Trainer(net, X, y, lr=0.5)
    trainer.run(100)
    for l in range(net.L - 1):  # hidden layers: all rows of W^[l] (one per unit) equal
        W, b = net.W[l][0], net.b[l][0]
        assert np.all(W == W[0]) and np.all(b == b[0])
    assert net.cost(X, y)[0] == pytest.approx(math.log(2), abs=1e-12)


def test_constant_start_keeps_units_identical_while_learning(xor):
    X, y = xor
    net = Network([2, 6, 3, 1], hidden="tanh", output="sigmoid", init=initializers.constant(0.3))
    before = net.cost(X, y)[0]
    Trainer(net, X, y, lr=0.5).run(100)
    for l in range(net.L - 1):
        assert np.allclose(net.W[l][0], net.W[l][0][0], rtol=0, atol=1e-13)
    assert net.cost(X, y)[0] != before  # it moves, but all units move together


@pytest.mark.parametrize("init", ["xavier_normal", "he_normal"])
def test_random_start_breaks_symmetry(xor, init):
    X, y = xor
    net = Network([2, 6, 3, 1], init=init, seed=0)
    Trainer(net, X, y, lr=0.5).run(100)
    W = net.W[0][0]
    assert np.min(np.abs(W[1:] - W[0]).sum(axis=1)) > 1e-3
    assert net.cost(X, y)[0] < math.log(2) - 0.05


def test_huge_start_diverges_while_the_others_train(xor):
    X, y = xor
    huge = initializers.normal(1e3)
    net = Network([2, 10, 5, 1], init=["he_normal", huge, "xavier_normal"], seed=0)
    trainer = Trainer(net, X, y, lr=0.5, diverge_above=1e3)
    with np.errstate(all="raise"):  # the trainer must not let numpy warn or raise
        snaps = list(trainer.snapshots(every=50, steps=400))
    first, last = snaps[0], snaps[-1]
    assert last.status == ["training", "diverged", "training"]
    assert last.diverged_at[1] == 0 and first.cost[1] > 1e3  # the curve keeps the cost where it diverged
    assert np.isnan(last.cost[1]) and np.all(np.isnan(last.a_std[:, 1]))
    assert np.all(last.cost[[0, 2]] < first.cost[[0, 2]] - 0.1)
    assert np.all(np.isfinite(net.params[[0, 2]]))


def test_overflow_mid_training_is_reported_at_its_step(xor):
    X, y = xor
    net = Network([2, 10, 10, 1], hidden="linear", init=["xavier_normal", "xavier_normal"], seed=0)
    trainer = Trainer(net, X, y, lr=[0.1, 1e4])  # the second model's steps blow up
    snaps = list(trainer.snapshots(every=1, steps=60))
    step = trainer.diverged_at[1]
    assert step > 0 and trainer.diverged_at[0] == -1
    at = next(s for s in snaps if s.step == step)
    assert at.status[1] == "diverged"
    assert not np.isfinite(at.cost[1]) or at.cost[1] > trainer.diverge_above
    before = next(s for s in snaps if s.step == step - 1)
    assert before.status[1] == "training" and np.isfinite(before.cost[1])


def test_stops_when_every_model_diverged(xor):
    X, y = xor
    net = Network([2, 4, 1], init=initializers.normal(1e4), seed=0)
    snaps = list(Trainer(net, X, y).snapshots(every=10, steps=1000))
    assert snaps[-1].step <= 1 and snaps[-1].status == ["diverged"]


@pytest.mark.parametrize("optimizer, batch", [("sgd", None), ("momentum", 32), ("adam", 50)])
def test_same_seed_same_run_bit_for_bit(xor, optimizer, batch):
    X, y = xor

    def run():
        net = Network([2, 8, 4, 1], init=["he_normal", "xavier_normal"], seed=[3, 4])
        t = Trainer(net, X, y, lr=0.05, optimizer=optimizer, batch_size=batch, seed=11)
        costs = [s.cost.copy() for s in t.snapshots(every=25, steps=200)]
        return net.params.copy(), np.array(costs)

    (p1, c1), (p2, c2) = run(), run()
    assert np.array_equal(p1, p2) and np.array_equal(c1, c2)
    net = Network([2, 8, 4, 1], init=["he_normal", "xavier_normal"], seed=[3, 4])
    Trainer(net, X, y, lr=0.05, optimizer=optimizer, batch_size=batch, seed=12).run(200)
    assert (batch is None) == np.array_equal(net.params, p1)  # another batch order, other numbers


def test_pausing_and_resuming_gives_the_same_run(xor):
    X, y = xor
    make = lambda: Trainer(Network([2, 5, 1], seed=2), X, y, lr=0.1, batch_size=30, seed=1)  # noqa: E731
    whole = make()
    whole.run(90)
    paused = make()
    it = paused.snapshots(every=10, steps=90)
    for _ in range(4):
        next(it)  # pull a few, then stop pulling
    del it
    rest = paused.snapshots(every=10, steps=90 - paused.step)
    for _ in rest:
        pass
    assert paused.step == 90 and np.array_equal(paused.net.params, whole.net.params)


def test_snapshot_cadence_and_contents(xor):
    X, y = xor
    net = Network([2, 6, 3, 1], hidden="tanh", init=["xavier_normal", "he_normal"], seed=0)
    edges = np.linspace(-1.2, 1.2, 25)
    grid = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0]])
    trainer = Trainer(net, X, y, act_bins=edges, grad_bins=np.linspace(-0.1, 0.1, 11), probe=grid,
                      evaluate={"train": (X, y)})
    snaps = list(trainer.snapshots(every=30, steps=100))
    assert [s.step for s in snaps] == [0, 30, 60, 90, 100]
    s = snaps[0]
    assert s.act_hist.shape == (3, 2, 24) and s.grad_hist.shape == (3, 2, 10)
    # tanh activations all lie within [-1, 1]: every one is counted
    assert np.all(s.act_hist[:2].sum(axis=2) == np.array([[6], [3]]) * len(X))
    assert s.probe.shape == (2, 3, 1) and np.all((s.probe > 0) & (s.probe < 1))
    fresh = Network([2, 6, 3, 1], hidden="tanh", init=["xavier_normal", "he_normal"], seed=0)
    assert np.array_equal(s.output, fresh.predict(X))  # outputs of the step-0 batch, before any update

    assert np.allclose(s.evaluation["train"][0], s.cost)  # full batch: same cost
    assert s.weights[0].shape == (2, 6, 2) and s.weight_grads[2].shape == (2, 1, 3)
    assert np.allclose(s.weight_norm[0], np.linalg.norm(s.weights[0], axis=(1, 2)))
    fwd = net.forward(X)  # after training the snapshot's weights are a copy, not a view
    assert not np.array_equal(snaps[-1].weights[0], snaps[0].weights[0])
    assert fwd.A[1].shape == (2, 200, 6)


def test_layer_statistics_match_a_direct_computation(xor):
    X, y = xor
    net = Network([2, 7, 4, 1], hidden="relu", init="he_normal", seed=9)
    fwd = net.forward(X)
    bwd = net.backward(fwd, y)
    snap = next(Trainer(net, X, y).snapshots())
    for l in range(net.L):
        assert snap.a_std[l, 0] == pytest.approx(fwd.A[l + 1][0].std())
        assert snap.z_mean[l, 0] == pytest.approx(fwd.Z[l][0].mean())
        assert snap.grad_std[l, 0] == pytest.approx(bwd.dA[l][0].std())
        assert snap.grad_norm[l, 0] == pytest.approx(np.linalg.norm(bwd.dW[l][0]))


def test_minibatch_snapshot_names_its_batch(xor):
    X, y = xor
    trainer = Trainer(Network([2, 4, 1]), X, y, batch_size=64, seed=0)
    snaps = list(trainer.snapshots(every=1, steps=4))
    batches = [s.batch for s in snaps[:4]]
    assert all(len(b) == 64 for b in batches[:3]) and len(batches[3]) == 200 - 3 * 64
    assert len(np.unique(np.concatenate(batches))) == 200  # one epoch covers every example once
    assert snaps[4].epoch == 1.0  # four batches (64, 64, 64 and the 8 left over) are one epoch
    assert snaps[2].epoch == pytest.approx(128 / 200)


def test_epochs_count_the_short_last_batch():
    """1,348 examples in batches of 100: an epoch is 14 steps (13 of 100 and one of 48), so 20 epochs
    are 280 steps and epoch 20.0, not 280 x 100 / 1,348 = 20.77."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((1348, 3)), rng.integers(0, 2, 1348)
    trainer = Trainer(Network([3, 4, 1]), X, y, batch_size=100, seed=0)
    sizes, epochs = [], []
    for snap in trainer.snapshots(every=1, steps=280):
        sizes.append(len(snap.batch))
        epochs.append(snap.epoch)
    assert trainer.step == 280 and epochs[-1] == 20.0
    assert sizes[:14] == [100] * 13 + [48]
    assert [epochs[14 * e] for e in range(21)] == list(range(21))  # a whole number after every 14th step
    assert epochs[7] == pytest.approx(700 / 1348)  # halfway through the first epoch's batches
    assert np.all(np.diff(epochs) > 0)


def test_histogram_counts_agrees_with_numpy():
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (3, 50, 40))
    values[0, 0, 0] = np.nan
    values[1, 0, 0] = 2.0  # exactly on the last edge: counted, as numpy does
    edges = np.linspace(-2, 2, 17)
    counts = histogram_counts(values, edges)
    for k in range(3):
        v = values[k][np.isfinite(values[k])]
        assert np.array_equal(counts[k], np.histogram(v, edges)[0])


def test_training_learns_digits_with_he(digits_run):
    """The session's digits run (tests/conftest.py): 64-100-100-10 from He's start (model 0), 168 steps of SGD."""
    last = digits_run.snapshots[-1]
    assert repr(digits_run.app.trainer.net.inits[0]) == repr(initializers.he_normal())
    assert last.evaluation["test"][1][0] > 0.93


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=-0.1), "lr"),
        (dict(lr=float("nan")), "lr"),
        (dict(lr=float("inf")), "lr"),
        (dict(lr=[0.1, 0.2, 0.3]), "lr"),
        (dict(optimizer="rmsprop"), "optimizer='rmsprop'.*sgd, momentum, adam"),
        (dict(batch_size=0), "batch_size=0"),
        (dict(momentum=1.5), "momentum"),
        (dict(act_bins=[1, 0]), "act_bins"),
        (dict(diverge_above=0), "diverge_above"),
    ],
)
def test_bad_training_arguments(xor, kwargs, match):
    X, y = xor
    with pytest.raises(ValueError, match=match):
        Trainer(Network([2, 3, 1]), X, y, **kwargs)


def test_bad_data_and_cadence(xor):
    X, y = xor
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="X holds NaN"):
        Trainer(Network([2, 3, 1]), bad, y)
    with pytest.raises(ValueError, match="every=0"):
        next(Trainer(Network([2, 3, 1]), X, y).snapshots(every=0))
    with pytest.raises(TypeError, match="net="):
        Trainer("net", X, y)


def test_history_stays_bounded_and_evenly_spaced():
    from explorer.training import History

    h = History(models=2, max_points=50)
    for step in range(0, 100_000, 10):
        h.append(step, np.array([step, -step]))
        assert len(h) <= 50
    kept = h.steps[: len(h)]
    assert len(h) >= 25 and len(set(np.diff(kept))) == 1  # one spacing throughout
    assert h.x[0] == 0 and h.x[-1] == 99_990  # spans the whole run, up to now
    assert np.array_equal(h.y[:, 1], -h.x)


def test_blas_is_held_to_one_thread_only_while_training(xor, monkeypatch):
    from threadpoolctl import threadpool_info

    import explorer.network as network

    X, y = xor
    seen = []
    real_forward = network.Network.forward_pass

    def spy(self, ws, guard=False):
        seen.append([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"])
        return real_forward(self, ws, guard)

    monkeypatch.setattr(network.Network, "forward_pass", spy)
    before = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    it = Trainer(Network([2, 4, 1]), X, y).snapshots(every=2, steps=4)
    next(it)
    after_yield = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    list(it)
    assert seen and all(threads == [1] * len(before) for threads in seen)
    assert after_yield == before  # the limit does not leak to the code that pulls the snapshots
    with pytest.raises(ValueError, match="blas_threads=0"):
        Trainer(Network([2, 4, 1]), X, y, blas_threads=0)


@pytest.mark.parametrize("layout", ["packed", "stacked"])
def test_every_models_statistics_cost_and_accuracy_match_a_direct_computation(layout):
    """A snapshot's per-layer statistics, cost and accuracy for each model of a stack, against numpy on the
    network's own (K, m, n) views: the snapshot computes them from its column-per-example buffers."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.integers(0, 4, 50)
    net = Network([3, 6, 5, 4], hidden="tanh", output="softmax", init=["he_normal", "xavier_normal", "lecun_normal"],
                  seed=[1, 2, 3], layout=layout)
    fwd = net.forward(X)
    bwd = net.backward(fwd, y)
    Z, A, dA = [z.copy() for z in fwd.Z], [a.copy() for a in fwd.A[1:]], [d.copy() for d in bwd.dA]
    dW, output = [d.copy() for d in bwd.dW], fwd.output.copy()
    cost, accuracy = net.cost(X, y), net.accuracy(output, y)
    snap = next(Trainer(net, X, y, evaluate={"again": (X, y)}).snapshots())
    for l in range(net.L):
        for k in range(net.K):
            assert snap.z_mean[l, k] == pytest.approx(Z[l][k].mean(), abs=1e-12)
            assert snap.z_std[l, k] == pytest.approx(Z[l][k].std(), rel=1e-12)
            assert snap.a_mean[l, k] == pytest.approx(A[l][k].mean(), abs=1e-12)
            assert snap.a_std[l, k] == pytest.approx(A[l][k].std(), rel=1e-12)
            assert snap.grad_std[l, k] == pytest.approx(dA[l][k].std(), rel=1e-12)
            assert snap.weight_norm[l, k] == pytest.approx(np.linalg.norm(net.W[l][k]), rel=1e-12)
            assert snap.grad_norm[l, k] == pytest.approx(np.linalg.norm(dW[l][k]), rel=1e-12)
    assert np.allclose(snap.cost, cost, rtol=1e-12) and np.array_equal(snap.accuracy, accuracy)
    assert np.allclose(snap.evaluation["again"][0], cost, rtol=1e-12)
    assert np.array_equal(snap.evaluation["again"][1], accuracy)
    assert np.array_equal(snap.output, output)
    assert len(set(np.round(snap.cost, 9))) == 3  # three different models, not one repeated


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lr", [0.05, "per entry"])
def test_sgd_step_is_params_minus_lr_times_grads(dtype, lr):
    """One learning rate takes the BLAS axpy path, one per entry the numpy path: both give theta - lr g,
    to within rounding (axpy may fuse the multiply and the add)."""
    rng = np.random.default_rng(1)
    params, grads = rng.standard_normal(1000).astype(dtype), rng.standard_normal(1000).astype(dtype)
    rates = np.full(1000, 0.05, dtype=dtype) if lr == "per entry" else lr
    expected = params - np.asarray(rates, dtype=dtype) * grads
    updated = params.copy()
    optimizer = training.SGD(rates)
    optimizer.step(updated, grads)
    assert (optimizer.axpy is not None) == (lr != "per entry")
    bound = 4 * np.finfo(dtype).eps * (np.abs(params) + np.abs(0.05 * grads))
    assert np.all(np.abs(updated - expected) <= bound)
    optimizer.step(updated, grads)  # a second step from the first
    assert np.all(np.abs(updated - (expected - np.asarray(rates, dtype=dtype) * grads)) <= 3 * bound)


def test_a_float32_network_records_its_learning_rate_as_given(xor):
    X, y = xor
    trainer = Trainer(Network([2, 3, 1], dtype="float32"), X, y, lr=0.05)
    assert trainer.config()["lr"] == [0.05] and trainer.lr.dtype == np.float64
    trainer.run(3)
    assert trainer.net.params.dtype == np.float32  # the steps stay in the network's dtype


def test_without_scipy_plain_descent_takes_numpy_path_with_the_same_result(monkeypatch):
    """A browser page has no scipy until a demo loads it: the first SGD step must then choose numpy's path
    (not fail), and give theta - lr g as the BLAS path does, to within rounding."""
    rng = np.random.default_rng(2)
    params, grads = rng.standard_normal(500), rng.standard_normal(500)
    with_blas = params.copy()
    training.SGD(0.05).step(with_blas, grads)
    for name in ("scipy", "scipy.linalg", "scipy.linalg.blas"):
        monkeypatch.setitem(sys.modules, name, None)  # `import scipy...` now raises ImportError
    optimizer = training.SGD(0.05)
    without = params.copy()
    optimizer.step(without, grads)
    assert optimizer.axpy is None and optimizer.scratch is not None
    assert np.allclose(without, with_blas, rtol=0, atol=4 * np.finfo(float).eps * 2)
    assert not np.array_equal(without, params)
