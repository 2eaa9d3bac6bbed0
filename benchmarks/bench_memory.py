"""Kernel memory over a long live run (the aim: a one-hour three-layer run stays under 300 MB resident).

    .venv/bin/python benchmarks/bench_memory.py [--minutes 3] [--interval 5] [--demo three_layer]

Starts a real IPython kernel (jupyter_client, no browser), builds the demo's app in it and starts its
training loop as the dashboard does (an asyncio task on the kernel's loop, timed redraws at the app's
max_fps since no browser acknowledges them, every widget message really built and sent). The run is made
endless (run_steps = 10**9). Every `--interval` seconds it samples the kernel's resident memory (VmRSS of
its process) and asks the kernel for the sizes of what could grow: the cost history, the figure's trace
arrays and layout shapes, plotly's pending-edit buffers and callback list, and the number of live Python
objects. Prints the samples, the slope of RSS over the second half of the run (MB per minute) and RSS
projected to one hour, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
from jupyter_client.manager import start_new_kernel

DEMOS = {
    "three_layer": ("explorer.apps.three_layer", "ThreeLayerApp"),
    "nine_layer": ("explorer.apps.nine_layer", "NineLayerApp"),
    "histograms": ("explorer.apps.histograms", "HistogramsApp"),
    "digits_mlp": ("explorer.apps.digits_mlp", "DigitsMLPApp"),
}

SETUP = """
import asyncio, gc, json
from {module} import {name}
app = {name}()
app.use_ack_gate = False  # no browser: redraw at max_fps
app.run_steps = 10**9  # endless
app.reset()
app.start()

def sizes():
    fig = app.figure
    arrays = sum(len(v) for trace in fig.data for v in trace.to_plotly_json().values()
                 if hasattr(v, '__len__') and not isinstance(v, str))
    history = getattr(app, 'costs', None)
    return {{"step": app.trainer.step, "redraws": app.redraws, "running": app.running,
             "history_points": len(history.x) if history is not None else None,
             "trace_values": arrays, "shapes": len(fig.layout.shapes),
             "pending_edits": len(fig._batch_trace_edits) + len(fig._batch_layout_edits),
             "waiting_callbacks": len(fig._waiting_edit_callbacks),
             "objects": len(gc.get_objects()), "message": app.message.value}}
"""


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def ask(client, code: str, timeout: float = 60) -> dict:
    """Run `code` in the kernel and return the JSON it prints (the kernel answers between training slices)."""
    reply = client.execute_interactive(code, timeout=timeout, store_history=False,
                                       output_hook=lambda msg: outputs.append(msg))
    if reply["content"]["status"] != "ok":
        raise RuntimeError(reply["content"])
    text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
    outputs.clear()
    return json.loads(text) if text.strip() else {}


outputs: list = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--demo", choices=list(DEMOS), default="three_layer")
    args = parser.parse_args()

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        pid = manager.provisioner.process.pid
        module, name = DEMOS[args.demo]
        ask(client, SETUP.format(module=module, name=name))
        began = time.monotonic()
        samples = []
        first = ask(client, "print(json.dumps(sizes()))")
        while True:
            elapsed = time.monotonic() - began
            state = ask(client, "print(json.dumps(sizes()))")
            samples.append((elapsed, rss_mb(pid)))
            print(f"t={elapsed:6.0f} s  RSS {samples[-1][1]:6.1f} MB  step {state['step']:>9,}  "
                  f"redraws {state['redraws']:>6,}  history {state['history_points']}  trace values "
                  f"{state['trace_values']}  objects {state['objects']:,}  load {os.getloadavg()[0]:.2f}",
                  flush=True)
            if state["message"]:
                print("app message:", state["message"])
            if elapsed >= args.minutes * 60:
                break
            time.sleep(args.interval)
        last = state
    finally:
        manager.shutdown_kernel(now=True)

    t, rss = np.array(samples).T
    half = t >= t[-1] / 2
    slope = np.polyfit(t[half] / 60, rss[half], 1)[0] if half.sum() >= 2 else float("nan")
    projected = rss[-1] + slope * max(0.0, 60 - t[-1] / 60)
    result = {"demo": args.demo, "minutes": round(t[-1] / 60, 2), "rss_start_mb": round(rss[0], 1),
              "rss_end_mb": round(rss[-1], 1), "rss_max_mb": round(rss.max(), 1),
              "slope_mb_per_min_second_half": round(slope, 3), "rss_projected_1h_mb": round(projected, 1),
              "steps": last["step"], "redraws": last["redraws"], "first": first, "last": last,
              "load": os.getloadavg()[0]}
    print(f"RSS {rss[0]:.1f} -> {rss[-1]:.1f} MB (max {rss.max():.1f}) over {t[-1] / 60:.1f} min; slope over the "
          f"second half {slope:+.3f} MB/min; projected to 1 h: {projected:.1f} MB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
