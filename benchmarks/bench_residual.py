"""Residual networks: the figures the residual notebook states, with their time.

    .venv/bin/python benchmarks/bench_residual.py [--quick]

1. Variance at initialization, measured over 16 draws at width 128, depth 50, against explorer.theory.residual:
   the stream's E[x_L^2] / E[x_0^2] and the gradient's E[g_0^2] / E[g_L^2] for every start.
2. The papers' claims at a small scale: every start at depth 50 (two-layer branches, width 32) on 512 digits, SGD
   at learning rate 0.05 on batches of 64, 300 steps: cost on all 512 after training (what tests/test_residual.py
   pins with margins).
3. The trainability sweep of the app (explorer.residual.DepthSweepConfig's defaults: depths 10-200, 200 steps),
   uncached, with its time. --quick: depths 10 and 50 only.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer import residual  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    keys = list(residual.STARTS)

    began = time.perf_counter()
    m = residual.measure_residual(keys, 128, 50, branch_layers=2, draws=4 if args.quick else 16, seed=0)
    print(f"1. variance at init, width 128, depth 50, {m.draws} draws ({time.perf_counter() - began:.1f} s)")
    print(f"{'start':12s} {'x_L/x_0 meas':>13s} {'pred':>11s} {'g_0/g_L meas':>13s} {'pred':>11s}")
    for k, key in enumerate(keys):
        print(f"{key:12s} {m.stream[-1, k] / m.stream[0, k]:13.4g} {m.predicted_stream[-1, k] / m.stream[0, k]:11.4g}"
              f" {m.grad[0, k]:13.4g} {m.predicted_grad[0, k]:11.4g}")

    began = time.perf_counter()
    X, y = residual.digits_task(512, seed=0)
    net = residual.ResidualNet(64, 32, 50, 10, starts=keys, seed=list(range(len(keys))), branch_layers=2)
    trainer = residual.ResidualTrainer(net, X, y, lr=0.05, batch_size=64, seed=0)
    trainer.run(300)
    targets = net.check_targets(y, len(y)).T
    with np.errstate(all="ignore"):
        fwd = net.forward(X)
        cost, accuracy = net.cost(fwd, targets), net.accuracy(fwd, targets)
    print(f"\n2. depth 50, width 32, 300 steps, lr 0.05 ({time.perf_counter() - began:.1f} s)")
    for k, key in enumerate(keys):
        at = trainer.diverged_at[k]
        state = f"diverged at step {at}" if at >= 0 else f"cost {cost[k]:.3f}, accuracy {accuracy[k]:.3f}"
        print(f"{key:12s} {state}")

    config = residual.DepthSweepConfig(depths=(10, 50) if args.quick else residual.DepthSweepConfig.depths)
    began = time.perf_counter()
    result = None
    for item in residual.depth_sweep(config, cache=False):
        result = item.result or result
    print(f"\n3. trainability sweep: cost after {config.steps} steps (lr {config.lr}, width {config.width}), "
          f"{time.perf_counter() - began:.1f} s")
    print(f"{'start':12s} " + " ".join(f"L={d:<6d}" for d in config.depths))
    for k, key in enumerate(config.starts):
        cells = ["diverged" if result.diverged[i, k] else f"{result.cost[i, k]:.3f}" for i in range(len(config.depths))]
        print(f"{key:12s} " + " ".join(f"{c:8s}" for c in cells))


if __name__ == "__main__":
    main()
