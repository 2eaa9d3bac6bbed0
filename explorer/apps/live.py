"""Live training behind a notebook's controls, without ever blocking the kernel.

Training runs as an asyncio task on the kernel's own event loop. The task trains in short slices
(about 10 ms), and between slices it hands control back to the loop, so button clicks and slider
changes are handled while the network trains. It redraws the figure at most `max_fps` times a
second, and only while fewer than `in_flight` redraws wait to be drawn by the browser (the "ack
gate": the browser reports each redraw it has drawn), so no backlog of redraws piles up in the page.
Three in flight, not one: a redraw's trip from the kernel to the page and back (the browser's report
of it is ~28 kB) takes longer than the browser's drawing of it, so the next redraws travel while the
browser draws this one, at no cost to how soon Pause takes effect (benchmarks/bench_live.py measures both).

A demo subclasses LiveApp; the contract is in LiveApp's docstring. Everything about driving the plotly figure
(names of traces, fast and quick updates, pictures, axis ranges) is in explorer.apps.figure.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Callable

import ipywidgets as widgets
import plotly.graph_objects as go

from explorer.apps.figure import FigureWidget, draw_then_wrap
from explorer.apps.resize import FitOnResize
from explorer.training import Snapshot, Trainer

# A disabled button in grey and faded: ipywidgets only fades it a little (opacity 0.6), and a disabled Pause
# then looks almost like an enabled one.
BUTTON_STYLE = """<style>
.explorer-buttons .jupyter-button:disabled { opacity: 0.4; filter: grayscale(1); cursor: not-allowed; }
</style>"""


class LiveApp:
    """Train, Pause, Step and Reset buttons, a progress bar and a status line around one figure.

    A demo subclasses LiveApp. Its __init__ calls `super().__init__()`, makes its controls (each control that
    changes the run calls `self.reset()` when its value changes), calls `self.open_figure(figure)` with its
    figure's panels, and puts `self.widget` together: its controls, `self.buttons()`, `self.message`,
    `self.figure` and `self.status`. It provides

        settings()       its controls that a share link sets and an export records, by public key
                         (explorer.apps.settings)
        make_trainer()   a Trainer built from the current control values (ValueError for bad input: the
                         message says so, and Train stays disabled); it changes no widget
        record(snap)     keep what the figure needs from one snapshot (cheap: called for every one)
        redraw()         update `self.figure` in place from what was recorded (explorer.apps.figure: traces by
                         name, fast_update and quick_update)

    and may override

        start_run()      forget what was recorded for the previous run: called by `reset` after
                         make_trainer, before the new run's first snapshot is recorded
        describe(snap)   the status line under the figure, plain text
        every, run_steps, in_flight, yield_seconds (class attributes, below): how often a snapshot is taken,
                         how long a press of Train runs, and how the redraws are paced

    The buttons, the training task and the pacing of redraws are LiveApp's own.
    """

    every: int = 10  # steps between snapshots
    run_steps: int = 5_000  # a press of Train runs at most this many steps, then pauses
    max_fps: float = 15.0  # redraws per second at most (the ack gate holds it to what the browser manages)
    in_flight: int = 3  # redraws sent that the browser has not yet drawn, at most (the ack gate)
    slice_seconds: float = 0.01  # compute between two looks at the event loop: a click waits at most this
    # How long each look at the event loop waits. 0: one turn of the loop, which polls the kernel's sockets without
    # waiting. A demo whose snapshot takes ~50 ms or more gives 1 ms: the browser's report of a redraw reaches the
    # kernel's main thread through its shell-channel thread, which needs the GIL, and with a zero wait it crosses
    # only over several snapshots, so that the ack gate holds the redraws back (see HistogramsApp).
    yield_seconds: float = 0.0
    ack_timeout: float = 1.0  # without a browser to acknowledge a redraw, redraw this often

    def __init__(self) -> None:
        self.figure: FigureWidget | None = None  # made by open_figure
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
        """A new Trainer from the current control values; ValueError (or TypeError) for bad input. It changes no
        widget: what a control shows follows from its change handler, what describes the new run from start_run."""
        raise NotImplementedError

    def start_run(self) -> None:
        """Forget what was recorded for the previous run: called by `reset` once `self.trainer` is the new run's,
        before its first snapshot is recorded."""

    def record(self, snap: Snapshot) -> None:
        """Keep what the figure needs from `snap`; called for every snapshot, drawn or not."""
        raise NotImplementedError

    def redraw(self) -> None:
        """Update `self.figure` from what was recorded: at most `max_fps` times a second while training, and
        after a reset, a step and a pause."""
        raise NotImplementedError

    def describe(self, snap: Snapshot) -> str:
        """One line of status under the figure; plain text."""
        return f"step {snap.step:,}"

    @staticmethod
    def each_model(snap: Snapshot, names: list[str], value: Callable[[int], str]) -> str:
        """One clause per model of a stack, for a status line: "name value(k)", or the step where it diverged."""
        return ", ".join(f"{name} diverged at step {snap.diverged_at[k]:,}" if snap.diverged[k]
                         else f"{name} {value(k)}" for k, name in enumerate(names))

    def open_figure(self, figure: go.Figure) -> None:
        """Draw the first state of a new run into `figure`, then make it the app's FigureWidget (see
        explorer.apps.figure.draw_then_wrap: why first draw, then wrap)."""
        draw_then_wrap(self, figure, self.reset)

    # -- the buttons --------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """A training task is under way."""
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
        """Make `snap` the current snapshot and record it; a run whose every model diverged is finished."""
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
        """Redraw the figure, the progress bar and the status line for the current snapshot."""
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
        """Show `text` as an error next to the controls."""
        self.message.value = f'<span class="explorer-error" style="color:#b00020">&#9888; {html.escape(text)}</span>'

    def refresh_buttons(self) -> None:
        """Enable the buttons that can act now: Train and Step with a run to go on, Pause while training."""
        ready = self.snapshots is not None and not self.finished
        self.train_button.disabled = self.running or not ready
        self.pause_button.disabled = not self.running
        self.step_button.disabled = not ready

    def buttons(self) -> widgets.Box:
        """The buttons and the progress bar, in one row."""
        box = widgets.HBox(
            [self.train_button, self.pause_button, self.step_button, self.reset_button, self.progress,
             FitOnResize(self),  # the figure follows the window's width (call buttons() after the figure is made)
             widgets.HTML(BUTTON_STYLE, layout=widgets.Layout(display="none"))],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        box.add_class("explorer-buttons")
        return box
