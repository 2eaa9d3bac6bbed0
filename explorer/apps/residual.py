"""Residual networks and normalization: why a hundred layers train, live, against the variance theory.

Every start of explorer.residual.STARTS (plain net, residual with He, alpha = 1/sqrt(L), Fixup, SkipInit,
LayerNorm, BatchNorm) trains on the 8x8 digits as one stack, on the same minibatches. One figure, four panels:

    stream variance     E[x_l^2] per block l now (markers) and as predicted at the start (lines),
                        explorer.theory.residual, from each start's measured x_0
    gradient variance   E[g_l^2] of dCost/dx_l per block now (markers) and predicted (lines), relative to the
                        last block's
    cost                training cost on the batch against the step, log scale
    trainability        cost after a fixed budget against depth, for every start: computed on a button press
                        (cancellable, with progress), then kept on disk

    from explorer.apps.residual import ResidualApp
    ResidualApp().widget
"""

from __future__ import annotations

import asyncio
import html
import os

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import residual
from explorer.apps.figure import Figure
from explorer.apps.live import LiveApp
from explorer.theory.residual import predict_residual
from explorer.training import History

BATCH_SIZE = 64
EXAMPLES = 512
PANELS = ("stream", "gradient", "cost")  # a trace per start and panel: "fixup stream", ...; predictions "fixup
# stream predicted", "fixup gradient predicted"; the sweep "fixup sweep"
BRANCHES = (("two layers: ReLU, linear, ReLU, linear", "two"), ("one layer: ReLU, linear", "one"))
BRANCH_LAYERS = {"two": 2, "one": 1}  # a link holds the word
FIGURE_HEIGHT = 860
MARGIN = dict(l=60, r=20, t=150, b=70)  # px; the top one holds the title and the legend


class ResidualApp(LiveApp):
    """Seven starts of one residual network on the digits, trained side by side; a depth sweep on request.

    cache_dir: where depth sweeps are stored (default: explorer.sweep.cache_directory()).
    sweep_depths: the depths of the trainability sweep.
    """

    every = 5
    run_steps = 1_000
    yield_seconds = 0.001  # a snapshot of a deep stack takes tens of ms (see LiveApp.yield_seconds)

    def __init__(self, cache_dir: str | os.PathLike | None = None,
                 sweep_depths: tuple[int, ...] = residual.DepthSweepConfig.depths) -> None:
        super().__init__()
        self.cache_dir = cache_dir
        self.sweep_depths = tuple(sweep_depths)
        self.X, self.y = residual.digits_task(EXAMPLES, seed=0)
        self.keys = tuple(residual.STARTS)
        self.costs: History | None = None
        self.predicted: dict[str, np.ndarray] = {}
        self.sweep_task: asyncio.Task | None = None
        self.sweep_result: residual.DepthSweep | None = None

        style = {"description_width": "initial"}
        self.depth = widgets.IntSlider(value=50, min=10, max=200, step=10, description="Blocks L", style=style,
                                       continuous_update=False)
        self.width = widgets.IntSlider(value=32, min=16, max=128, step=16, description="Width n", style=style,
                                       continuous_update=False)
        self.branch = widgets.Dropdown(options=BRANCHES, value="two", description="Branch F", style=style,
                                       layout=widgets.Layout(width="360px"))
        self.learning_rate = widgets.FloatText(value=0.05, description="Learning rate", style=style,
                                               layout=widgets.Layout(width="170px"))
        self.seed = widgets.IntText(value=0, description="Seed", style=style, layout=widgets.Layout(width="130px"))
        for control in (self.depth, self.width, self.branch, self.learning_rate, self.seed):
            control.observe(lambda _: self.reset(), names="value")
        self.branch.observe(lambda _: self.show_sweep(), names="value")
        self.width.observe(lambda _: self.show_sweep(), names="value")
        self.learning_rate.observe(lambda _: self.show_sweep(), names="value")
        self.note = widgets.HTML()
        self.sweep_button = widgets.Button(description="Trainability over depth", icon="play",
                                           layout=widgets.Layout(width="auto"),
                                           tooltip="Train every start at every depth of the sweep; kept on disk")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            layout=widgets.Layout(width="auto"), tooltip="Stop the sweep")
        self.sweep_progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="200px"))
        self.sweep_status = widgets.HTML()
        self.sweep_button.on_click(lambda _: self.start_sweep())
        self.cancel_button.on_click(lambda _: self.cancel_sweep())

        self.open_figure(self.build_figure())
        self.show_sweep()
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.depth, self.width, self.branch, self.learning_rate, self.seed], layout=row),
            widgets.HBox([self.buttons()], layout=row),
            widgets.HBox([self.sweep_button, self.cancel_button, self.sweep_progress, self.sweep_status],
                         layout=row),
            self.note, self.message, self.figure, self.status,
        ])

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"depth": self.depth, "width": self.width, "branch": self.branch,
                "learning_rate": self.learning_rate, "seed": self.seed}

    def model_labels(self) -> list[str]:
        return [residual.STARTS[key].label for key in self.keys]

    # -- the run ------------------------------------------------------------------------------

    def make_trainer(self) -> residual.ResidualTrainer:
        seed = self.seed.value
        if seed is None or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        # A step at 200 blocks takes about 0.2 s here: fewer steps between snapshots keep Pause quick when deep.
        self.every = 5 if self.depth.value <= 50 else 2 if self.depth.value <= 100 else 1
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(len(self.keys))]
        net = residual.ResidualNet(self.X.shape[1], self.width.value, self.depth.value, 10, starts=list(self.keys),
                                   seed=seeds, branch_layers=BRANCH_LAYERS[self.branch.value])
        return residual.ResidualTrainer(net, self.X, self.y, lr=self.learning_rate.value, batch_size=BATCH_SIZE,
                                        seed=seed)

    def start_run(self) -> None:
        net = self.trainer.net
        self.note.value = (f"<small>8x8 digits, {len(self.y):,} training images; stream of width {net.width} "
                           f"through {net.depth} pre-activation blocks x ← s·x + α·F(N(x)), SGD on batches of "
                           f"{BATCH_SIZE}, the same batches for every start. Lines: the variance theory at the "
                           "start (explorer.theory.residual); markers: measured now.</small>")
        self.costs = History(len(self.keys), max_points=300)
        self.predicted = {}

    def record(self, snap: residual.ResidualSnapshot) -> None:
        self.costs.append(snap.step, snap.cost)
        if not self.predicted:  # the run's first snapshot: predictions from each start's measured x_0
            net = self.trainer.net
            gains = net.branch_gains()
            for k, start in enumerate(net.starts):
                units = None if start.norm == "none" else (net.width if start.norm == "layer" else BATCH_SIZE)
                q0 = snap.stream_var[0, k]
                if not (np.isfinite(q0) and q0 > 0):
                    continue
                pred = predict_residual(net.depth, gains[k], start.alpha_value(net.depth), start.skip, start.norm,
                                        q0=float(q0), units=units)
                self.predicted[start.key] = (pred.stream, pred.grad * snap.grad_var[-1, k])

    def describe(self, snap: residual.ResidualSnapshot) -> str:
        parts = []
        for k, key in enumerate(self.keys):
            if snap.diverged[k]:
                parts.append(f"{key} diverged at step {snap.diverged_at[k]:,}")
            else:
                parts.append(f"{key} {snap.cost[k]:.3g}")
        return f"step {snap.step:,} (epoch {snap.epoch:.1f}) · cost: " + ", ".join(parts)

    # -- the figure ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(rows=2, cols=2, horizontal_spacing=0.09, vertical_spacing=0.16,
                                   subplot_titles=["stream E[x_l²] per block (lines: predicted at step 0)",
                                                   "gradient E[(dCost/dx_l)²] per block (lines: predicted)",
                                                   "cost on the batch",
                                                   "trainability: cost after the sweep's budget"]))
        for key in self.keys:
            start = residual.STARTS[key]
            line = dict(color=start.color, width=2)
            marker = dict(mode="markers", marker=dict(color=start.color, size=4), legendgroup=key, showlegend=False,
                          name=start.label, hovertemplate="block %{x}: %{y:.3g}<extra>%{fullData.name}</extra>")
            predicted = dict(mode="lines", line=dict(color=start.color, width=1.5, dash="dot"), legendgroup=key,
                             showlegend=False, name=start.label + " (predicted)", hoverinfo="skip")
            fig.add_named(f"{key} stream", go.Scatter(x=[], y=[], **marker), row=1, col=1)
            fig.add_named(f"{key} stream predicted", go.Scatter(x=[], y=[], **predicted), row=1, col=1)
            fig.add_named(f"{key} gradient", go.Scatter(x=[], y=[], **marker), row=1, col=2)
            fig.add_named(f"{key} gradient predicted", go.Scatter(x=[], y=[], **predicted), row=1, col=2)
            fig.add_named(f"{key} cost", go.Scatter(x=[], y=[], mode="lines", line=line, legendgroup=key,
                                                    name=start.label,
                                                    hovertemplate="%{y:.3g}<extra>%{fullData.name}</extra>"),
                          row=2, col=1)
            fig.add_named(f"{key} sweep", go.Scatter(x=[], y=[], mode="lines+markers", line=line, legendgroup=key,
                                                     showlegend=False, name=start.label, marker_size=6,
                                                     hovertemplate="depth %{x}: %{y:.3g}<extra>%{fullData.name}"
                                                                   "</extra>"), row=2, col=2)
        for col in (1, 2):
            fig.update_xaxes(title_text="block l", row=1, col=col)
            fig.update_yaxes(type="log", exponentformat="power", row=1, col=col)
        fig.update_xaxes(title_text="step", row=2, col=1)
        fig.update_yaxes(title_text="cost (cross-entropy, log)", type="log", row=2, col=1)
        # The sweep's depths run from 10 to 200 blocks, its costs from chance (log 10 = 2.3) down to about 1e-4.
        fig.update_xaxes(title_text="blocks L", type="log", range=[0.9, 2.4], tickvals=[10, 20, 50, 100, 200],
                         row=2, col=2)
        fig.update_yaxes(title_text="cost after training (log)", type="log", range=[-4, 1], dtick=1,
                         exponentformat="power", row=2, col=2)
        # The legend above the panels, under the title: the whole figure's, in two rows of long labels.
        above = 40 / (FIGURE_HEIGHT - MARGIN["t"] - MARGIN["b"])
        fig.update_layout(height=FIGURE_HEIGHT, width=None, autosize=True, margin=MARGIN, template="plotly_white",
                          legend=dict(orientation="h", x=0, y=1 + above, yanchor="bottom", font=dict(size=11)),
                          title=dict(x=0.01, y=0.985, font_size=15))
        fig.update_annotations(font_size=13)
        return fig

    def redraw(self) -> None:
        fig, snap = self.figure, self.snapshot
        blocks = np.arange(snap.stream_var.shape[0])
        steps = self.costs.x
        costs = self.costs.y
        with fig.batch_update():
            for k, key in enumerate(self.keys):
                fig.trace(f"{key} stream").update(x=blocks, y=positive(snap.stream_var[:, k]))
                fig.trace(f"{key} gradient").update(x=blocks, y=positive(snap.grad_var[:, k]))
                fig.trace(f"{key} cost").update(x=steps, y=costs[:, k])
                stream, grad = self.predicted.get(key, ([], []))
                fig.trace(f"{key} stream predicted").update(x=blocks[: len(stream)], y=positive(stream))
                fig.trace(f"{key} gradient predicted").update(x=blocks[: len(grad)], y=positive(grad))
            net = self.trainer.net
            fig.layout.title.text = (f"{net.depth} blocks of width {net.width}, seven starts · learning rate "
                                     f"{self.learning_rate.value:g} · step {snap.step:,}")

    # -- trainability over depth --------------------------------------------------------------

    def sweep_config(self) -> residual.DepthSweepConfig:
        return residual.DepthSweepConfig(depths=self.sweep_depths, starts=self.keys, width=self.width.value,
                                         branch_layers=BRANCH_LAYERS[self.branch.value],
                                         lr=float(self.learning_rate.value),
                                         examples=EXAMPLES)

    def show_sweep(self, result: residual.DepthSweep | None = None) -> None:
        """The stored sweep for the current width, branch and learning rate (or `result`), else an empty panel."""
        try:
            config = self.sweep_config()
            result = result or residual.cached_depth_sweep(config, self.cache_dir)
        except (ValueError, TypeError) as error:
            self.sweep_status.value = html.escape(f"No sweep for these settings: {error}")
            return
        self.sweep_result = result
        with self.figure.batch_update():
            for k, key in enumerate(self.keys):
                y = [] if result is None else np.where(result.diverged[:, k], np.nan, result.cost[:, k])
                self.figure.trace(f"{key} sweep").update(x=[] if result is None else list(config.depths), y=y)
        runs = len(config.depths) * len(config.starts)
        if result is None:
            self.sweep_status.value = html.escape(
                f"Not computed for width {config.width}, {config.branch_layers}-layer branches, learning rate "
                f"{config.lr:g}: {runs} networks at depths {', '.join(map(str, config.depths))}, {config.steps} "
                "steps each.")
            self.sweep_progress.value = 0
        else:
            where = "read from the cache" if result.from_cache else "computed"
            self.sweep_status.value = html.escape(
                f"{where}: {runs} networks, {config.steps} steps each (first computed in {result.seconds:.0f} s). "
                "Gaps: diverged.")
            self.sweep_progress.max, self.sweep_progress.value = 1, 1

    def start_sweep(self) -> None:
        """Start the sweep in the background (progress bar, Cancel); pauses training while it runs."""
        if self.sweep_task is not None and not self.sweep_task.done():
            return
        try:
            items = residual.depth_sweep(self.sweep_config(), self.cache_dir)
        except (ValueError, TypeError) as error:
            self.show_message(str(error))
            return
        self.stop()
        self.sweep_button.disabled, self.cancel_button.disabled = True, False
        self.sweep_task = asyncio.ensure_future(self.run_sweep(items))

    async def run_sweep(self, items) -> None:
        try:
            for item in items:
                self.sweep_progress.max = max(item.total, 1)
                self.sweep_progress.value = item.done
                self.sweep_progress.description = f"{100 * item.done // max(item.total, 1)}%"
                if item.result is not None:
                    self.show_sweep(item.result)
                await asyncio.sleep(0.001)  # let a click on Cancel through
        except asyncio.CancelledError:
            self.sweep_status.value = "Cancelled: nothing stored."
        except Exception as error:  # noqa: BLE001 - a message, never a traceback
            self.show_message(f"The sweep stopped: {type(error).__name__}: {error}")
        finally:
            items.close()
            self.sweep_button.disabled, self.cancel_button.disabled = False, True

    def cancel_sweep(self) -> None:
        if self.sweep_task is not None and not self.sweep_task.done():
            self.sweep_task.cancel()


def positive(values) -> np.ndarray:
    """Values for a log axis: exactly 0 (Fixup's gradient at step 0, with its zero output layer) becomes a gap."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(values > 0, values, np.nan)
