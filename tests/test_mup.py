"""μP against SP (explorer.mup): the table's scalings, the multiplier form it is equal to (finite differences for its
gradient), per-layer learning rates, the coordinate check's exponents against the scaling argument, and TP5's
claims on a sweep small enough for CI (measured with benchmarks/bench_mup.py first, then pinned with margins)."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest

from explorer import mup
from explorer.training import Trainer

SIZES = [64, 256, 256, 10]  # r = 4 against the base width 64


# ---------------------------------------------------------------------------------------------
# The table.


def test_scalings_are_table_3_relative_to_the_base_width():
    n, n0, r = 256, 64, 4.0
    sp = mup.scalings("sp", SIZES, base_width=n0)
    assert [s.kind for s in sp] == ["input", "hidden", "output"]
    assert [s.weight_variance for s in sp] == [2 / 64, 2 / n, 1 / n]
    assert all(s.weight_lr == s.bias_lr == 1 for s in sp)
    sgd = mup.scalings("mup", SIZES, base_width=n0)
    assert [s.weight_variance for s in sgd] == pytest.approx([2 / 64, 2 / n, n0 / n**2])  # output: 1/fan_in^2
    assert [s.weight_lr for s in sgd] == pytest.approx([r, 1, 1 / r])  # fan_out, 1, 1/fan_in
    assert [s.bias_lr for s in sgd] == pytest.approx([r, r, 1])  # a bias's fan_out: n, n, 10
    adam = mup.scalings("mup", SIZES, base_width=n0, optimizer="adam")
    assert [s.weight_lr for s in adam] == pytest.approx([1, 1 / r, 1 / r])  # 1, 1/fan_in, 1/fan_in
    assert [s.bias_lr for s in adam] == [1, 1, 1]
    assert mup.scalings("mup", SIZES, output_init="zero")[-1].weight_variance == 0
    at_base = mup.scalings("mup", [64, 64, 64, 10], base_width=64)
    assert at_base == mup.scalings("sp", [64, 64, 64, 10], base_width=64)


def test_network_draws_each_layer_with_its_variance():
    """Each layer's sample variance against the rule: its relative standard error is sqrt(2/N) for N weights."""
    net, lr_scale = mup.network("mup", SIZES, seed=3)
    for W, rule in zip(net.W, mup.scalings("mup", SIZES), strict=True):
        sample = W[0].var()
        assert abs(sample / rule.weight_variance - 1) < 5 * math.sqrt(2 / W[0].size)
    Ws, bs = net.views(lr_scale)
    for W, b, rule in zip(Ws, bs, mup.scalings("mup", SIZES), strict=True):
        assert np.all(W == rule.weight_lr) and np.all(b == rule.bias_lr)
    assert all(np.all(b == 0) for b in net.b)


def test_at_the_base_width_mup_is_sp_bit_for_bit():
    sizes = [64, 64, 64, 10]
    X, y = mup.digits_task(128)
    nets = []
    for p in ("sp", "mup"):
        net, lr_scale = mup.network(p, sizes, seed=5)
        Trainer(net, X, y, lr=0.1, lr_scale=lr_scale, batch_size=32).run(10)
        nets.append(net)
    assert np.array_equal(nets[0].params, nets[1].params)


def test_lr_scale_gives_each_entry_its_own_rate():
    """One SGD step moves entry i by -lr * lr_scale[i] * gradient[i], the gradient of an independent pass."""
    X, y = mup.digits_task(64)
    net, lr_scale = mup.network("mup", [64, 128, 128, 10], seed=1)
    grad = net.backward(net.forward(X), net.check_targets(y, len(y))).flat.copy()
    before = net.params.copy()
    Trainer(net, X, y, lr=0.25, lr_scale=lr_scale).run(1)
    assert np.allclose(net.params - before, -0.25 * lr_scale * grad, rtol=1e-12, atol=1e-15)
    assert len(set(lr_scale)) == 3  # r, 1 and 1/r: the rates differ by layer


# ---------------------------------------------------------------------------------------------
# Table 8: the same network written with an output multiplier, computed by an independent reference.


def reference_gradients(params, X, Y, multiplier):
    """Cross-entropy of the MLP relu(relu(X W1^T + b1) W2^T + b2) -> logits multiplier * a2 W3^T + b3, and its
    gradient by hand (examples as rows), for the multiplier form of TP5 Table 8."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = X @ W1.T + b1
    a1 = np.maximum(h1, 0)
    h2 = a1 @ W2.T + b2
    a2 = np.maximum(h2, 0)
    z = multiplier * (a2 @ W3.T) + b3
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    m = len(X)
    cost = -np.sum(Y * np.log(p)) / m
    dz = (p - Y) / m
    dW3 = multiplier * dz.T @ a2
    dh2 = multiplier * (dz @ W3) * (h2 > 0)
    dW2 = dh2.T @ a1
    dh1 = (dh2 @ W2) * (h1 > 0)
    dW1 = dh1.T @ X
    return cost, [dW1, dh1.sum(0), dW2, dh2.sum(0), dW3, dz.sum(0)]


def test_the_reference_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    X, y = mup.digits_task(16)
    Y = np.eye(10)[y]
    params = [rng.normal(0, 0.2, s) for s in ((32, 64), (32,), (32, 32), (32,), (10, 32), (10,))]
    params[1] += 0.1  # biases away from zero, so that no ReLU sits at its kink
    _, grads = reference_gradients(params, X, Y, multiplier=0.25)
    eps = 1e-6
    for k, (param, grad) in enumerate(zip(params, grads, strict=True)):
        for index in [tuple(rng.integers(0, n) for n in param.shape) for _ in range(5)]:
            shifted = [q.copy() for q in params]
            shifted[k][index] += eps
            up, _ = reference_gradients(shifted, X, Y, 0.25)
            shifted[k][index] -= 2 * eps
            down, _ = reference_gradients(shifted, X, Y, 0.25)
            assert (up - down) / (2 * eps) == pytest.approx(grad[index], rel=1e-5, abs=1e-9), (k, index)


def test_table_3_trains_as_table_8_with_its_output_multiplier():
    """TP5 Table 8: output weights w of variance n0/n (constant at the base), multiplier 1/r, SGD rate eta r; the
    other layers as in Table 3. Five steps of the reference equal five steps of the engine's Table-3 network
    (W3 = w / r) to rounding: the two tables are one parametrization."""
    n, n0 = 256, 64
    r, eta = n / n0, 0.5
    X, y = mup.digits_task(64)
    Y = np.eye(10)[y]
    net, lr_scale = mup.network("mup", [64, n, n, 10], base_width=n0, seed=2)
    params = [p.copy() for pair in zip(net.W, net.b, strict=True) for p in (pair[0][0], pair[1][0])]
    params[4] *= r  # w = r W3
    rates = [eta * r, eta * r, eta, eta * r, eta * r, eta]  # W1, b1, W2, b2, w (Table 8: fan_in), b3
    for _ in range(5):
        _, grads = reference_gradients(params, X, Y, multiplier=1 / r)
        params = [p - rate * g for p, rate, g in zip(params, rates, grads, strict=True)]
    Trainer(net, X, y, lr=eta, lr_scale=lr_scale).run(5)
    engine = [p[0] for pair in zip(net.W, net.b, strict=True) for p in pair]
    params[4] /= r
    for ours, theirs in zip(engine, params, strict=True):
        assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# The coordinate check.


@pytest.fixture(scope="module")
def checks_by_parametrization():
    return {p: mup.coordinate_check(p, (64, 128, 256, 512), log2_lr=-3, steps=2, seeds=2) for p in ("sp", "mup")}


def test_coordinate_check_exponents_follow_the_scaling_argument(checks_by_parametrization):
    """After one SGD step each layer's change grows as n^p: μP p = 0 for every layer; SP p = -1/2 (input
    layer), +1/2 (hidden), +1 (logits). Finite widths bend the fit a little: within 0.2."""
    for p, check in checks_by_parametrization.items():
        assert np.allclose(check.slopes(1), mup.expected_slopes(p), atol=0.2), (p, check.slopes(1))


def test_coordinate_check_sizes_flat_under_mup_growing_under_sp(checks_by_parametrization):
    sp, mu = checks_by_parametrization["sp"], checks_by_parametrization["mup"]
    assert np.allclose(sp.rms[:, 0, :2], mu.rms[:, 0, :2])  # the same start, but for the output layer
    # μP: the input and hidden layers keep their size, and every layer's change is flat (the logits' size itself
    # still shows their start, of variance n0/n^2, after two small steps: what moved them is flat).
    assert np.all(np.abs(mu.slopes(2, "rms")[:2]) < 0.05), mu.slopes(2, "rms")
    assert np.all(np.abs(mu.slopes(2)) < 0.15), mu.slopes(2)
    assert sp.slopes(2, "rms")[-1] > 0.5  # the logits grow about as n
    assert sp.rms[-1, 2, -1] > 3 * sp.rms[0, 2, -1]  # measured 3.9 times from width 64 to 512


# ---------------------------------------------------------------------------------------------
# The sweep: TP5's claims at a size for CI.

# The dashboard's default task (mean squared error on 1,024 digits, μP's output layer from zero, 100 steps of
# minibatch SGD), at the narrowest and the widest of its widths. Measured (bench_mup.py --widths 64 512): best
# log2 rate SP -1 -> -4, μP 1 -> 1.
CI = mup.TransferConfig(widths=(64, 512), log2_lr=tuple(range(-6, 3)))


@pytest.fixture(scope="module")
def ci_sweep(tmp_path_factory):
    return mup.transfer_sweep(CI, directory=tmp_path_factory.mktemp("mup-cache"))


def test_sp_best_rate_moves_with_width_mup_stays_put(ci_sweep):
    best = ci_sweep.best_log2_lr()
    sp, mu = best[CI.parametrizations.index("sp")], best[CI.parametrizations.index("mup")]
    assert abs(mu[-1] - mu[0]) <= 1, best  # TP5: within one grid step from the narrowest to the widest
    assert sp[0] - sp[-1] >= 2, best  # SP: the wide network's best rate is at least 4 times smaller


def test_under_mup_wider_is_better_at_a_fixed_rate(ci_sweep):
    """At every rate up to the narrow network's best, the wide μP network ends lower; at that best rate, by far.
    (Above it both are unstable, and equally bad.)"""
    mu = ci_sweep.loss[CI.parametrizations.index("mup")]
    best = int(np.nanargmin(mu[0]))
    assert best >= 4
    assert np.all(mu[-1, : best + 1] < mu[0, : best + 1]), mu
    assert mu[-1, best] < 0.5 * mu[0, best], mu


def test_the_sweep_is_stored_and_read_back(ci_sweep, tmp_path_factory):
    directory = ci_sweep.path.parent
    again = mup.transfer_sweep(CI, directory=directory)
    assert again.from_cache and np.array_equal(again.loss, ci_sweep.loss, equal_nan=True)
    assert mup.cached_transfer_sweep(CI, tmp_path_factory.mktemp("empty")) is None


def test_pieces_give_the_numbers_of_one_run_bit_for_bit(tmp_path):
    small = mup.TransferConfig(widths=(64, 128), log2_lr=(-2.0, 0.0), steps=12, examples=128, batch_size=32)
    seen = []
    result = mup.transfer_sweep(small, progress=lambda done, total: seen.append((done, total)), cache=False)
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)
    for pi, p in enumerate(small.parametrizations):
        for wi, width in enumerate(small.widths):
            direct = mup.train_width(small, p, width)
            assert np.array_equal(direct["loss"], result.loss[pi, wi], equal_nan=True)
    stopped = mup.transfer_sweep(small, should_stop=lambda: True, directory=tmp_path)
    assert stopped is None and not list(tmp_path.iterdir())


def test_two_workers_give_the_numbers_of_one_process_bit_for_bit():
    small = mup.TransferConfig(widths=(64, 128), log2_lr=(-3.0, 0.0), steps=8, examples=64, batch_size=32)
    here = mup.transfer_sweep(small, cache=False)
    spread = mup.transfer_sweep(small, cache=False, n_jobs=2)
    for name in ("loss", "initial_loss", "diverged"):
        assert np.array_equal(getattr(here, name), getattr(spread, name), equal_nan=True), name


def test_in_the_browser_two_workers_give_way_to_this_process_with_a_note(monkeypatch):
    from explorer import runtime

    small = mup.TransferConfig(widths=(64,), log2_lr=(-3.0, 0.0), steps=4, examples=64, batch_size=32)
    here = mup.transfer_sweep(small, cache=False)
    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    monkeypatch.setitem(sys.modules, "joblib", None)  # `import joblib` now raises ImportError
    with pytest.warns(RuntimeWarning, match=r"n_jobs=2 was asked for"):
        spread = mup.transfer_sweep(small, cache=False, n_jobs=2)
    assert np.array_equal(here.loss, spread.loss, equal_nan=True)
