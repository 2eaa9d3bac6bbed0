"""Time the width-transfer sweep (explorer.mup) and print what it measured: the best learning rate of each width
under SP and μP, the losses, and the coordinate check's exponents.

    .venv/bin/python benchmarks/bench_mup.py                        # the dashboard's default sweep
    .venv/bin/python benchmarks/bench_mup.py --widths 64 128 256 512 1024 2048 --steps 1000 --n-jobs 2

Nothing is read from or written to the cache: every run is computed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from explorer import mup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = mup.TransferConfig()
    parser.add_argument("--widths", type=int, nargs="+", default=list(default.widths))
    parser.add_argument("--lr-min", type=int, default=int(min(default.log2_lr)))
    parser.add_argument("--lr-max", type=int, default=int(max(default.log2_lr)))
    parser.add_argument("--steps", type=int, default=default.steps)
    parser.add_argument("--batch-size", type=int, default=default.batch_size)
    parser.add_argument("--optimizer", default=default.optimizer, choices=mup.OPTIMIZERS)
    parser.add_argument("--dtype", default=default.dtype, choices=("float32", "float64"))
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--coord-widths", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--coord-lr", type=float, default=-3.0)
    args = parser.parse_args()

    config = mup.TransferConfig(widths=tuple(args.widths), log2_lr=tuple(range(args.lr_min, args.lr_max + 1)),
                                steps=args.steps, batch_size=args.batch_size, optimizer=args.optimizer,
                                dtype=args.dtype, seed=args.seed)
    print(f"config: {config}")
    began = time.perf_counter()
    result = mup.transfer_sweep(config, cache=False, n_jobs=args.n_jobs)
    seconds = time.perf_counter() - began
    runs = result.loss.size
    print(f"sweep: {runs} networks x {config.steps} steps in {seconds:.1f} s "
          f"({seconds / runs * 1000:.0f} ms a network)")
    best = result.best_log2_lr()
    grid = "  ".join(f"{v:>6g}" for v in config.log2_lr)
    for pi, p in enumerate(config.parametrizations):
        print(f"\n{mup.PARAMETRIZATIONS[p]}: loss after {config.steps} steps;  log2 lr: {grid}")
        for wi, width in enumerate(config.widths):
            row = "  ".join(f"{v:6.3f}" if np.isfinite(v) else "   div" for v in result.loss[pi, wi])
            print(f"  width {width:>5}  best log2 lr {best[pi, wi]:>5g}   {row}")
        shift = best[pi, -1] - best[pi, 0]
        print(f"  best log2 lr moves by {shift:+g} from width {config.widths[0]} to {config.widths[-1]}")

    for p in config.parametrizations:
        began = time.perf_counter()
        check = mup.coordinate_check(p, args.coord_widths, log2_lr=args.coord_lr)
        took = time.perf_counter() - began
        print(f"\ncoordinate check {mup.PARAMETRIZATIONS[p]} (log2 lr {args.coord_lr}, widths {args.coord_widths}, "
              f"{took:.1f} s); exponent p of size ~ n^p, predicted after one step: {mup.expected_slopes(p)}")
        for t in range(1, check.rms.shape[1]):
            change, rms = np.round(check.slopes(t), 2), np.round(check.slopes(t, "rms"), 2)
            print(f"  step {t}: change p = {change}   rms p = {rms}")
        print("  rms at the last step, per width (rows) and layer (columns):")
        for width, row in zip(check.widths, check.rms[:, -1], strict=True):
            print(f"    {width:>5}  " + "  ".join(f"{v:10.3g}" for v in row))


if __name__ == "__main__":
    main()
