"""Live training behind a notebook's controls, without ever blocking the kernel.

Training runs as an asyncio task on the kernel's own event loop. The task trains in short slices
(about 10 ms), and between slices it hands control back to the loop, so button clicks and slider
changes are handled while the network trains. It redraws the figure at most `max_fps` times a
second, and only while fewer than `in_flight` redraws wait to be drawn by the browser (the "ack
gate": the browser reports each redraw it has drawn), so no backlog of redraws piles up in the page.
Three in flight, not one: a redraw's trip from the kernel to the page and back (the browser's report
of it is ~28 kB) takes longer than the browser's drawing of it, so the next redraws travel while the
browser draws this one. Measured here (three-layer demo, benchmarks/bench_live.py): 6.9 redraws a second
with two in flight, 11.2 with three, at the same Pause latency (median 165 and 173 ms).

A demo subclasses LiveApp and provides three methods:

    make_trainer()   a Trainer built from the current control values (ValueError for bad input)
    record(snap)     keep what the figures need from one snapshot (cheap: called for every one)
    redraw()         update the figure in place from what was recorded

and calls `self.reset()` whenever a control that invalidates the run changes.
"""

from __future__ import annotations

import asyncio
import base64
import html
import struct
import time
import zlib

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.serializers import custom_serializers
from traitlets import Dict, observe

from explorer.training import Snapshot, Trainer


class FastUpdate:
    """`fast_update` for a plotly figure: values the app built itself, without plotly's validation.

    plotly validates every value assigned to a figure, and for some values that costs more than the whole
    redraw is allowed: 75 link shapes took 40-190 ms (a Shape object, validated and deep-copied, for each),
    and a 50x50 heatmap z is converted and compared value by value. `fast_update` hands the values to
    plotly's own update path (`plotly_update`, which stores them in the figure and, for a FigureWidget,
    sends them): inside `batch_update` they join the redraw's single Plotly.update message.
    """

    def fast_update(self, layout: dict | None = None, traces: dict[int, dict] | None = None) -> None:
        """Set layout properties and trace properties without validating them, in one message.

        layout: key path -> value, e.g. {"shapes": [...], "yaxis.range": [0, 1], "annotations[2].text": "..."}
        traces: trace index -> {key path -> value}, e.g. {3: {"z": rows, "x": xs}}

        The values must be what plotly.js accepts (plain numbers, strings, lists, 1-D numpy arrays, which
        go as binary, or `binary_rows` for a heatmap's z). A value equal to the current one is not sent.
        """
        with self.batch_update():  # joins the caller's batch if one is open
            self._batch_layout_edits.update(layout or {})
            for index, props in (traces or {}).items():
                self._batch_trace_edits.setdefault(index, {}).update(props)

    def quick_update(self, traces: dict[int, dict], layout: dict | None = None) -> None:
        """Change the figure so that the browser redraws only what changed, not the whole figure.

        A Plotly.update (fast_update, batch_update) or a Plotly.relayout from a FigureWidget makes plotly.js
        recompute and redraw EVERY trace and panel of the figure: 100-300 ms a redraw for the three-layer
        demo here (the widget marks every relayout with a key plotly.js does not know, which costs a full
        redraw even for a layout image alone). This sends one Plotly.animate instead, with no transition and
        `redraw: false`, of values the app built itself (not validated): plotly.js redraws these traces alone.

        traces   scatter traces only (x, y, text, hovertext, mode); a heatmap or a bar would not be redrawn.
                 Two quirks of plotly.js here: it removes the scatter traces of every panel none of whose
                 traces is in the animation (give each panel at least one, with {} if nothing changed), and it
                 does not autorange the axes (give them ranges).
        layout   layout images' `source` (plotly.js redraws them in an animation). Axis ranges and texts:
                 fast_update, and rarely (each change is a full redraw).

        Not inside batch_update: the animation is its own message.
        """
        assert not self._in_batch_mode, "quick_update sends its own message: call it outside batch_update"
        for index, props in traces.items():
            self._batch_trace_edits.setdefault(index, {}).update(props)
        self._batch_layout_edits.update(layout or {})
        self._perform_batch_animate({"transition": {"duration": 0}, "frame": {"duration": 0, "redraw": False}})


class Figure(FastUpdate, go.Figure):
    """The figure an app draws its first state into, before it becomes a FigureWidget (see open_figure)."""


class FigureWidget(FastUpdate, go.FigureWidget):
    """A go.FigureWidget for live redraws: cheap acknowledgements, and `fast_update` and `quick_update`.

    After each redraw the browser reports every trace's properties as plotly.js computed them
    (`_js2py_traceDeltas`, tens of kB a redraw), and plotly's handler merges them into the Python figure as
    defaults before it clears `_trace_edit_in_process`, the ack gate's signal. Nothing here reads those
    defaults, so this handler only acknowledges: the merge cost kernel time on every redraw, and for a
    heatmap's x and y or a bar trace's x it raised (plotly.py issue #4160) before clearing the flag, which
    left the gate waiting `ack_timeout` before every redraw. The report is not echoed back to the browser
    (ipywidgets sends every value a browser set back to it: 18 kB a redraw here), nor reset to None (one
    more message a redraw): each report has a new edit id, so the next one is a change all the same.
    """

    _js2py_traceDeltas = Dict(allow_none=True).tag(sync=True, echo_update=False, **custom_serializers)
    drawn_edit_id = 0  # the latest trace edit the browser has reported drawn

    @observe("_js2py_traceDeltas")
    def _handler_js2py_traceDeltas(self, change):
        report = change["new"]
        if report:
            self.drawn_edit_id = max(self.drawn_edit_id, report.get("trace_edit_id", 0))
            if self.drawn_edit_id >= self._last_trace_edit_id:
                self._trace_edit_in_process = False

    def edits_in_flight(self) -> int:
        """Trace edits sent to the browser and not yet reported drawn (a drawn edit reports for the ones before
        it too: plotly.js may drop the report of an animation that a newer one replaced)."""
        return self._last_trace_edit_id - self.drawn_edit_id


def binary_rows(z, dtype=np.float32, decimals: int | None = None) -> list:
    """A heatmap's z for fast_update, as a list of 1-D numpy rows of `dtype`: each row goes to the browser as
    a binary typed array (plotly.js takes a heatmap's rows as typed arrays). A 2-D array or nested lists
    would go as JSON text, after plotly converted and compared them value by value in Python."""
    z = np.asarray(z)
    if decimals is not None:
        z = z.round(decimals)
    return list(z.astype(dtype))


def colour_image(values: np.ndarray, colorscale: list) -> np.ndarray:
    """Values from 0 to 1 as RGB pixels (uint8) of a plotly colour scale [[stop, "#rrggbb"], ...], the colour
    of each value interpolated linearly between the stops (as plotly.js colours a heatmap)."""
    stops = [stop for stop, _ in colorscale]
    channels = [[int(colour[1 + 2 * c:3 + 2 * c], 16) for _, colour in colorscale] for c in range(3)]
    values = np.clip(np.asarray(values, dtype=float), 0, 1)
    return np.stack([np.interp(values, stops, channel) for channel in channels], axis=-1).round().astype(np.uint8)


def png_uri(pixels: np.ndarray) -> str:
    """An RGB picture (rows from top to bottom, uint8) as a PNG data URI, the `source` of a layout image.

    A PNG (RFC 2083) is a signature and three chunks: IHDR (size, 8 bits per channel, colour type 2 = RGB),
    IDAT (the rows, each after a filter byte 0 = none, deflated by zlib) and IEND; each chunk is its length,
    its type, its data and the CRC-32 of type and data.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, _ = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class LiveApp:
    """Train, Pause, Step and Reset buttons, a progress bar and a status line around one figure."""

    every: int = 10  # steps between snapshots
    run_steps: int = 5_000  # a press of Train runs at most this many steps, then pauses
    max_fps: float = 15.0  # redraws per second at most (the ack gate holds it to what the browser manages)
    in_flight: int = 3  # redraws sent that the browser has not yet drawn, at most (the ack gate)
    slice_seconds: float = 0.01  # compute between two looks at the event loop: a click waits at most this
    # How long each look at the event loop waits. 0: one turn of the loop, which polls the kernel's sockets without
    # waiting. A demo whose snapshot takes ~50 ms or more gives 1 ms: the browser's report of a redraw reaches the
    # kernel's main thread through its shell-channel thread, which needs the GIL, and with a zero wait it crossed
    # only over several snapshots (0.7-1 s from a redraw to its report, the ack gate holding the redraws to ~5 a
    # second; see HistogramsApp).
    yield_seconds: float = 0.0
    ack_timeout: float = 1.0  # without a browser to acknowledge a redraw, redraw this often

    def __init__(self) -> None:
        self.figure = None  # the subclass's plotly FigureWidget
        self.trainer: Trainer | None = None
        self.snapshots = None
        self.snapshot: Snapshot | None = None
        self.task: asyncio.Task | None = None
        self.generation = 0  # bumped by every reset: a task of an older generation stops at once
        self.stop_at = 0
        self.finished = False
        self.last_draw = 0.0
        self.redraws = 0
        self.use_ack_gate = True

        # Train and Pause are two buttons, not one that toggles: a click on a label the browser has not yet
        # updated (Pause, just after a run ended by itself) would otherwise start the run it meant to stop.
        self.train_button = widgets.Button(description="Train", icon="play", button_style="success",
                                           tooltip="Train the network in the background")
        self.pause_button = widgets.Button(description="Pause", icon="pause", button_style="warning",
                                           tooltip="Pause training; Train goes on from here")
        self.step_button = widgets.Button(description="Step", icon="step-forward",
                                          tooltip=f"Train {self.every} steps and stop")
        self.reset_button = widgets.Button(description="Reset", icon="refresh",
                                           tooltip="Start again from the initial weights")
        for button in (self.train_button, self.pause_button, self.step_button, self.reset_button):
            button.layout = widgets.Layout(width="auto", min_width="90px")
        self.progress = widgets.IntProgress(value=0, min=0, max=self.run_steps, description="",
                                            layout=widgets.Layout(width="220px"))
        self.status = widgets.HTML(value="")
        self.message = widgets.HTML(value="")  # bad input and errors, shown next to the controls
        self.train_button.on_click(lambda _: self.start())
        self.pause_button.on_click(lambda _: self.stop())
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())

    # -- what a demo provides -----------------------------------------------------------------

    def make_trainer(self) -> Trainer:
        """A Trainer built from the current control values (ValueError for bad input). It changes no widget:
        what a control shows follows from its change handler, what describes the new run from start_run."""
        raise NotImplementedError

    def start_run(self) -> None:
        """Forget what was recorded for the previous run."""

    def record(self, snap: Snapshot) -> None:
        raise NotImplementedError

    def redraw(self) -> None:
        raise NotImplementedError

    def describe(self, snap: Snapshot) -> str:
        """One line of status under the figure; plain text."""
        return f"step {snap.step:,}"

    def open_figure(self, figure: go.Figure) -> None:
        """Draw the first state of a new run into `figure`, then make it the app's FigureWidget.

        A FigureWidget carries its traces to the page as they are when it is made; Voila runs the whole
        notebook before the page connects, and changes made in between would never arrive. Drawing first
        and wrapping afterwards makes the first state part of the widget itself.
        """
        self.figure = Figure(figure)
        self.reset()
        self.figure = FigureWidget(self.figure)

    # -- the buttons --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def reset(self) -> None:
        """Stop any run, build a new trainer from the controls and show its initial state."""
        self.stop(show=False)  # the new run's first state is drawn below: one redraw, not two
        self.message.value = ""
        self.finished = False
        try:
            self.trainer = self.make_trainer()
            self.snapshots = self.trainer.snapshots(every=self.every)
            self.start_run()
            self.stop_at = self.run_steps
            self.take(next(self.snapshots))
        except Exception as error:  # noqa: BLE001 - a dashboard shows a message, never a traceback
            self.trainer = self.snapshots = None
            expected = isinstance(error, (ValueError, TypeError, MemoryError))  # bad input, or too large
            self.show_message(str(error) if expected else f"{type(error).__name__}: {error}")
        self.refresh_buttons()
        self.draw()

    def start(self) -> None:
        """Start training in the background on the running event loop (one loop at most)."""
        if self.running or self.snapshots is None or self.finished:
            return
        if self.trainer.step >= self.stop_at:
            self.stop_at = self.trainer.step + self.run_steps
        self.task = asyncio.ensure_future(self.train())
        self.refresh_buttons()

    def stop(self, show: bool = True) -> None:
        """Pause: the training task ends at its next look at the event loop; `show` draws the step reached."""
        self.generation += 1
        was_running = self.running
        if was_running:
            self.task.cancel()
        self.task = None
        if was_running and show:
            self.draw()  # show the step where training stopped, not the last throttled redraw
        self.refresh_buttons()

    def step(self) -> None:
        """Pause, train one snapshot interval, redraw."""
        self.stop(show=False)
        if self.snapshots is not None and not self.finished:
            self.guarded(lambda: self.pull(1))
        self.draw()
        self.refresh_buttons()

    # -- the loop -----------------------------------------------------------------------------

    async def train(self, seconds: float | None = None) -> None:
        """Train until paused, reset, `stop_at`, every model diverged, or `seconds` have passed."""
        generation = self.generation
        began = time.perf_counter()
        try:
            while generation == self.generation and not self.finished and self.trainer.step < self.stop_at:
                if seconds is not None and time.perf_counter() - began > seconds:
                    break
                slice_end = time.perf_counter() + self.slice_seconds
                while time.perf_counter() < slice_end and self.trainer.step < self.stop_at:
                    if not self.pull(1):
                        break
                if self.figure_ready():
                    self.draw()
                await asyncio.sleep(self.yield_seconds)  # let the kernel handle clicks, slider changes, reports
        except asyncio.CancelledError:
            pass
        except Exception as error:  # shown in the app; a task's exception would otherwise vanish
            self.show_message(f"Training stopped: {error}")
        finally:
            if generation == self.generation:
                self.task = None
                self.draw()
                self.refresh_buttons()

    def pull(self, count: int) -> bool:
        """Take up to `count` snapshots; False once the run has ended (every model diverged)."""
        for _ in range(count):
            snap = next(self.snapshots, None)
            if snap is None:
                self.finished = True
                return False
            self.take(snap)
        return True

    def take(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.record(snap)
        if snap.diverged.all():  # nothing left to train: say so now, not at the next pull
            self.finished = True

    def figure_ready(self) -> bool:
        """Time for a redraw: not more often than max_fps, and the browser has drawn the last one."""
        now = time.perf_counter()
        if now - self.last_draw < 1 / self.max_fps:
            return False
        waiting = self.use_ack_gate and self.figure.edits_in_flight() >= self.in_flight
        return not waiting or now - self.last_draw > self.ack_timeout

    def draw(self) -> None:
        self.last_draw = time.perf_counter()
        if self.snapshot is not None and self.trainer is not None:
            self.guarded(self.redraw)
            self.redraws += 1
            with self.progress.hold_sync():  # one message for the three changes, not three
                self.progress.max = max(self.stop_at, 1)
                self.progress.value = min(self.trainer.step, self.progress.max)
                self.progress.description = f"{self.trainer.step:,}"
            self.status.value = html.escape(self.describe(self.snapshot))
        elif self.trainer is None:
            self.status.value = ""

    # -- messages -----------------------------------------------------------------------------

    def guarded(self, action) -> None:
        """Run an action; an unexpected error becomes a message in the app, never a traceback."""
        try:
            action()
        except Exception as error:
            self.show_message(f"{type(error).__name__}: {error}")

    def show_message(self, text: str) -> None:
        self.message.value = f'<span class="explorer-error" style="color:#b00020">&#9888; {html.escape(text)}</span>'

    def refresh_buttons(self) -> None:
        ready = self.snapshots is not None and not self.finished
        self.train_button.disabled = self.running or not ready
        self.pause_button.disabled = not self.running
        self.step_button.disabled = not ready

    def buttons(self) -> widgets.Box:
        return widgets.HBox(
            [self.train_button, self.pause_button, self.step_button, self.reset_button, self.progress],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
