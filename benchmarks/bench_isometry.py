"""Dynamical isometry, measured: the variance of J J^T's spectrum against the predictions, and the training speed of
deep tanh networks at criticality under Gaussian and orthogonal weights (explorer.isometry).

    .venv/bin/python benchmarks/bench_isometry.py spectra [--width 256] [--depths 4,16,64] [--seeds 4]
    .venv/bin/python benchmarks/bench_isometry.py train [--depth 32] [--width 64] [--seeds 3] [--lr 0.01]
    .venv/bin/python benchmarks/bench_isometry.py time [--width 256] [--depth 256]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from explorer import isometry
from explorer.training import Trainer


def spectra(args) -> None:
    depths = [int(d) for d in args.depths.split(",")]
    print(f"width {args.width}, q* = {args.q_star:g}, {args.seeds} seeds; variance of J J^T's spectrum "
          f"(mean of the spectrum in brackets)")
    for activation in isometry.ACTIVATIONS:
        for weights in isometry.WEIGHTS:
            began = time.perf_counter()
            found = [isometry.spectra(activation, weights, args.width, depths, args.q_star, seed)
                     for seed in range(args.seeds)]
            seconds = time.perf_counter() - began
            for depth in depths:
                v = np.array([np.var(f[depth]) for f in found])
                m = np.array([np.mean(f[depth]) for f in found])
                predicted = float(isometry.predicted_variance(activation, weights, depth, args.q_star))
                exact = ""
                if activation == "linear" and weights == "gaussian":
                    moments = isometry.linear_gaussian_moments(depth, args.width)
                    exact = f", exact at this width {moments.variance[-1]:.4g}"
                print(f"  {activation:6s} {weights:10s} L={depth:4d}: measured {v.mean():.4g} ± {v.std(ddof=1):.2g} "
                      f"(sd over seeds) [mean {m.mean():.4f} ± {m.std(ddof=1):.2g}], predicted {predicted:.4g}{exact}")
            print(f"    ({seconds:.2f} s for {args.seeds} walks to depth {max(depths)})")


def train(args) -> None:
    X, y, X_test, y_test = isometry.comparison_data(args.q_star)
    print(f"digits, tanh 64-({args.depth}x{args.width})-10 at criticality q* = {args.q_star:g}, SGD lr {args.lr}, "
          f"batch {args.batch}, {args.steps} steps; steps to reach cost < {args.threshold} (Gaussian, orthogonal)")
    for seed in range(args.seeds):
        net = isometry.comparison_network(X.shape[1], 10, args.depth, args.width, args.q_star, seed)
        trainer = Trainer(net, X, y, lr=args.lr, batch_size=args.batch, seed=seed,
                          evaluate={"test": (X_test, y_test)})
        began = time.perf_counter()
        reached = [None, None]
        costs = []
        for snap in trainer.snapshots(every=10, steps=args.steps):
            cost = snap.evaluation["test"][0] if args.test_cost else snap.cost
            costs.append(cost)
            for k in range(2):
                if reached[k] is None and cost[k] < args.threshold:
                    reached[k] = snap.step
        last = costs[-1]
        print(f"  seed {seed}: reached at {reached}; final cost {last[0]:.3f} / {last[1]:.3f}; "
              f"{time.perf_counter() - began:.1f} s")


def timing(args) -> None:
    for weights in isometry.WEIGHTS:
        walk = isometry.JacobianWalk("tanh", weights, args.width, 1 / 64, 0)
        began = time.perf_counter()
        for _ in range(args.depth):
            walk.step()
        stepped = time.perf_counter() - began
        began = time.perf_counter()
        walk.squared_singular_values()
        print(f"{weights}: width {args.width}, {args.depth} layers in {stepped:.2f} s, one SVD "
              f"{time.perf_counter() - began:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("spectra", "train", "time"))
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--depths", default="4,16,64")
    parser.add_argument("--depth", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--q-star", type=float, default=1 / 64)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--threshold", type=float, default=1.0)
    parser.add_argument("--test-cost", action="store_true", help="the threshold applies to the test cost")
    args = parser.parse_args()
    with threadpool_limits(1):
        {"spectra": spectra, "train": train, "time": timing}[args.what](args)


if __name__ == "__main__":
    main()
