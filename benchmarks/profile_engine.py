"""Where the engine's time goes, by py-spy's native samples: BLAS, numpy's element-wise loops, numpy's and
CPython's call machinery, Python code: where a speed target is not reached, this says what bounds it.

    .venv/bin/pip install py-spy                   # a profiling-only dependency, like torch for bench_engine
    .venv/bin/py-spy record --native -r 250 -f raw -o /tmp/w1.raw -- .venv/bin/python benchmarks/profile_engine.py W1
    .venv/bin/python benchmarks/profile_engine.py --summarize /tmp/w1.raw

W1: the three-layer network 2-10-5-1 on 300 points, 60,000 full-batch steps. W3: digits 64-100-100-10 in float64,
batch 128, 6,000 steps. W5: W1 four times, stacked (packed), 20,000 steps. All on one BLAS thread.
The summary counts only the samples taken inside the training loop, each by the function it was in (its leaf).
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import datasets  # noqa: E402
from explorer.network import Network  # noqa: E402
from explorer.training import Trainer  # noqa: E402

BLAS = ("openblas", "HASWELL", "gemm", "gemv", "axpy")
LOOPS = ("DOUBLE_", "FLOAT_", "expit", "libm", "simd")


def train(workload: str) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        if workload == "W3":
            digits = datasets.digits()
            net = Network([64, 100, 100, 10], hidden="relu", output="softmax", init="he_normal", seed=0)
            Trainer(net, digits.X / 16, digits.y, lr=0.1, batch_size=128, seed=0).run(6_000)
            return
        K, steps = (4, 20_000) if workload == "W5" else (1, 60_000)
        data = datasets.toy("circles", n=300, noise=0.1, seed=0)
        net = Network([2, 10, 5, 1], hidden="relu", output="sigmoid", init="he_normal", seed=list(range(K)))
        Trainer(net, data.X, data.y, lr=0.1, seed=0).run(steps)


def kind(leaf: str) -> str:
    if any(mark in leaf for mark in BLAS):
        return "BLAS (matrix products, axpy, dot)"
    if any(mark in leaf for mark in LOOPS):
        return "numpy's element-wise loops"
    if ".py:" in leaf:
        return "Python code"
    return "numpy's and CPython's call machinery, libc"


def summarize(raw: Path) -> None:
    """Shares of py-spy's raw samples ("frame;frame;... count" lines) by kind of leaf, and the top leaves."""
    kinds, leaves = collections.Counter(), collections.Counter()
    for line in raw.read_text().splitlines():
        stack, count = line.rsplit(" ", 1)
        if "Trainer._snapshots" not in stack:  # imports and set-up
            continue
        leaf = re.sub(r"0x[0-9a-f]+ ", "", stack.split(";")[-1])
        kinds[kind(leaf)] += int(count)
        leaves[leaf] += int(count)
    total = sum(kinds.values())
    print(f"{raw}: {total} samples in the training loop")
    for name, count in kinds.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("  top functions:")
    for name, count in leaves.most_common(8):
        print(f"    {100 * count / total:5.1f}%  {name[:90]}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", nargs="?", choices=["W1", "W3", "W5"], default="W1")
    parser.add_argument("--summarize", type=Path, help="summarize a py-spy raw file instead of training")
    args = parser.parse_args()
    if args.summarize:
        summarize(args.summarize)
    else:
        train(args.workload)
