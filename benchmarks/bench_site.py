"""The static site in a browser: page load, live redraws, the engine in Pyodide, downloads; prints the figures.

    .venv/bin/python benchmarks/bench_site.py [--runs 3] [--window 10] [--pauses 3] [--json PATH] [--site DIR]

Builds the site first if build/site is missing (`python3 tasks.py site`), serves it on 127.0.0.1 from a process
of its own (tasks.site_handler, as `tasks.py site --serve` does, plus a log line per response: path, status,
bytes, times) and opens it in headless Chromium (browserkit's flags; every other host is unreachable, and
counted). No figure is asserted; the load average is printed with them (the machine is shared).

1. Page open -> the first tab's figure drawn (voici/render/dashboard.html), --runs times: a cold visit (a fresh
   browser profile) and a warm one (the same profile, the browser restarted), median and each. Where the time
   goes, in s from the navigation's start:
   - html: the page's HTML received; worker: the page's scripts have started the kernel's worker;
   - runtime: the server has sent pyodide.asm.wasm (Pyodide's core; Chromium compiles it as it streams);
   - packages: the first package file requested (loadPyodide is up and loads the kernel's packages), and the
     server has sent the last package file fetched before the kernel was ready;
   - kernel: the kernel runs the notebook's code (its first log line: Pyodide resolving the code's imports,
     "explorer already loaded");
   - output: the notebook's first output in the page (in a browser page the dashboard shows "Starting" until
     the page has reported its query to the kernel, which then builds the first tab);
   - widgets sent: the kernel's last message (to the page, through the worker) before the tab bar showed; the
     count and MB (as JSON) of its messages until then (the dashboard's widgets), and the largest;
   - tabs: the dashboard's tab bar in the page; figure: the first tab's figure drawn.
   Also: what each visit downloaded (the bytes the server sent, requests it answered 304 Not Modified), and
   whether JupyterLite's service worker controls the page and caches anything.
2. The three-layer demo training in the page (bench_live.py's measurements, on the last warm visit, with its
   classic network, which trains longest): redraws and steps per second over --window s of training, and
   Pause -> still figure (ms, the median of --pauses presses).
3. The engine: three-layer steps per second ([2, 6, 3, 1], relu/sigmoid, 300 points, Trainer.run timed) in
   Pyodide, loaded directly from the site in a page of its own, and natively in this process; their ratio. In
   the same page, where a kernel's start goes without the page around it: loadPyodide, the explorer's
   packages, the rest of the kernel's packages (jupyter-lite.json's preload list, one at a time: the slowest
   are printed), each import of the first page in turn (the kernel's first, as the kernel does; each counts
   only what the ones before it had not imported) and the build of the Dashboard with its first tab.
4. Bytes: a first visit's download by its biggest files, and what gzip (which static hosts apply to text and
   .wasm) would make of them; the site on disk (MB, files), and its static/pyodide.
5. A summary table; --json PATH writes every figure.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import multiprocessing
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "browser")]

import bench_live  # noqa: E402  (benchmarks/, beside this file)
import browserkit  # noqa: E402
import dashkit as dk  # noqa: E402

from tasks import site_handler  # noqa: E402  (the repository's root)

SITE = ROOT / "build" / "site"
DASHBOARD = "voici/render/dashboard.html"
LOAD_TIMEOUT = 240_000  # ms
# Every host but this one is unreachable: a request elsewhere fails at once (and is counted) instead of waiting.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
TARGETS = {"cold_s": 20, "warm_s": 10, "redraws_per_s": 5, "pause_ms": 300, "first_visit_mb": 60}
NATIVE_VOILA_REDRAWS = 11  # per second, the dashboard in Voila (bench_live.py)
# The kernel's first log line in a page: Pyodide resolving the notebook's imports before running them.
KERNEL_RUNS = re.compile(r"already loaded from|No new packages to load|^Loading ")
COMPRESSIBLE = (".js", ".mjs", ".json", ".css", ".html", ".wasm", ".svg", ".ipynb", ".txt")

# Page script, before the page's own: the times (ms from the navigation's start) its first output, tab bar and
# drawn figure appeared.
MARKS = """
window.__marks = {};
new MutationObserver(() => {
    const marks = window.__marks, t = performance.now();
    if (!marks.output && document.querySelector('.jp-OutputArea-output')) marks.output = t;
    if (!marks.tabs && document.querySelector('.lm-TabBar-tab')) marks.tabs = t;
    if (!marks.figure && [...document.querySelectorAll('.js-plotly-plot')].some(g =>
        g.offsetParent !== null && g.querySelector('.main-svg') && g.data && g.data.length > 0)) marks.figure = t;
}).observe(document, {subtree: true, childList: true});
// When the first worker (the kernel's, in JupyterLite) started, and every message from it: when, its size as JSON.
window.__workerMessages = [];
window.Worker = class extends window.Worker {
    constructor(...args) {
        super(...args);
        if (window.__marks.worker === undefined) window.__marks.worker = performance.now();
        this.addEventListener('message', event => {
            let size = 0;
            try { size = JSON.stringify(event.data).length; } catch (error) { size = 0; }
            window.__workerMessages.push([performance.now(), size]);
        });
    }
};
"""
PAGE_STATE = """async () => {
    const caches_ = await caches.keys();
    let cached = 0;
    for (const name of caches_) cached += (await (await caches.open(name)).keys()).length;
    return {origin: performance.timeOrigin, html: performance.getEntriesByType('navigation')[0].responseEnd,
            marks: window.__marks, workerMessages: window.__workerMessages,
            serviceWorker: navigator.serviceWorker.controller !== null,
            caches: caches_, cachedResponses: cached};
}"""

# Pyodide straight from the site, in a page of its own: the runtime, then the packages, then Python code.
PYODIDE = """async ([preload, code]) => {
    const seconds = {}, now = () => performance.now() / 1000;
    let began = now();
    const {loadPyodide} = await import("/static/pyodide/pyodide.mjs");
    const py = await loadPyodide({indexURL: "/static/pyodide/"});
    seconds.loadPyodide = now() - began; began = now();
    await py.loadPackage(["explorer"]);
    seconds["explorer's packages"] = now() - began; began = now();
    const packages = {};  // each of the kernel's other packages in turn, with what it needs that is not loaded yet
    for (const name of preload) {
        const one = now();
        await py.loadPackage([name], {messageCallback: () => {}});
        packages[name] = Math.round((now() - one) * 1000) / 1000;
    }
    seconds["the kernel's other packages"] = now() - began;
    await py.runPythonAsync(code);
    return {seconds, packages, python: JSON.parse(py.globals.get("result"))};
}"""
# What a first page imports, in the kernel's order: the kernel (pyodide_kernel), then the notebook's code.
FIRST_IMPORTS = ("IPython", "pyodide_kernel", "numpy", "scipy.special", "ipywidgets", "plotly.graph_objects",
                 "anywidget", "explorer.apps.dashboard")
STARTUP = """
import importlib, json, sys, time
imports = {}
for name in FIRST_IMPORTS:
    began = time.perf_counter()
    try:
        importlib.import_module(name)
        imports[name] = round(time.perf_counter() - began, 3)
    except ImportError:
        imports[name] = None  # not loaded with the page
from IPython import get_ipython
get_ipython().send_comm = lambda *args, **kwargs: None  # the kernel's worker posts these to the page; here, nowhere
began = time.perf_counter()
from explorer.apps.dashboard import Dashboard
Dashboard(query="").widget  # the first tab built at once (a page's kernel waits for the page's query first)
imports["Dashboard(query='')"] = round(time.perf_counter() - began, 3)
startup = {"imports_s": imports, "scipy imported": "scipy" in sys.modules, "sklearn imported": "sklearn" in sys.modules}
"""
# The engine's step, timed the same way here and in Pyodide.
ENGINE = """
import json, statistics, time
from explorer import datasets
from explorer.network import Network
from explorer.training import Trainer
from explorer.starts import CATALOGUE
net = Network([2, 6, 3, 1], hidden="relu", output="sigmoid", init=CATALOGUE["free_fan_in"].make(1.0), seed=0)
data = datasets.toy("circles", 300, 0.1, seed=0)
trainer = Trainer(net, data.X, data.y, lr=0.1)
trainer.run(STEPS // 10)  # warm-up
rates = []
for _ in range(REPEATS):
    began = time.perf_counter()
    trainer.run(STEPS)
    rates.append(STEPS / (time.perf_counter() - began))
engine = {"steps_per_s": round(statistics.median(rates)), "best": round(max(rates)), "steps": STEPS,
          "repeats": REPEATS}
"""
STEPS, REPEATS = 4000, 5
CLASSIC = "2-10-5-1 (classic)"  # the three-layer demo's network that trains longest


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 2)


def mb(n: float) -> float:
    return round(n / 1e6, 1)


# -- the server --------------------------------------------------------------------------------------------


def serve(folder: Path, port: int, log: Path) -> None:
    """Serve `folder` on 127.0.0.1:port as `tasks.py site --serve` does, appending a JSON line to `log` for each
    GET: path, status, bytes of the body sent, when it began and ended (ms since the epoch, as the page's
    performance.timeOrigin)."""
    plain = site_handler(folder)
    lock = threading.Lock()

    class Logged(plain.func):
        def send_response(self, code, message=None) -> None:
            self.status = code
            super().send_response(code, message)

        def copyfile(self, source, outputfile) -> None:
            while block := source.read(1 << 16):
                outputfile.write(block)
                self.sent += len(block)

        def do_GET(self) -> None:
            self.began, self.sent, self.status = time.time() * 1000, 0, None
            try:
                super().do_GET()
            finally:
                line = {"path": urlsplit(self.path).path, "status": self.status, "bytes": self.sent,
                        "began": self.began, "ended": time.time() * 1000}
                with lock, open(log, "a") as f:
                    f.write(json.dumps(line) + "\n")

    http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(Logged, **plain.keywords)).serve_forever()


class Server:
    """The site served by `serve` in a process of its own (so that this process's Playwright and the server do
    not share one interpreter's lock); `served(since)` reads its log."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.port, self.log = browserkit.free_port(), log
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = multiprocessing.get_context("fork").Process(target=serve, args=(folder, self.port, log),
                                                                   daemon=True)
        self.process.start()
        deadline = time.monotonic() + 30
        while not self.listening():
            if time.monotonic() > deadline:
                raise RuntimeError("the site's server did not start")
            time.sleep(0.1)

    def listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def served(self, since: float) -> list[dict]:
        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [r for r in lines if r["began"] >= since]

    def stop(self) -> None:
        self.process.terminate()
        self.process.join(10)


# -- 1. page open -> first figure ----------------------------------------------------------------------------


def launch(playwright, profile: Path):
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=browserkit.CHROMIUM, headless=True, args=[*browserkit.CHROMIUM_ARGS, OFFLINE],
        viewport={"width": 1280, "height": 900})


def visit(context, server: Server) -> tuple[object, dict]:
    """Open the dashboard in the context's page, wait for its first figure; return the page and the figures."""
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(120_000)
    worker_log, outside, errors = [], [], []
    page.on("worker", lambda w: w.on("console", lambda m: worker_log.append((time.time() * 1000, m.text))))
    page.on("request", lambda r: None if browserkit.is_local(r.url) else outside.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    context.add_init_script(MARKS)
    page.goto(server.url + DASHBOARD, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    state = page.evaluate(PAGE_STATE)
    origin, marks = state["origin"], state["marks"]
    files = server.served(origin)
    kernel = next((t - origin for t, text in worker_log if KERNEL_RUNS.search(text)), None)
    wasm = next((r for r in files if r["path"].endswith("/pyodide.asm.wasm")), None)
    packages = [r for r in files if r["path"].startswith("/static/pyodide/") and r["path"].endswith((".whl", ".zip"))]
    before_kernel = [r for r in packages if kernel is None or r["began"] - origin <= kernel]
    sent = [r for r in files if r["status"] == 200]
    tabs = marks.get("tabs") or float("inf")
    messages = [(t, size) for t, size in state["workerMessages"] if t <= tabs]
    result = {
        "figure_s": seconds(marks.get("figure")),
        "timeline_s": {
            "html": seconds(state["html"]), "worker": seconds(marks.get("worker")),
            "runtime": seconds(wasm["ended"] - origin) if wasm else None,
            "packages start": seconds(min(r["began"] for r in packages) - origin) if packages else None,
            "packages sent": seconds(max(r["ended"] for r in before_kernel) - origin) if before_kernel else None,
            "kernel": seconds(kernel), "output": seconds(marks.get("output")),
            "widgets sent": seconds(messages[-1][0]) if messages else None, "tabs": seconds(marks.get("tabs")),
            "figure": seconds(marks.get("figure"))},
        "kernel messages until the tabs": {"count": len(messages), "mb": mb(sum(size for _, size in messages)),
                                             "largest_mb": mb(max((size for _, size in messages), default=0))},
        "downloaded_mb": mb(sum(r["bytes"] for r in sent)),
        "requests": len(files), "sent_200": len(sent),
        "revalidated_304": sum(1 for r in files if r["status"] == 304),
        "files": {r["path"]: r["bytes"] for r in sent},
        "service_worker": {"controls the page": state["serviceWorker"], "caches": state["caches"],
                           "cached responses": state["cachedResponses"]},
        "other hosts": sorted(set(outside)), "page errors": errors, "load": load(),
    }
    return page, result


def page_loads(playwright, server: Server, runs: int, window: float, pauses: int) -> dict:
    """`runs` pairs of visits (cold: a fresh profile; warm: the same profile after a restart of the browser); the
    last warm page then trains (part 2)."""
    cold, warm, training = [], [], {}
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-site-profile-") as profile:
            for kind, results in (("cold", cold), ("warm", warm)):
                context = launch(playwright, Path(profile))
                try:
                    page, result = visit(context, server)
                    results.append(result)
                    t = result["timeline_s"]
                    print(f"[bench_site] run {run + 1} {kind}: figure at {result['figure_s']} s; html {t['html']}, "
                          f"runtime {t['runtime']}, packages {t['packages start']}-{t['packages sent']}, kernel "
                          f"{t['kernel']}, output {t['output']}, tabs {t['tabs']}; {result['downloaded_mb']} MB "
                          f"in {result['sent_200']} files, {result['revalidated_304']} revalidated (load {load()})",
                          flush=True)
                    if kind == "warm" and run == runs - 1:
                        training = train(page, window, pauses)
                finally:
                    context.close()
    return {"cold": cold, "warm": warm, "training": training}


# -- 2. live redraws ----------------------------------------------------------------------------------------


def train(page, window: float, pauses: int) -> dict:
    """The three-layer demo (the first tab) training the classic network (15,000 steps a press, a long run, as
    bench_live.py measures it): bench_live's rate over `window` s, then its Pause -> still."""
    page.wait_for_timeout(2000)  # the first fit to the page's width
    page.evaluate(bench_live.CHOOSE, ["Network", CLASSIC])
    rate = bench_live.training_rate(page, bench_live.Frames(page), window)
    print(f"[bench_site] training: {rate.get('redraws_per_s')} redraws/s, {rate.get('steps_per_s')} steps/s over "
          f"{rate.get('window_s')} s (load {load()})", flush=True)
    still = bench_live.during_training(page, pauses) if pauses else {}
    if still:
        print(f"[bench_site] Pause -> still: {still['pause_ms']['values']} ms (load {load()})", flush=True)
    return {"rate": rate, "still": still}


# -- 3. the engine, and a kernel's start, in Pyodide ----------------------------------------------------------


def preload_list(site: Path) -> list[str]:
    """The packages the site's kernel loads when it starts (jupyter-lite.json)."""
    config = json.loads((site / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    return kernel["loadPyodideOptions"]["packages"]


def python_code(*parts: str) -> str:
    head = f"FIRST_IMPORTS = {FIRST_IMPORTS!r}\nSTEPS, REPEATS = {STEPS}, {REPEATS}\n"
    return head + "\n".join(parts)


def in_pyodide(playwright, server: Server, site: Path) -> dict:
    browser = playwright.chromium.launch(executable_path=browserkit.CHROMIUM, headless=True,
                                         args=[*browserkit.CHROMIUM_ARGS, OFFLINE])
    try:
        page = browser.new_context(service_workers="block").new_page()
        page.goto(server.url + "index.html#stay")  # any page of the site (#stay: no redirect to the dashboard)
        code = python_code(STARTUP, ENGINE, "result = json.dumps({'startup': startup, 'engine': engine})")
        out = page.evaluate(PYODIDE, [preload_list(site), code])
    finally:
        browser.close()
    out["seconds"] = {k: round(v, 2) for k, v in out["seconds"].items()}
    return out


def native_engine() -> dict:
    names: dict = {}
    exec(python_code(ENGINE), names)
    return names["engine"]


# -- 4. bytes ---------------------------------------------------------------------------------------------------


def folder_size(folder: Path) -> dict:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"mb": mb(sum(p.stat().st_size for p in files)), "files": len(files)}


def gzipped(path: Path) -> int:
    """Bytes of the file as a host would send it: gzip's level 6 for the types hosts compress, else as it is."""
    data = path.read_bytes()
    return len(zlib.compress(data, 6)) if path.suffix in COMPRESSIBLE else len(data)


def downloads(site: Path, visit_result: dict, top: int = 10) -> dict:
    files = sorted(visit_result["files"].items(), key=lambda item: -item[1])
    on_disk = {path: site / path.lstrip("/") for path, _ in files}
    compressed = {path: gzipped(p) for path, p in on_disk.items() if p.is_file()}
    total = sum(size for _, size in files)
    return {"mb": mb(total), "files": len(files), "mb_gzip": mb(sum(compressed.values())),
            "biggest": [{"path": path, "mb": mb(size), "mb_gzip": mb(compressed.get(path, size)),
                         "share": round(size / total, 3)} for path, size in files[:top]]}


# -- summary ------------------------------------------------------------------------------------------------------


def median_of(results: list[dict], key: str) -> float | None:
    values = [r[key] for r in results if r.get(key) is not None]
    return round(statistics.median(values), 1) if values else None


def timeline_medians(results: list[dict]) -> dict:
    keys = results[0]["timeline_s"] if results else {}
    return {k: median_of([r["timeline_s"] for r in results], k) for k in keys}


def summary(figures: dict) -> list[tuple[str, str, str]]:
    loads, engine, site = figures["loads"], figures["engine"], figures["site"]
    rate, still = loads["training"].get("rate", {}), loads["training"].get("still", {})
    cold, warm = loads["cold"], loads["warm"]
    pause = (still.get("pause_ms") or {}).get("median")
    return [
        ("page -> figure, cold (median s)", f"{median_of(cold, 'figure_s')}  {[r['figure_s'] for r in cold]}",
         f"{TARGETS['cold_s']}"),
        ("page -> figure, warm (median s)", f"{median_of(warm, 'figure_s')}  {[r['figure_s'] for r in warm]}",
         f"{TARGETS['warm_s']}"),
        ("redraws/s while training", f"{rate.get('redraws_per_s')}",
         f"{TARGETS['redraws_per_s']} (Voila: {NATIVE_VOILA_REDRAWS})"),
        ("training steps/s in the page", f"{rate.get('steps_per_s')}", ""),
        ("Pause -> still figure (median ms)", f"{pause}", f"{TARGETS['pause_ms']}"),
        ("engine steps/s: Pyodide / native", f"{engine['pyodide']['steps_per_s']} / {engine['native']['steps_per_s']}"
         f" = 1/{engine['slowdown']}", ""),
        ("first visit downloads (MB)", f"{site['first visit']['mb']} in {site['first visit']['files']} files "
         f"(gzip: {site['first visit']['mb_gzip']})", f"< {TARGETS['first_visit_mb']}"),
        ("warm visit downloads (MB)", f"{median_of(warm, 'downloaded_mb')}", ""),
        ("site on disk", f"{site['on disk']['mb']} MB, {site['on disk']['files']} files; static/pyodide "
         f"{site['static/pyodide']['mb']} MB, {site['static/pyodide']['files']} files", ""),
    ]


def report(figures: dict) -> None:
    loads, engine, site = figures["loads"], figures["engine"], figures["site"]
    print("\n[bench_site] where a visit's time goes (median s from the navigation's start):")
    for kind in ("cold", "warm"):
        print(f"  {kind}: " + ", ".join(f"{k} {v}" for k, v in timeline_medians(loads[kind]).items()))
    first = loads["cold"][0]
    print(f"  the kernel's messages until the tabs (cold, first run): {first['kernel messages until the tabs']}")
    print(f"  service worker: {first['service_worker']}; other hosts asked: {len(first['other hosts'])}")
    print("[bench_site] a kernel's start in bare Pyodide (s): " + ", ".join(
        f"{k} {v}" for k, v in engine["startup_s"].items()))
    slowest = sorted(engine["packages_s"].items(), key=lambda item: -item[1])[:6]
    print("  the slowest of the kernel's other packages (s): " + ", ".join(f"{k} {v}" for k, v in slowest))
    startup = engine["startup"]
    print("  imports, in turn (s): " + ", ".join(f"{k} {v}" for k, v in startup["imports_s"].items())
          + f"; scipy imported: {startup['scipy imported']}, sklearn: {startup['sklearn imported']}")
    print(f"[bench_site] engine: Pyodide {engine['pyodide']}, native {engine['native']}")
    print(f"[bench_site] a first visit's biggest files (of {site['first visit']['mb']} MB; gzip "
          f"{site['first visit']['mb_gzip']} MB):")
    for f in site["first visit"]["biggest"]:
        print(f"  {f['mb']:6.1f} MB ({f['share']:.0%}; gzip {f['mb_gzip']:5.1f})  {f['path']}")
    rows = summary(figures)
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\n{'figure':<{width}}  {'measured':<{value_width}}  target")
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="cold and warm visits (default 3 of each)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds of training for the redraw rate")
    parser.add_argument("--pauses", type=int, default=3, help="Pause presses to time (0: none)")
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (default build/site)")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    site = args.site.resolve()
    if not (site / "jupyter-lite.json").exists():
        if site != SITE:
            sys.exit(f"no site in {site}")
        subprocess.run([sys.executable, ROOT / "tasks.py", "site"], check=True)

    from playwright.sync_api import sync_playwright

    print(f"[bench_site] {site}; load average {load()}", flush=True)
    figures: dict = {"load_at_start": load()}
    with tempfile.TemporaryDirectory(prefix="bench-site-") as tmp:
        server = Server(site, Path(tmp) / "served.jsonl")
        try:
            with sync_playwright() as playwright:
                figures["loads"] = page_loads(playwright, server, args.runs, args.window, args.pauses)
                pyodide = in_pyodide(playwright, server, site)
        finally:
            server.stop()
    native = native_engine()
    figures["engine"] = {"pyodide": pyodide["python"]["engine"], "native": native,
                         "slowdown": round(native["steps_per_s"] / pyodide["python"]["engine"]["steps_per_s"], 1),
                         "startup_s": pyodide["seconds"], "packages_s": pyodide["packages"],
                         "startup": pyodide["python"]["startup"]}
    figures["site"] = {"on disk": folder_size(site), "static/pyodide": folder_size(site / "static" / "pyodide"),
                       "first visit": downloads(site, figures["loads"]["cold"][0])}
    figures["load_at_end"] = load()
    report(figures)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
        print(f"[bench_site] figures written to {args.json}")


if __name__ == "__main__":
    main()
