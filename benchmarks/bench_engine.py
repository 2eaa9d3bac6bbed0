"""The explorer engine against PyTorch eager on the CPU, on the demos' own networks.

    .venv/bin/pip install torch==2.13.0        # benchmark only; the package never needs torch
    .venv/bin/python benchmarks/bench_engine.py [--repeats 5] [--pairs 11] [--quick]

Same networks, same data, same initial weights (copied from the explorer network into torch), same
batches in the same order, same number of steps. Both run on one thread (explorer holds BLAS to one
thread while training; torch.set_num_threads(1)), interleaved in one process: every repeat runs each
workload once with each engine, alternating which goes first. Reports the median and min-max after a
warm-up, then, as the last line, one JSON object with speedup = torch time / explorer time.

W1 three-layer  [2, 10, 5, 1] ReLU-ReLU-sigmoid, 300 points, full batch, 15,000 iterations
W2 nine-layer   [2, 2 x 9, 1] linear, sigmoid output, 300 points, full batch, 5,000 iterations
W3 digits MLP   64-100-100-10 ReLU softmax, minibatch 128, 20 epochs of the 1,797 digits
W4 MNIST-size   784-100-100-10 ReLU softmax, 60,000 x 784 float32 (random data), one epoch, batch 128
W3f32           W3 in float32, in both engines
W5 four initializations of W1 stacked (K = 4) against one model alone and four separate runs, packed
   block-diagonal ("auto" chooses it here) and in the stacked (K, n, m) layout
Each workload's final cost, after the same updates on the same batch, is printed for both engines with their
relative gap: the same computation, so only float rounding apart (a check that the race is fair).
Also printed: numpy calls per W1 step (counted); the snapshot overhead (every 100 steps), as the median of
`--pairs` W1 runs with and without, back to back; float32 against float64; and W4's GFLOP/s as a fraction of
this machine's float32 GEMM rate measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import datasets  # noqa: E402
from explorer import network as network_module  # noqa: E402
from explorer import training as training_module  # noqa: E402
from explorer.network import Network  # noqa: E402
from explorer.training import Trainer  # noqa: E402

try:
    import torch
except ImportError:  # pragma: no cover - the message is the point
    sys.exit("bench_engine needs torch: .venv/bin/pip install torch==2.13.0 (a benchmark-only dependency)")

torch.set_num_threads(1)


# ---------------------------------------------------------------------------------------------
# The workloads: a network, its data and how it trains.


class Workload:
    def __init__(self, name, sizes, hidden, output, X, Y, lr, steps, batch_size=None, dtype="float64",
                 init="he_normal", seed=0):
        self.name, self.sizes, self.hidden, self.output = name, sizes, hidden, output
        self.X, self.Y, self.lr, self.steps, self.batch_size = X, Y, lr, steps, batch_size
        self.dtype, self.init, self.seed = dtype, init, seed

    def network(self, **kw) -> Network:
        args = dict(hidden=self.hidden, output=self.output, init=self.init, seed=self.seed, dtype=self.dtype)
        args.update(kw)
        return Network(self.sizes, **args)

    def trainer(self, net: Network) -> Trainer:
        return Trainer(net, self.X, self.Y, lr=self.lr, batch_size=self.batch_size, seed=0)


def toy(n=300):
    data = datasets.toy("circles", n=n, noise=0.1, seed=0)
    return data.X, data.y


def workloads(quick: bool) -> dict[str, Workload]:
    X, y = toy()
    digits = datasets.digits()
    rng = np.random.default_rng(0)
    m4 = 6_000 if quick else 60_000
    X4 = rng.standard_normal((m4, 784)).astype(np.float32)
    y4 = rng.integers(0, 10, m4)
    scale = 10 if quick else 1
    return {
        "W1": Workload("W1", [2, 10, 5, 1], "relu", "sigmoid", X, y, 0.1, 15_000 // scale),
        "W2": Workload("W2", [2] + [2] * 9 + [1], "linear", "sigmoid", X, y, 0.02, 5_000 // scale,
                       init="xavier_normal"),
        "W3": Workload("W3", [64, 100, 100, 10], "relu", "softmax", digits.X / 16, digits.y, 0.1,
                       20 * -(-len(digits.y) // 128) // scale, batch_size=128),
        # the digits MLP again in float32, in both engines (torch's own default dtype)
        "W3f32": Workload("W3f32", [64, 100, 100, 10], "relu", "softmax", digits.X / 16, digits.y, 0.1,
                          20 * -(-len(digits.y) // 128) // scale, batch_size=128, dtype="float32"),
        "W4": Workload("W4", [784, 100, 100, 10], "relu", "softmax", X4, y4, 0.1, -(-m4 // 128), batch_size=128,
                       dtype="float32"),
    }


# ---------------------------------------------------------------------------------------------
# The two engines, one run each.


def run_explorer(work: Workload, net: Network | None = None) -> tuple[float, float]:
    """Seconds for `steps` updates (construction excluded) and the last cost."""
    net = net or work.network()
    trainer = work.trainer(net)
    start = time.perf_counter()
    cost = trainer.run(work.steps)
    return time.perf_counter() - start, float(cost[0])


def batch_order(work: Workload):
    """The explorer trainer's batches: a permutation per epoch from default_rng(seed), cut in order."""
    m = len(work.X)
    if work.batch_size is None:
        while True:
            yield None
    rng = np.random.default_rng(0)
    while True:
        order = rng.permutation(m)
        for start in range(0, m, work.batch_size):
            yield order[start : start + work.batch_size]


def run_torch(work: Workload, net: Network) -> tuple[float, float]:
    """The same network in PyTorch eager: weights copied from `net` (model 0), plain SGD."""
    dtype = torch.float32 if work.dtype == "float32" else torch.float64
    Ws = [torch.tensor(np.array(w[0]), dtype=dtype, requires_grad=True) for w in net.W]
    bs = [torch.tensor(np.array(b[0]), dtype=dtype, requires_grad=True) for b in net.b]
    X = torch.tensor(np.asarray(work.X), dtype=dtype)
    if work.output == "softmax":
        Y = torch.tensor(np.asarray(work.Y), dtype=torch.long)
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        Y = torch.tensor(np.asarray(work.Y, dtype=float).reshape(-1, 1), dtype=dtype)
        loss_fn = torch.nn.BCEWithLogitsLoss()
    act = torch.relu if work.hidden == "relu" else (lambda z: z)
    optimizer = torch.optim.SGD(Ws + bs, lr=work.lr)
    batches = batch_order(work)
    L = len(Ws)

    def cost(xb, yb):
        a = xb
        for l in range(L):
            z = torch.nn.functional.linear(a, Ws[l], bs[l])
            a = act(z) if l < L - 1 else z
        return loss_fn(a, yb)

    def step(xb, yb):
        optimizer.zero_grad(set_to_none=True)
        loss = cost(xb, yb)
        loss.backward()
        optimizer.step()
        return loss

    def examples(batch):
        if batch is None:
            return X, Y
        index = torch.from_numpy(batch)
        return X[index], Y[index]

    start = time.perf_counter()
    for _ in range(work.steps):
        loss = step(*examples(next(batches)))
    elapsed = time.perf_counter() - start
    # The cost explorer reports after `steps` updates: that of its snapshot, the next step's batch (untimed).
    with torch.no_grad():
        loss = cost(*examples(next(batches)))
    return elapsed, float(loss)


# ---------------------------------------------------------------------------------------------
# Counting numpy calls in the engine's code.


class CountingModule:
    """Stands in for `np` inside the engine's modules: counts every call made through it."""

    def __init__(self, module, counts: Counter) -> None:
        self._module, self._counts = module, counts

    def __getattr__(self, name):
        value = getattr(self._module, name)
        if not callable(value) or isinstance(value, type):
            return value
        return CountedCall(value, f"np.{name}", self._counts)


class CountedCall:
    """A numpy function or ufunc that counts its calls, and its methods' calls (np.add.reduce)."""

    def __init__(self, function, name: str, counts: Counter) -> None:
        self._function, self._name, self._counts = function, name, counts

    def __call__(self, *args, **kwargs):
        self._counts[self._name] += 1
        return self._function(*args, **kwargs)

    def __getattr__(self, attribute):
        value = getattr(self._function, attribute)
        return CountedCall(value, f"{self._name}.{attribute}", self._counts) if callable(value) else value


def count_numpy_calls(work: Workload, steps: int = 200) -> tuple[float, Counter]:
    """numpy calls per training step in explorer's code: functions and ufuncs called through `np` (and
    the output's sigmoid, four ufuncs, and np.dot as the engine holds it), plus ndarray methods (seen by
    sys.setprofile as C calls from the engine's frames)."""
    net = work.network()
    trainer = work.trainer(net)
    engine_files = {network_module.__file__, training_module.__file__}
    counts: Counter = Counter()

    def profile(frame, event, arg):
        if event == "c_call" and frame.f_code.co_filename in engine_files:
            owner = getattr(arg, "__self__", None)
            if isinstance(owner, (np.ndarray, np.generic)):
                counts[f"ndarray.{arg.__name__}"] += 1
            elif arg is network_module.dot:  # np.dot's undispatched implementation, bound at import
                counts["np.dot"] += 1

    saved = network_module.np, training_module.np, network_module.sigmoid
    network_module.np = CountingModule(np, counts)
    training_module.np = CountingModule(np, counts)
    real_sigmoid = network_module.sigmoid

    def sigmoid(*args, **kwargs):
        counts["activations.sigmoid (negative, exp, add, reciprocal)"] += 4
        return real_sigmoid(*args, **kwargs)

    network_module.sigmoid = sigmoid
    try:
        snaps = trainer.snapshots(every=steps + 10, steps=steps + 5)
        next(snaps)  # the snapshot at step 0 is not part of the count
        counts.clear()
        sys.setprofile(profile)
        steps_before = trainer.step
        # pull until `steps` more updates were made: the next snapshot is due only at the end
        for _ in range(steps):
            batch = trainer.next_batch()
            with np.errstate(all="ignore"):
                _, bwd, _ = trainer.forward_backward(batch)
                trainer.update(bwd)
        sys.setprofile(None)
        done = trainer.step - steps_before
    finally:
        sys.setprofile(None)
        network_module.np, training_module.np, network_module.sigmoid = saved
    return sum(counts.values()) / done, Counter({k: v / done for k, v in counts.items()})


# ---------------------------------------------------------------------------------------------


def gemm_rate(dtype=np.float32, n: int = 1024, repeats: int = 5) -> float:
    """This machine's GEMM rate in GFLOP/s on one BLAS thread (best of `repeats`)."""
    from threadpoolctl import threadpool_limits

    a = np.random.default_rng(0).standard_normal((n, n)).astype(dtype)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(dtype)
    c = np.empty((n, n), dtype)
    best = float("inf")
    with threadpool_limits(1, "blas"):
        np.matmul(a, b, out=c)
        for _ in range(repeats):
            start = time.perf_counter()
            np.matmul(a, b, out=c)
            best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def gemm_flops_per_epoch(work: Workload) -> float:
    """Floating-point operations of the matrix products one epoch of `work` computes (bias columns included):
    forward Z = [A, 1] [W, b]^T, backward dW = dZ^T [A, 1] and dA = dZ W for every layer but the first."""
    m = len(work.X)
    flops = 0
    for l in range(1, len(work.sizes)):
        n_in, n_out = work.sizes[l - 1], work.sizes[l]
        flops += 2 * 2 * m * (n_in + 1) * n_out  # forward and dW
        if l > 1:
            flops += 2 * m * n_out * n_in
    return flops


def snapshot_run(work: Workload, every: int | None) -> float:
    """Seconds for `work.steps` steps with a snapshot every `every` steps (None: only the first and last)."""
    trainer = work.trainer(work.network())
    start = time.perf_counter()
    for _ in trainer.snapshots(every=every or work.steps + 1, steps=work.steps):
        pass
    return time.perf_counter() - start


def summary(times: list[float]) -> str:
    return f"median {statistics.median(times):8.3f} s  (min {min(times):.3f}, max {max(times):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats after one warm-up (default 5)")
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps and data, for a smoke run")
    parser.add_argument("--pairs", type=int, default=11, help="W1 runs with and without snapshots (default 11)")
    args = parser.parse_args()

    works = workloads(args.quick)
    load = os.getloadavg()
    print(f"numpy {np.__version__}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    times: dict[str, dict[str, list[float]]] = {}
    costs: dict[str, tuple[float, float]] = {}
    w1 = works["W1"]
    stack_inits = ["he_normal", "xavier_normal", "lecun_normal", "he_uniform"]
    for repeat in range(args.repeats + 1):  # repeat 0 is the warm-up
        for name, work in works.items():
            net = work.network()
            runs = [("explorer", lambda work=work, net=net: run_explorer(work, net)),
                    ("torch", lambda work=work: run_torch(work, work.network()))]
            if repeat % 2:
                runs.reverse()
            for engine, run in runs:
                elapsed, cost = run()
                if repeat:
                    times.setdefault(name, {}).setdefault(engine, []).append(elapsed)
                costs.setdefault(name, {})[engine] = cost
        # W5: four initializations of W1 stacked, one alone, four separate runs
        stacked = w1.network(init=stack_inits, seed=[0, 1, 2, 3])  # layout "auto": packed here
        elapsed_stacked, _ = run_explorer(w1, stacked)
        other_layout = w1.network(init=stack_inits, seed=[0, 1, 2, 3], layout="stacked")
        elapsed_other_layout, _ = run_explorer(w1, other_layout)
        elapsed_one, _ = run_explorer(w1, w1.network(init=stack_inits[0]))
        elapsed_four = sum(run_explorer(w1, w1.network(init=i, seed=k))[0] for k, i in enumerate(stack_inits))
        # float32 against float64
        elapsed_plain, _ = run_explorer(w1, w1.network())
        elapsed_f32, _ = run_explorer(w1, w1.network(dtype="float32"))
        if repeat:
            for key, value in [("stacked", elapsed_stacked), ("one", elapsed_one), ("four", elapsed_four),
                               ("stacked_layout", elapsed_other_layout),
                               ("plain", elapsed_plain), ("float32", elapsed_f32)]:
                times.setdefault("W5", {}).setdefault(key, []).append(value)
        print(f"repeat {repeat}{' (warm-up)' if not repeat else ''} done, load {os.getloadavg()[0]:.2f}", flush=True)

    med = {name: {key: statistics.median(values) for key, values in entry.items()} for name, entry in times.items()}
    result = {}
    print()
    for name in works:
        e, t = med[name]["explorer"], med[name]["torch"]
        ce, ct = costs[name]["explorer"], costs[name]["torch"]
        gap = abs(ce - ct) / max(abs(ct), 1e-12)  # the same computation: float rounding apart
        result[name] = {"explorer_s": round(e, 4), "torch_s": round(t, 4), "speedup": round(t / e, 2),
                        "cost_gap": float(f"{gap:.1e}")}
        print(f"{name}: explorer {summary(times[name]['explorer'])}")
        print(f"    torch    {summary(times[name]['torch'])}   speedup {t / e:.2f}x   "
              f"final cost explorer {ce:.6f} torch {ct:.6f} (relative gap {gap:.1e})")
    w5 = med["W5"]
    result["W5"] = {"stacked_s": round(w5["stacked"], 4), "one_s": round(w5["one"], 4),
                    "four_separate_s": round(w5["four"], 4), "stacked_over_one": round(w5["stacked"] / w5["one"], 2)}
    result["W5"]["stacked_layout_s"] = round(w5["stacked_layout"], 4)
    print(f"W5: K=4 stacked {summary(times['W5']['stacked'])}; one model {summary(times['W5']['one'])}; "
          f"four separate runs {summary(times['W5']['four'])}; stacked/one {w5['stacked'] / w5['one']:.2f}; "
          f"four separate/stacked {w5['four'] / w5['stacked']:.2f}")
    print(f"    K=4 in the (K, n, m) 'stacked' layout instead of packed block-diagonal: "
          f"{summary(times['W5']['stacked_layout'])}")

    # Snapshots every 100 steps against none: W1 run both ways right after each other, alternating which
    # goes first, and compared pair by pair (the machine's load drifts between pairs).
    with_snapshots, without, pairs = [], [], []
    for pair in range(args.pairs):
        if pair % 2:
            plain = snapshot_run(w1, every=None)
            snapshots = snapshot_run(w1, every=100)
        else:
            snapshots = snapshot_run(w1, every=100)
            plain = snapshot_run(w1, every=None)
        with_snapshots.append(snapshots)
        without.append(plain)
        pairs.append(snapshots / plain - 1)
    overhead = statistics.median(pairs)
    low, _, high = statistics.quantiles(pairs, n=4)
    print(f"W1 with snapshots every 100 steps: {summary(with_snapshots)}; without: {summary(without)}; "
          f"overhead {100 * overhead:.1f}% (median of {len(pairs)} pairs run back to back; "
          f"quartiles {100 * low:.1f}% to {100 * high:.1f}%)")
    print(f"W1 float32: {summary(times['W5']['float32'])}; float64/float32 {w5['plain'] / w5['float32']:.2f}x")

    per_step, counts = count_numpy_calls(w1)
    print(f"W1 numpy calls per step: {per_step:.1f}: " + ", ".join(f"{k} {v:g}" for k, v in counts.most_common()))

    peak = gemm_rate()
    w4 = works["W4"]
    achieved = gemm_flops_per_epoch(w4) / med["W4"]["explorer"] / 1e9
    print(f"W4: {achieved:.1f} GFLOP/s in the matrix products against a float32 GEMM rate of {peak:.1f} GFLOP/s "
          f"(1024^3, one thread): {100 * achieved / peak:.0f}%")
    result["W1"]["numpy_calls_per_step"] = round(per_step, 1)
    result["W1"]["snapshot_overhead"] = round(overhead, 3)
    result["W1"]["float32_s"] = round(w5["float32"], 4)
    result["W4"]["gflops"] = round(achieved, 2)
    result["W4"]["gemm_peak_gflops"] = round(peak, 2)
    result["W4"]["fraction_of_gemm_peak"] = round(achieved / peak, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
