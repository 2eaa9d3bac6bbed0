"""Live redraw in a real browser: the dashboard in Voila, driven by headless Chromium.

    .venv/bin/python benchmarks/bench_live.py [--window 4] [--changes 12] [--pauses 6] [--demos three_layer,...]
    .venv/bin/python benchmarks/bench_live.py --kernel     # the kernel's share alone, no browser

Prints, with the load average next to each figure:
- control -> redraw at rest (three-layer demo): from the change of the Initialization dropdown to the last
  redraw it causes, median and min-max over `--changes` changes;
- during training (three-layer, classic network): Pause -> still plot, and Initialization change -> still
  plot of the new run (a change resets, which pauses), median and max over `--pauses` each;
- for each demo tab: redraws per second while training, training steps per second, bytes received by the
  page per redraw (every websocket frame from the kernel: figure, progress bar and status line) and bytes
  sent back per redraw (plotly.js reports each redraw to the kernel), the largest frame, and how many
  redraws still came after Pause (a backlog would show here), the median time plotly.js took to draw the
  whole figure when it did (plotly_beforeplot to plotly_afterplot: a quick redraw, a Plotly.animate of the
  changed traces, has no such events), and the page's main thread busy time per redraw and as a fraction of
  the window (scripts, style, layout and paint: Chromium's TaskDuration). The window ends early if the run
  ends (a fast engine trains a press of the classic network in a few seconds);
and, last, one JSON object with every figure.

Times are taken in the page (performance.now()): the click or the change is made by page script, and every
redraw of a plot is the time plotly.js emitted its plotly_update / restyle / relayout / afterplot /
animatingframe / animated event.
"Still" means no such event for QUIET seconds; the latency is the time to the last event before that.
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
import dashkit as dk  # noqa: E402

from explorer.apps.dashboard import DEMOS  # noqa: E402

DASHBOARD = "notebooks/dashboard.ipynb"
QUIET = 1.0  # s without a redraw: the plot is still
TRAINING_DEMOS = ["three_layer", "nine_layer", "histograms", "digits_mlp"]
INITS = ["He N(0, 2/n_in)", "Xavier N(0, 2/(n_in+n_out))", "appropriate (v = 1)", "too small (v = 0.01)",
         "too large (v = 100)", "zero (v = 0)"]

# Page script: record every redraw of every visible plot in window.__redraws as [time, kind].
RECORDER = "() => {" + dk._VISIBLE + """
    window.__redraws = window.__redraws || [];
    window.__plots = window.__plots || [];
    for (const g of visiblePlots()) {
        if (g.__recorder) continue;
        g.__recorder = true;
        for (const name of ['plotly_update', 'plotly_restyle', 'plotly_relayout', 'plotly_afterplot',
                            'plotly_animatingframe', 'plotly_animated'])
            g.on(name, () => window.__redraws.push([performance.now(), name]));
        // how long plotly.js takes to draw the figure: from its plotly_beforeplot to its plotly_afterplot
        g.on('plotly_beforeplot', () => { g.__began = performance.now(); return true; });
        g.on('plotly_afterplot', () => { if (g.__began) window.__plots.push(performance.now() - g.__began); });
    }
}"""

# Page script: press a visible button (by its label), or choose an option of a visible dropdown (by the label
# of the dropdown and the text of the option); return the time it was done.
PRESS = """(text) => {
    const b = [...document.querySelectorAll('button')]
        .find(b => b.offsetParent !== null && b.innerText.trim() === text);
    if (!b || b.disabled) return null;
    const t = performance.now(); b.click(); return t;
}"""
CHOOSE = """([label, option]) => {
    const box = [...document.querySelectorAll('.widget-dropdown')].find(d => d.offsetParent !== null &&
        [...d.querySelectorAll('label')].some(l => l.innerText.trim() === label));
    const select = box.querySelector('select');
    const plain = s => s.replace(/\u00a0/g, ' ').trim();  // ipywidgets shows spaces as no-break spaces
    const index = [...select.options].findIndex(o => plain(o.text) === option);
    if (index < 0 || select.selectedIndex === index) return null;
    const t = performance.now();
    select.selectedIndex = index;
    select.dispatchEvent(new Event('change', {bubbles: true}));
    return t;
}"""
# The step in the visible status line: "step 1,230 ..." or, in the digits demo, "epoch 3.0 (step 42) ...".
STEP = """() => {
    const pattern = /^(?:epoch [0-9.]+ \\()?step ([0-9,]+)/;
    const t = [...document.querySelectorAll('.widget-html-content')].filter(e => e.offsetParent !== null)
        .map(e => e.innerText).find(t => pattern.test(t));
    return t ? Number(t.match(pattern)[1].replaceAll(',', '')) : null;
}"""


# A redraw is a Plotly.update (the whole figure) or a Plotly.animate (quick_update: the changed traces alone).
REDRAW = {"plotly_update", "plotly_animatingframe"}


def load() -> float:
    return os.getloadavg()[0]


class Frames:
    """Bytes of the page's websocket frames, both ways (the kernel's channels)."""

    def __init__(self, page) -> None:
        self.received = self.sent = self.largest = 0
        page.on("websocket", self.watch)

    def watch(self, ws) -> None:
        ws.on("framereceived", lambda payload: self.count(payload, True))
        ws.on("framesent", lambda payload: self.count(payload, False))

    def count(self, payload, received: bool) -> None:
        size = len(payload.encode() if isinstance(payload, str) else payload)
        if received:
            self.received += size
            self.largest = max(self.largest, size)
        else:
            self.sent += size

    def mark(self) -> tuple[int, int]:
        self.largest = 0
        return self.received, self.sent


def main_thread_ms(page) -> float:
    """Milliseconds the page's main thread has been busy so far (Chromium's TaskDuration: scripts, style,
    layout, paint), through the DevTools protocol."""
    if not hasattr(page, "_busy_session"):
        page._busy_session = page.context.new_cdp_session(page)
        page._busy_session.send("Performance.enable")
    metrics = page._busy_session.send("Performance.getMetrics")["metrics"]
    return 1000 * next(m["value"] for m in metrics if m["name"] == "TaskDuration")


def now(page) -> float:
    return page.evaluate("() => performance.now()")


def redraws(page, since: float, kinds=None) -> list[float]:
    events = page.evaluate("(since) => window.__redraws.filter(e => e[0] > since)", since)
    return [t for t, kind in events if kinds is None or kind in kinds]


def settle(page, since: float, timeout: float = 30.0, first: float = 15.0) -> float | None:
    """Wait for a redraw after `since` (up to `first` s), then until no plot has redrawn for QUIET s; return
    the ms from `since` to the last redraw (None if none came)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(100)
        events = redraws(page, since)
        quiet = now(page) - (events[-1] if events else since)
        if (events and quiet > QUIET * 1000) or (not events and quiet > first * 1000):
            return events[-1] - since if events else None
    raise RuntimeError(f"the plots kept redrawing for {timeout} s")


def wait(page, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        page.wait_for_timeout(50)


def start_training(page) -> bool:
    """Press Train and wait until a run is going and redrawing."""
    wait(page, lambda: dk.can_train(page))
    t = page.evaluate(PRESS, "Train")
    if t is None:
        return False
    wait(page, lambda: len(redraws(page, t, REDRAW)) >= 2, timeout=30)
    return dk.training(page)


def summary(values: list[float]) -> dict:
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "values": []}
    values = [round(v, 1) for v in values]
    return {"median": round(statistics.median(values), 1), "min": min(values), "max": max(values),
            "n": len(values), "values": values}


def at_rest(page, changes: int) -> dict:
    """Control -> redraw with no training: change the initialization, time its last redraw."""
    page.evaluate(RECORDER)
    settle(page, now(page))
    times = []
    for i in range(changes):
        t = page.evaluate(CHOOSE, ["Initialization", INITS[i % len(INITS)]])
        latency = settle(page, t)
        if latency is not None:
            times.append(latency)
    return summary(times)


def during_training(page, count: int) -> dict:
    """Pause -> still plot, and a control change -> still plot of the new run, while training."""
    page.evaluate(CHOOSE, ["Network", "2-10-5-1 (classic)"])  # 15,000 steps a press: long runs
    settle(page, now(page))
    pause, control, after_pause = [], [], []
    for i in range(count):
        for kind in ("pause", "control"):
            if not start_training(page):
                continue
            page.wait_for_timeout(800)
            if kind == "pause":
                t = page.evaluate(PRESS, "Pause")
            else:
                t = page.evaluate(CHOOSE, ["Initialization", INITS[i % 2]])
            if t is None:  # the run had ended
                continue
            latency = settle(page, t)
            if latency is None:
                continue
            (pause if kind == "pause" else control).append(latency)
            if kind == "pause":
                after_pause.append(len(redraws(page, t, REDRAW)))
    return {"pause_ms": summary(pause), "control_ms": summary(control),
            "redraws_after_pause": max(after_pause) if after_pause else None}


def training_rate(page, frames: Frames, window: float) -> dict:
    """Redraws/s, steps/s and bytes per redraw of the open tab while training."""
    page.evaluate(RECORDER)
    settle(page, now(page))
    if not start_training(page):
        return {"error": "could not start training"}
    received, sent = frames.mark()
    busy0 = main_thread_ms(page)
    t0, step0 = now(page), page.evaluate(STEP)
    page.evaluate("() => { window.__plots = []; }")
    deadline = time.monotonic() + window
    while time.monotonic() < deadline and dk.training(page):  # a fast engine may end a press's run early
        page.wait_for_timeout(100)
    t1, step1, still = now(page), page.evaluate(STEP), dk.training(page)
    busy = main_thread_ms(page) - busy0
    plots = page.evaluate("() => window.__plots")
    drawn = len([t for t in redraws(page, t0, REDRAW) if t <= t1])
    pressed = page.evaluate(PRESS, "Pause")
    latency = settle(page, pressed) if pressed is not None else None
    late = len(redraws(page, pressed, REDRAW)) if pressed is not None else None
    received, sent = frames.received - received, frames.sent - sent
    total = len([t for t in redraws(page, t0, REDRAW)])
    seconds = (t1 - t0) / 1000
    return {"redraws_per_s": round(drawn / seconds, 2), "window_s": round(seconds, 1),
            "steps_per_s": round((step1 - step0) / seconds) if step0 is not None and step1 is not None else None,
            "bytes_in_per_redraw": round(received / max(total, 1)),
            "bytes_out_per_redraw": round(sent / max(total, 1)),
            "largest_frame": frames.largest,
            "plotly_draw_ms_median": round(statistics.median(plots), 1) if plots else None,
            "page_busy_ms_per_redraw": round(busy / max(drawn, 1), 1),
            "page_busy_fraction": round(busy / (t1 - t0), 2),
            "pause_ms": round(latency, 1) if latency is not None else None,
            "redraws_after_pause": late, "trained_whole_window": still, "load": load()}


KERNEL_APPS = {"three_layer": ("explorer.apps.three_layer", "ThreeLayerApp"),
               "nine_layer": ("explorer.apps.nine_layer", "NineLayerApp"),
               "histograms": ("explorer.apps.histograms", "HistogramsApp"),
               "digits_mlp": ("explorer.apps.digits_mlp", "DigitsMLPApp")}


def payload_meter(figure) -> list[int]:
    """Record the size of every update or animate message the figure sends (a redraw sends one of each at
    most): its JSON text plus its binary buffers, one entry per message."""
    import plotly.serializers

    sizes: list[int] = []
    send, send_animate = figure._send_update_msg, figure._send_animate_msg

    def text(v, buffers):
        if isinstance(v, dict) and "buffer" in v:
            buffers.append(v["buffer"].nbytes)
            return None
        if isinstance(v, dict):
            return {k: text(x, buffers) for k, x in v.items()}
        return [text(x, buffers) for x in v] if isinstance(v, list) else v

    def measure(restyle_data, relayout_data, trace_indexes=None, **kwargs):
        buffers: list[int] = []
        wire = plotly.serializers._py_to_js({"style": restyle_data, "layout": relayout_data}, None)
        sizes.append(len(json.dumps(text(wire, buffers), default=str)) + sum(buffers))
        return send(restyle_data, relayout_data, trace_indexes, **kwargs)

    def measure_animate(styles_data, relayout_data, trace_indexes, animation_opts):
        buffers: list[int] = []
        wire = plotly.serializers._py_to_js({"style": list(styles_data), "layout": relayout_data}, None)
        sizes.append(len(json.dumps(text(wire, buffers), default=str)) + sum(buffers))
        return send_animate(styles_data, relayout_data, trace_indexes, animation_opts)

    figure._send_update_msg = measure
    figure._send_animate_msg = measure_animate
    return sizes


def kernel_costs(repeats: int = 30) -> dict:
    """The kernel's share, without a browser: ms to build and send one redraw (app.draw(), the figure's
    message serialised as it would be for the page), and ms for a control change (reset: a new trainer,
    its first snapshot, one redraw), median and minimum of `repeats` (the minimum: the cost itself, the
    least disturbed by other work on a shared machine)."""
    import importlib

    results = {}
    for module, (path, name) in KERNEL_APPS.items():
        app = getattr(importlib.import_module(path), name)()
        app.use_ack_gate = False
        if module == "three_layer":  # what the browser benchmark trains: links and boundary change every redraw
            app.architecture.value, app.init.value = "2-10-5-1 (classic)", "he"
        sizes = payload_meter(app.figure)
        app.pull(3)
        draws, resets, payloads = [], [], []
        for _ in range(repeats):
            app.pull(1)
            sent = len(sizes)
            began = time.perf_counter()
            app.draw()
            draws.append((time.perf_counter() - began) * 1000)
            payloads.append(sum(sizes[sent:]))  # every message of this redraw
        payload = statistics.median(payloads) if payloads else None
        for _ in range(max(3, repeats // 3)):
            began = time.perf_counter()
            app.reset()
            resets.append((time.perf_counter() - began) * 1000)
        results[module] = {"redraw_ms": round(statistics.median(draws), 1), "redraw_ms_min": round(min(draws), 1),
                           "control_ms": round(statistics.median(resets), 1), "control_ms_min": round(min(resets), 1),
                           "figure_bytes_per_redraw": round(payload) if payload else None, "load": load()}
        print(f"{module}: kernel {results[module]} (load {load():.2f})", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=4.0, help="seconds of training per rate measurement")
    parser.add_argument("--changes", type=int, default=12, help="control changes at rest")
    parser.add_argument("--pauses", type=int, default=6, help="Pauses (and control changes) during training")
    parser.add_argument("--demos", default=",".join(TRAINING_DEMOS), help="demo modules whose rate to measure")
    parser.add_argument("--kernel", action="store_true",
                        help="only the kernel's share, without Voila or a browser: ms per redraw and per control "
                             "change, and the figure's bytes per redraw")
    args = parser.parse_args()
    if args.kernel:
        print(json.dumps({"kernel": kernel_costs()}))
        return

    from playwright.sync_api import sync_playwright

    results: dict = {"load_at_start": load()}
    with tempfile.TemporaryDirectory() as tmp:
        server = browserkit.voila_server(DASHBOARD, Path(tmp))
        try:
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"), executable_path=browserkit.CHROMIUM, headless=True,
                    args=browserkit.CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
                page = context.pages[0] if context.pages else context.new_page()
                page.set_default_timeout(120_000)
                frames = Frames(page)
                started = time.monotonic()
                page.goto(server.url, timeout=180_000)
                dk.wait_for_visible_plot(page, 180_000)
                page.wait_for_timeout(2000)  # the first fit to the page width
                print(f"page load to first plot: {time.monotonic() - started:.1f} s (load {load():.2f})")

                results["rest_control_ms"] = at_rest(page, args.changes)
                results["rest_control_ms"]["load"] = load()
                r = results["rest_control_ms"]
                print(f"three-layer at rest, control -> redraw: median {r['median']} ms, "
                      f"{r['min']}-{r['max']} ms over {r['n']} (load {r['load']:.2f})")

                results["training"] = during_training(page, args.pauses)
                results["training"]["load"] = load()
                r = results["training"]
                print(f"three-layer training, Pause -> still: median {r['pause_ms']['median']} ms, max "
                      f"{r['pause_ms']['max']} ms over {r['pause_ms']['n']}; control -> still: median "
                      f"{r['control_ms']['median']} ms, max {r['control_ms']['max']} ms over {r['control_ms']['n']}; "
                      f"redraws after Pause at most {r['redraws_after_pause']} (load {r['load']:.2f})")

                results["rates"] = {}
                titles = {module: title for title, module, _ in DEMOS}
                for module in filter(None, args.demos.split(",")):
                    try:
                        if module != "three_layer":
                            dk.open_tab(page, titles[module])
                            page.wait_for_timeout(2000)
                        r = results["rates"][module] = training_rate(page, frames, args.window)
                    except Exception as error:  # a tab that does not load on a loaded machine: say so, go on
                        r = results["rates"][module] = {"error": f"{type(error).__name__}: {str(error)[:200]}",
                                                        "load": load()}
                    print(f"{module}: {r} (load {r['load']:.2f})")
                context.close()
        finally:
            server.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
