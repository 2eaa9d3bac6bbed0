"""Many users at once: N browser sessions against one Voila dashboard server; prints the figures.

    .venv/bin/python benchmarks/bench_load.py [--sessions 10] [--cull-idle 60] [--cull-interval 2]

Runs the scenario of tests/browser/test_load.py (the same code): N pages opened at once in one headless
Chromium, each must render and train on its own; then half close normally and half vanish, and the
kernels must all go. Prints time to first render (median, worst), the server's memory (RSS of Voila and
its kernels, from /proc), the longest wait of a kernel for its page, and how long the kernels took to go.
Voila reads voila.json (run from the repository root); --cull-idle/--cull-interval override its culling.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import test_load  # noqa: E402  (tests/browser, for browserkit and dashkit too)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--cull-idle", type=int, default=test_load.TEST_CULL_IDLE, help="seconds")
    parser.add_argument("--cull-interval", type=int, default=test_load.TEST_CULL_INTERVAL, help="seconds")
    parser.add_argument("--load-timeout", type=float, default=test_load.LOAD_TIMEOUT, help="seconds")
    args = parser.parse_args()
    test_load.LOAD_TIMEOUT = args.load_timeout

    from playwright.sync_api import sync_playwright

    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    print(f"[bench_load] {args.sessions} sessions, culling idle {args.cull_idle} s every {args.cull_interval} s; "
          f"load average before: {' '.join(load)}")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    server = test_load.start_server(log_dir, args.cull_idle, args.cull_interval)
    started = time.monotonic()
    try:
        with sync_playwright() as playwright:
            bound = args.cull_idle + args.cull_interval + test_load.SHUTDOWN_SLACK
            result = test_load.run_scenario(playwright, server, args.sessions, bound,
                                            report=lambda line: print(line, flush=True))
    finally:
        server.stop()
    result["whole run s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=2))
    print(f"[bench_load] Voila log: {log_dir / 'voila-load.log'}")


if __name__ == "__main__":
    main()
