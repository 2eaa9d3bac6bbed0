"""What one dashboard kernel costs: the time to import and build the dashboard in a fresh Python, and its memory.

    .venv/bin/python benchmarks/bench_kernel.py [--runs 3] [--voila]

Each run starts a new Python (as a kernel starts), imports explorer.apps.dashboard, builds Dashboard() (its
first tab) and prints the seconds for the import and for the build, the resident memory (VmRSS from /proc),
and which heavy modules were loaded. --voila runs it as in a Voila kernel (the environment variable
VOILA_KERNEL_ID set), where the dashboard leaves out plotly's notebook-format validation. The load average
is printed with the figures: on a busy machine every time is longer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in the fresh Python.
CHILD = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from explorer.apps.dashboard import Dashboard
t1 = time.perf_counter()
dashboard = Dashboard()
t2 = time.perf_counter()
rss = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
           if line.startswith("VmRSS:")) / 1024
heavy = ["scipy", "sklearn", "kaleido", "choreographer", "nbformat", "jsonschema", "rfc3987_syntax", "pandas",
         "joblib"]
print(json.dumps({"import s": t1 - t0, "build s": t2 - t1, "rss MB": rss,
                  "loaded": [m for m in heavy if m in sys.modules],
                  "apps": sorted(m for m in sys.modules if m.startswith("explorer."))}))
"""


def one_run(voila: bool) -> dict:
    env = dict(os.environ)
    env.pop("VOILA_KERNEL_ID", None)
    if voila:
        env["VOILA_KERNEL_ID"] = "bench-kernel"
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--voila", action="store_true", help="as in a Voila kernel (VOILA_KERNEL_ID set)")
    args = parser.parse_args()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    runs = [one_run(args.voila) for _ in range(args.runs)]
    for key in ("import s", "build s", "rss MB"):
        values = [run[key] for run in runs]
        print(f"{key:>9}: median {statistics.median(values):6.2f}   all {', '.join(f'{v:.2f}' for v in values)}")
    total = [run["import s"] + run["build s"] for run in runs]
    print(f"{'total s':>9}: median {statistics.median(total):6.2f}")
    print(f"heavy modules loaded: {', '.join(runs[-1]['loaded']) or 'none'}")
    print(f"explorer modules loaded: {', '.join(runs[-1]['apps'])}")
    print(f"({'as in a Voila kernel' if args.voila else 'plain Python'}; load average before: {load})")


if __name__ == "__main__":
    main()
