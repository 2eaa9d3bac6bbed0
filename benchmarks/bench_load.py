"""Many users at once: browser sessions against one Voila dashboard server; prints the figures.

    .venv/bin/python benchmarks/bench_load.py [--sessions 10] [--cull-idle 60] [--cull-interval 2]
    .venv/bin/python benchmarks/bench_load.py --pool 10 --waves 1,10,10 [--pool-timeout 600] [--voila-option=...]

Without --waves: the scenario of tests/browser/test_load.py (the same code, no pre-warmed kernels): N pages
opened at once in one headless Chromium, each must render and train on its own; then half close normally
and half vanish, and the kernels must all go. Prints time to first render (median, worst), the server's
memory (RSS of Voila and its kernels, from /proc), the longest wait of a kernel for its page, and how long
the kernels took to go. Voila reads voila.json (run from the repository root); --cull-idle/--cull-interval
override its culling.

With --waves: capacity with a pool of --pool pre-warmed kernels (0: none). Each wave opens its number of pages
at once, once the pool is full and idle; every page must show its first plot; then they all close and the
next wave waits for their kernels to go and the pool to refill. For each wave it prints:
- first plot (median, worst = the last page's) in s from opening the page;
- where a page's time goes (median over the pages, s from opening it): the page's HTML complete (the
  kernel has run the notebook, or a pre-warmed one has applied the page's query), the first message from
  its kernel (the page's scripts loaded and its widget manager connected), the tabs on screen (the widget
  state received and the views built), the first plot; and what each page received from its kernel until
  then (kB, messages);
- CPU seconds used while the wave loaded, by Voila, by the pages' kernels (total and per page), by the other
  kernels (the pool refilling) and by the browser: on a 2-core machine their sum over the wall time shows
  which one the pages waited for;
- memory, from /proc: the server's total (RSS, which counts the libraries every kernel shares once per
  kernel; and PSS, which shares them out), each page's kernel (median RSS and PSS), and per visitor (its
  kernel's PSS plus Voila's growth per page).
The load average is printed before every wave: figures taken on a busy machine are longer.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "browser"))

import browserkit  # noqa: E402
import test_load  # noqa: E402  (tests/browser, for browserkit and dashkit too)

# Runs in every page before its own scripts, with test_load.FIRST_RENDER: the times (ms since the navigation
# started) of the first message from the kernel and of the tabs on screen, and what the kernel's websocket
# brought until the first plot.
TIMELINE = """
window.__ws = {first: null, bytes: 0, messages: 0};
window.__tabs = null;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
    constructor(...args) {
        super(...args);
        if (!String(args[0]).includes('/channels')) return;
        this.addEventListener('message', event => {
            if (window.__firstRender !== null) return;
            const ws = window.__ws, data = event.data;
            if (ws.first === null) ws.first = performance.now();
            ws.messages += 1;
            ws.bytes += typeof data === 'string' ? data.length : (data.byteLength ?? data.size ?? 0);
        });
    }
};
const __tabsTimer = setInterval(() => {
    const tab = document.querySelector('.lm-TabBar-tab');
    if (tab && tab.offsetParent !== null) { window.__tabs = performance.now(); clearInterval(__tabsTimer); }
}, 50);
"""

PAGE_FIGURES = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    return {html: nav ? nav.responseEnd : null, kernel: window.__ws.first, tabs: window.__tabs,
            plot: window.__firstRender, bytes: window.__ws.bytes, messages: window.__ws.messages,
            kernelId: JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId};
}"""


def load_average() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def browser_cpu() -> float:
    """CPU seconds used so far by the Chromium processes under this Python (through Playwright's driver)."""
    total = 0.0
    for pid in browserkit._tree(os.getpid())[1:]:
        try:
            if b"chrom" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                total += test_load.cpu_seconds(pid)
        except OSError:
            continue
    return total


def median(values) -> float:
    return round(statistics.median(values), 2) if values else float("nan")


def wave(browser, server: browserkit.Server, pages_at_once: int, pool: int, timeout: float) -> dict:
    """Open `pages_at_once` pages at once; wait for every first plot; measure; close them all."""
    before_kernels = set(test_load.kernel_pid_by_id(server))
    voila_rss_before = test_load.rss_mb(server.proc.pid)
    cpu_before = {"voila": test_load.cpu_seconds(server.proc.pid), "browser": browser_cpu(),
                  "kernels": {pid: test_load.cpu_seconds(pid) for pid in test_load.kernel_pids(server)}}
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(test_load.FIRST_RENDER + TIMELINE)
    pages = [context.new_page() for _ in range(pages_at_once)]
    started = time.monotonic()
    for page in pages:  # all at once: the navigation is started, not waited for
        page.evaluate("url => { window.location.href = url; }", server.url)
    test_load.wait_all(pages, lambda page: test_load.safe_evaluate(page, "() => window.__firstRender") is not None,
                       timeout, "the first tab's figure with its step 0")
    wall = time.monotonic() - started
    figures = [page.evaluate(PAGE_FIGURES) for page in pages]
    kernels = test_load.kernel_pid_by_id(server)
    page_pids = [kernels[f["kernelId"]] for f in figures if f["kernelId"] in kernels]
    cpu_kernels = {pid: test_load.cpu_seconds(pid) - cpu_before["kernels"].get(pid, 0.0)
                   for pid in test_load.kernel_pids(server)}
    page_cpu = [cpu_kernels.get(pid, 0.0) for pid in page_pids]
    voila_rss = test_load.rss_mb(server.proc.pid)
    page_rss = [test_load.rss_mb(pid) for pid in page_pids]
    page_pss = [test_load.pss_mb(pid) for pid in page_pids]
    server_pss = sum(test_load.pss_mb(pid) for pid in [server.proc.pid, *test_load.kernel_pids(server)])
    log = server.log(2_000_000)
    result = {
        "pages": pages_at_once, "pool": pool,
        "from the pool": sum(1 for f in figures if f["kernelId"] in before_kernels),
        "first plot median s": median([f["plot"] / 1000 for f in figures]),
        "first plot worst s": round(max(f["plot"] for f in figures) / 1000, 2),
        "all rendered s": round(wall, 1),
        "timeline median s": {key: median([f[key] / 1000 for f in figures if f[key] is not None])
                              for key in ("html", "kernel", "tabs", "plot")},
        "received until first plot": {"kB": median([f["bytes"] / 1000 for f in figures]),
                                      "messages": median([f["messages"] for f in figures])},
        "cpu s while loading": {
            "voila": round(test_load.cpu_seconds(server.proc.pid) - cpu_before["voila"], 1),
            "page kernels": round(sum(page_cpu), 1), "per page kernel": median(page_cpu),
            "other kernels (pool refill)": round(sum(cpu_kernels.values()) - sum(page_cpu), 1),
            "browser": round(browser_cpu() - cpu_before["browser"], 1),
            "wall": round(wall, 1)},
        "memory MB": {"server total (RSS)": test_load.server_memory(server)["total MB"],
                      "server total (PSS)": round(server_pss),
                      "voila": round(voila_rss), "page kernel median RSS": median(page_rss),
                      "page kernel median PSS": median(page_pss),
                      "per visitor": round(median(page_pss) + (voila_rss - voila_rss_before) / pages_at_once)},
        "pre-warmed kernels used (server log)": log.count("Using pre-heated kernel"),
    }
    problems = {i: p for i, page in enumerate(pages) if (p := test_load.dk.page_text_problems(page))}
    assert not problems, f"errors shown in pages: {problems}"
    ids = [f["kernelId"] for f in figures]
    assert len(set(ids)) == pages_at_once, "pages share a kernel"
    closed = time.monotonic()
    for page in pages:  # as a tab closes: Voila's page asks for its kernel's shutdown
        page.close(run_before_unload=True)
    context.close()
    while any(k in test_load.kernel_pid_by_id(server) for k in ids) and time.monotonic() - closed < 120:
        time.sleep(0.5)
    left = sum(k in test_load.kernel_pid_by_id(server) for k in ids)
    result["closed: kernels gone after s"] = round(time.monotonic() - closed, 1) if not left else f"{left} left"
    return result


def capacity(args) -> None:
    from playwright.sync_api import sync_playwright

    waves = [int(n) for n in args.waves.split(",")]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    print(f"[bench_load] pool {args.pool}, waves {waves}; load average before the server: {load_average()}",
          flush=True)
    server = test_load.start_server(log_dir, pool=args.pool, options=tuple(args.voila_option))
    results = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browserkit.CHROMIUM, headless=True,
                                                 args=browserkit.CHROMIUM_ARGS)
            try:
                for n in waves:
                    waited = test_load.wait_for_pool(server, args.pool, timeout=args.pool_timeout)
                    idle = test_load.server_memory(server)
                    print(f"[bench_load] pool ready ({waited:.0f} s; server {idle['total MB']} MB with "
                          f"{idle['kernels']} idle kernels); {n} pages at once; load average {load_average()}",
                          flush=True)
                    result = wave(browser, server, n, args.pool, args.load_timeout)
                    result["load average before"] = load_average()
                    result["idle server MB"] = idle["total MB"]
                    results.append(result)
                    print(json.dumps(result, indent=2), flush=True)
            finally:
                browser.close()
    finally:
        server.stop()
    print("[bench_load] wave: pages, from the pool, first plot median / worst s, per visitor MB, server MB")
    for r in results:
        print(f"  {r['pages']:3d} pages, {r['from the pool']:3d} from the pool: {r['first plot median s']:5.1f} / "
              f"{r['first plot worst s']:5.1f} s, {r['memory MB']['per visitor']} MB per visitor, "
              f"{r['memory MB']['server total (PSS)']} MB in all")
    print(f"[bench_load] Voila log: {log_dir / 'voila-load.log'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--cull-idle", type=int, default=test_load.TEST_CULL_IDLE, help="seconds")
    parser.add_argument("--cull-interval", type=int, default=test_load.TEST_CULL_INTERVAL, help="seconds")
    parser.add_argument("--load-timeout", type=float, default=test_load.LOAD_TIMEOUT, help="seconds")
    parser.add_argument("--waves", help="capacity: pages opened at once per wave, e.g. 1,10,10")
    parser.add_argument("--pool", type=int, default=0, help="capacity: pre-warmed kernels (default 0)")
    parser.add_argument("--pool-timeout", type=float, default=600, help="seconds for the pool to be ready")
    parser.add_argument("--voila-option", action="append", default=[],
                        help="capacity: one more Voila option, e.g. --voila-option=--VoilaKernelManager.fill_delay=1")
    args = parser.parse_args()
    if args.waves:
        capacity(args)
        return
    test_load.LOAD_TIMEOUT = args.load_timeout

    from playwright.sync_api import sync_playwright

    print(f"[bench_load] {args.sessions} sessions, culling idle {args.cull_idle} s every {args.cull_interval} s; "
          f"load average before: {load_average()}")
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
