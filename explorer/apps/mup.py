"""Width transfer: does the best learning rate of a small network still work for a wide one? SP against μP.

One figure, four panels (explorer.mup computes every number; Yang et al. 2022, "Tensor Programs V"):

    SP           training loss after a fixed budget against log2 of the learning rate, one curve per width,
                 the best rate of each width starred
    μP           the same for the maximal update parametrization
    best rate    log2 of each width's best learning rate, SP and μP: SP's slides down as the width grows,
                 μP's stays put
    coordinates  the coordinate check: the size (RMS) of each layer's pre-activations after t steps of SGD,
                 against width (dotted: at the start); flat under μP, growing (logits, hidden) under SP

The sweep (every width x every rate x both parametrizations) is trained on a button press, a step at a time on the
kernel's event loop, so the page stays live, the progress bar moves and Cancel stops it; a finished sweep is kept on
disk (explorer.sweep's cache) and shown at once the next time the same settings are chosen.

    from explorer.apps.mup import WidthTransferApp
    WidthTransferApp().widget
"""

from __future__ import annotations

import asyncio
import html
import os
import time

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import mup
from explorer.apps.figure import Figure, draw_then_wrap
from explorer.apps.live import BUTTON_STYLE
from explorer.apps.resize import FitOnResize

WIDTHS = {"64-512": (64, 128, 256, 512), "64-1024": (64, 128, 256, 512, 1024),
          "64-2048": (64, 128, 256, 512, 1024, 2048)}
WIDTH_LABELS = {"64-512": "64, 128, 256, 512", "64-1024": "64 … 1,024 (5 widths)",
                "64-2048": "64 … 2,048 (6 widths, slow)"}
COLORS = ("#440154", "#3b528b", "#21918c", "#5ec962", "#b5a000", "#e8590c")  # narrow (dark) to wide (light)
LAYER_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
PARAMETRIZATION_COLORS = {"sp": "#d62728", "mup": "#1f77b4"}
COORD_STEPS = 4  # the coordinate check trains this many steps
SLICE_SECONDS = 0.1  # sweep work between two looks at the event loop
FIGURE_HEIGHT = 900  # px
MARGIN = dict(l=70, r=30, t=50, b=100)
LEGEND_BELOW = 56  # px from a panel's lower edge to its legend


class WidthTransferApp:
    """The width-transfer sweep (on request, cached) and the coordinate check (at once), SP beside μP.

    cache_dir: where sweeps are stored (default: explorer.sweep.cache_directory()).
    base: the sweep's configuration; widths, learning rates and steps come from the controls.
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, base: mup.TransferConfig | None = None) -> None:
        self.cache_dir = cache_dir
        self.base = base or mup.TransferConfig()
        self.result: mup.TransferResult | None = None
        self.work: mup.TransferSweep | None = None
        self.task: asyncio.Task | None = None
        self.generation = 0
        self.checks: dict[tuple, mup.CoordinateCheck] = {}
        style = {"description_width": "initial"}
        grid = self.base.log2_lr
        self.widths = widgets.Dropdown(options=[(label, key) for key, label in WIDTH_LABELS.items()],
                                       value="64-512", description="Widths", style=style,
                                       layout=widgets.Layout(width="300px"))
        self.lr_min = widgets.IntSlider(value=int(min(grid)), min=-14, max=0, description="log₂ η from",
                                        continuous_update=False, style=style)
        self.lr_max = widgets.IntSlider(value=int(max(grid)), min=-6, max=6, description="to",
                                        continuous_update=False, style=style, layout=widgets.Layout(width="240px"))
        self.steps = widgets.IntSlider(value=self.base.steps, min=10, max=1000, step=10, description="Steps",
                                       continuous_update=False, style=style)
        self.parametrization = widgets.ToggleButtons(options=[(v, k) for k, v in mup.PARAMETRIZATIONS.items()],
                                                     value="sp", description="Coordinate check",
                                                     style={"description_width": "initial", "button_width": "110px"})
        self.coord_step = widgets.IntSlider(value=1, min=0, max=COORD_STEPS, description="after t steps",
                                            continuous_update=False, style=style, layout=widgets.Layout(width="260px"))
        self.coord_lr = widgets.IntSlider(value=-3, min=-8, max=2, description="at log₂ η",
                                          continuous_update=False, style=style, layout=widgets.Layout(width="260px"))
        self.run_button = widgets.Button(description="Run sweep", icon="play", button_style="success",
                                         tooltip="Train every width at every learning rate, SP and μP; kept on disk")
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", button_style="warning", disabled=True,
                                            tooltip="Stop the sweep (nothing is stored)")
        for button in (self.run_button, self.cancel_button):
            button.layout = widgets.Layout(width="auto", min_width="90px")
        self.progress = widgets.IntProgress(value=0, min=0, max=1000, layout=widgets.Layout(width="220px"))
        self.sweep_status = widgets.HTML()
        self.message = widgets.HTML()
        self.status = widgets.HTML()
        for control in (self.widths, self.lr_min, self.lr_max, self.steps):
            control.observe(lambda _: self.settings_changed(), names="value")
        self.widths.observe(lambda _: self.update_check(), names="value")
        for control in (self.parametrization, self.coord_lr):
            control.observe(lambda _: self.update_check(), names="value")
        self.coord_step.observe(lambda _: self.update_check(), names="value")
        self.run_button.on_click(lambda _: self.start())
        self.cancel_button.on_click(lambda _: self.cancel())

        draw_then_wrap(self, self.build_figure(), self.first_draw)
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        buttons = widgets.HBox([self.run_button, self.cancel_button, self.progress, self.sweep_status,
                                widgets.HTML(BUTTON_STYLE, layout=widgets.Layout(display="none"))], layout=row)
        buttons.add_class("explorer-buttons")  # a disabled button greyed out (BUTTON_STYLE)
        self.widget = widgets.VBox([
            widgets.HBox([self.widths, self.lr_min, self.lr_max, self.steps], layout=row),
            buttons,
            widgets.HBox([self.parametrization, self.coord_step, self.coord_lr], layout=row),
            self.message,
            self.figure,
            self.status,
            FitOnResize(self),
        ])

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls a share link sets and an export records, by public key (never rename one)."""
        return {"widths": self.widths, "lr_min": self.lr_min, "lr_max": self.lr_max, "steps": self.steps,
                "parametrization": self.parametrization, "coord_step": self.coord_step, "coord_lr": self.coord_lr}

    # -- figure -------------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(
            rows=2, cols=2, horizontal_spacing=0.12, vertical_spacing=0.2,
            subplot_titles=("SP: training loss after the budget", "μP: training loss after the budget",
                            "Best learning rate against width", "Coordinate check"),
        ))
        add = fig.add_named
        widest = max(len(w) for w in WIDTHS.values())
        for col, p in ((1, "sp"), (2, "mup")):
            for i in range(widest):
                add(f"{p}_w{i}", go.Scatter(x=[], y=[], mode="lines+markers", line=dict(color=COLORS[i]),
                                            marker=dict(size=5), name=f"width {i}", legendgroup=f"w{i}",
                                            showlegend=p == "sp"), 1, col)
            add(f"{p}_best", go.Scatter(x=[], y=[], mode="markers", name="best η of each width",
                                        marker=dict(symbol="star", size=14, color=[], line=dict(color="black",
                                                                                                 width=1)),
                                        showlegend=p == "sp", legendgroup="best"), 1, col)
        for p, label in mup.PARAMETRIZATIONS.items():
            add(f"best_{p}", go.Scatter(x=[], y=[], mode="lines+markers", name=label,
                                        line=dict(color=PARAMETRIZATION_COLORS[p], width=3),
                                        marker=dict(size=9)), 2, 1)
        for l in range(self.base.hidden_layers + 1):
            add(f"coord_{l}", go.Scatter(x=[], y=[], mode="lines+markers", line=dict(color=LAYER_COLORS[l]),
                                         name="", legendgroup=f"l{l}"), 2, 2)
            add(f"coord0_{l}", go.Scatter(x=[], y=[], mode="lines", showlegend=False, legendgroup=f"l{l}",
                                          line=dict(color=LAYER_COLORS[l], dash="dot", width=1)), 2, 2)
        add("coord_start", go.Scatter(x=[None], y=[None], mode="lines", name="at the start",
                                      line=dict(color="grey", dash="dot", width=1)), 2, 2)  # the legend's key
        fig.update_layout(height=FIGURE_HEIGHT, margin=MARGIN, template="plotly_white")
        for col in (1, 2):
            fig.update_xaxes(title_text="log₂ η (base learning rate)", dtick=1, row=1, col=col)
            fig.update_yaxes(title_text="training loss", type="log", row=1, col=col)
        fig.update_xaxes(title_text="width n", type="log", row=2, col=1)
        fig.update_yaxes(title_text="log₂ of the best η", dtick=1, row=2, col=1)
        fig.update_xaxes(title_text="width n", type="log", row=2, col=2)
        fig.update_yaxes(title_text="RMS of the pre-activations", type="log", row=2, col=2)
        below = LEGEND_BELOW / (FIGURE_HEIGHT - MARGIN["t"] - MARGIN["b"])
        # The widths' legend under the top row, across both its panels (their colours are the same); the lower
        # panels' legends under each of them.
        for axis, side in (("x", "center"), ("x3", "left"), ("x4", "right")):
            legend = "legend" + axis[1:]
            fig.update_traces(legend=legend, selector=dict(xaxis=axis))
            x_domain, y_domain = fig.layout["xaxis" + axis[1:]].domain, fig.layout["yaxis" + axis[1:]].domain
            x = {"center": 0.5, "left": x_domain[0], "right": x_domain[1]}[side]
            fig.update_layout({legend: dict(orientation="h", x=x, xanchor=side, y=y_domain[0] - below,
                                            yanchor="top", font=dict(size=11), traceorder="normal")})
        fig.update_traces(legend="legend", selector=dict(xaxis="x2"))
        return fig

    def first_draw(self) -> None:
        self.settings_changed()
        self.update_check()

    # -- the sweep ----------------------------------------------------------------------------

    def config(self) -> mup.TransferConfig:
        """The sweep's configuration for the current controls (ValueError for an empty rate range)."""
        from dataclasses import replace

        low, high = self.lr_min.value, self.lr_max.value
        if low > high:
            raise ValueError(f"the learning-rate range is empty: log₂ η from {low} to {high}; make 'from' ≤ 'to'")
        return replace(self.base, widths=WIDTHS[self.widths.value], log2_lr=tuple(float(v) for v in
                                                                                   range(low, high + 1)),
                       steps=self.steps.value)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def settings_changed(self) -> None:
        """New sweep settings: stop a sweep under way, show the stored result for them if there is one."""
        if self.running:
            self.cancel(say=False)
        self.message.value = ""
        try:
            config = self.config()
        except ValueError as error:
            self.show_message(str(error))
            self.run_button.disabled = True
            self.draw_sweep(None, None)
            return
        self.run_button.disabled = False
        self.draw_sweep(config, mup.cached_transfer_sweep(config, self.cache_dir))

    def start(self) -> None:
        """Run the sweep for the current settings on the event loop (or show the stored one)."""
        if self.running:
            return
        try:
            config = self.config()
            self.work = mup.TransferSweep(config, directory=self.cache_dir, chunk_steps=1)
        except (ValueError, TypeError) as error:
            self.show_message(str(error))
            return
        self.message.value = ""
        if self.work.finished:
            self.draw_sweep(config, self.work.result)
            return
        self.generation += 1
        self.task = asyncio.ensure_future(self.run_sweep(self.work, self.generation))
        self.refresh_buttons()
        self.show_progress(self.work)

    async def run_sweep(self, work: mup.TransferSweep, generation: int) -> None:
        """Advance `work` in slices of SLICE_SECONDS, handing the loop back in between, until it ends or is
        cancelled (a newer generation)."""
        try:
            while generation == self.generation:
                end = time.perf_counter() + SLICE_SECONDS
                more = True
                while more and time.perf_counter() < end:
                    more = work.advance()
                self.show_progress(work)
                if not more:
                    self.draw_sweep(work.config, work.result)
                    break
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass
        except Exception as error:  # noqa: BLE001 - shown in the app; a task's exception would vanish
            self.show_message(f"The sweep stopped: {type(error).__name__}: {error}")
        finally:
            if generation == self.generation:
                self.task = None
                self.refresh_buttons()

    def cancel(self, say: bool = True) -> None:
        """Stop the sweep under way; nothing of it is stored."""
        self.generation += 1
        if self.running:
            self.task.cancel()
        self.task = None
        if say and self.work is not None and not self.work.finished:
            self.sweep_status.value = html.escape(
                f"Cancelled at {100 * self.work.done / max(self.work.total, 1):.0f} %: nothing stored. "
                "Run starts it again from the beginning.")
        self.refresh_buttons()

    def refresh_buttons(self) -> None:
        self.run_button.disabled = self.running
        self.cancel_button.disabled = not self.running

    def show_progress(self, work: mup.TransferSweep) -> None:
        with self.progress.hold_sync():
            self.progress.max = 1000
            self.progress.value = int(1000 * work.done / max(work.total, 1))
            self.progress.description = f"{100 * work.done / max(work.total, 1):.0f} %"
        if not work.finished:
            c = work.config
            self.sweep_status.value = html.escape(
                f"Training {len(work.jobs)} stacks of {len(c.log2_lr)} networks ({len(c.widths)} widths x SP and "
                f"μP), {c.steps} steps each: {work.seconds:.0f} s so far.")

    def draw_sweep(self, config: mup.TransferConfig | None, result: mup.TransferResult | None) -> None:
        """The loss curves and best rates of `result` (empty panels, and what a press of Run would do, if None)."""
        self.result = result
        updates: dict[str, dict] = {}
        widest = max(len(w) for w in WIDTHS.values())
        for p in ("sp", "mup"):
            for i in range(widest):
                updates[f"{p}_w{i}"] = dict(x=[], y=[], visible=False)
            updates[f"{p}_best"] = dict(x=[], y=[])
            updates[f"best_{p}"] = dict(x=[], y=[])
        if config is not None and result is not None:
            best = result.best_log2_lr()
            for pi, p in enumerate(config.parametrizations):
                xs, ys, colors = [], [], []
                for i, width in enumerate(config.widths):
                    loss = result.loss[pi, i]
                    updates[f"{p}_w{i}"] = dict(x=list(config.log2_lr), y=np.round(loss, 5), visible=True,
                                                name=f"width {width}")
                    if np.isfinite(best[pi, i]):
                        xs.append(best[pi, i])
                        ys.append(float(np.nanmin(loss)))
                        colors.append(COLORS[i])
                updates[f"{p}_best"] = dict(x=xs, y=ys, marker=dict(color=colors))
                updates[f"best_{p}"] = dict(x=list(config.widths), y=[None if not np.isfinite(b) else float(b)
                                                                      for b in best[pi]])
        with self.figure.batch_update():
            for name, props in updates.items():
                trace = self.figure.trace(name)
                for key, value in props.items():
                    if key == "marker":
                        trace.marker.color = value["color"]
                    else:
                        setattr(trace, key, value)
            if config is not None:
                self.figure.update_xaxes(range=[min(config.log2_lr) - 0.5, max(config.log2_lr) + 0.5], row=1)
                self.figure.update_yaxes(range=[min(config.log2_lr) - 0.5, max(config.log2_lr) + 0.5], row=2, col=1)
                self.figure.update_xaxes(tickvals=list(config.widths), ticktext=[str(w) for w in config.widths],
                                         row=2, col=1)
        self.describe_sweep(config, result)

    def describe_sweep(self, config: mup.TransferConfig | None, result: mup.TransferResult | None) -> None:
        if config is None:
            self.sweep_status.value = ""
            return
        runs = len(config.widths) * len(config.log2_lr) * len(config.parametrizations)
        if result is None:
            self.progress.value = 0
            self.progress.description = ""
            self.sweep_status.value = html.escape(
                f"Not computed yet: {runs} networks ({len(config.widths)} widths x {len(config.log2_lr)} rates x "
                f"SP and μP), {config.steps} steps each. Press Run sweep.")
            return
        self.progress.value = self.progress.max
        self.progress.description = "100 %"
        best = result.best_log2_lr()
        shifts = []
        for pi, p in enumerate(config.parametrizations):
            finite = best[pi][np.isfinite(best[pi])]
            if finite.size:
                shifts.append(f"{mup.PARAMETRIZATIONS[p]} best log₂ η {finite[0]:g} → {finite[-1]:g}")
        where = "read from the cache" if result.from_cache else "computed"
        self.sweep_status.value = html.escape(
            f"{where}: {runs} networks, {config.steps} steps each (first computed in {result.seconds:.0f} s). "
            f"From width {config.widths[0]} to {config.widths[-1]}: " + "; ".join(shifts) + ". Gaps: diverged.")

    # -- the coordinate check -----------------------------------------------------------------

    def coordinate_check(self) -> mup.CoordinateCheck:
        key = (self.parametrization.value, WIDTHS[self.widths.value], self.coord_lr.value)
        if key not in self.checks:
            self.checks[key] = mup.coordinate_check(key[0], key[1], log2_lr=float(key[2]), steps=COORD_STEPS,
                                                    base_width=self.base.base_width,
                                                    hidden_layers=self.base.hidden_layers, output_init="table")
        return self.checks[key]

    def update_check(self) -> None:
        began = time.perf_counter()
        try:
            check = self.coordinate_check()
        except (ValueError, TypeError) as error:
            self.show_message(str(error))
            return
        t = self.coord_step.value
        with self.figure.batch_update():
            for l, name in enumerate(check.layers):
                trace = self.figure.trace(f"coord_{l}")
                trace.x, trace.y = list(check.widths), np.round(check.rms[:, t, l], 5)
                trace.name = name
                start = self.figure.trace(f"coord0_{l}")
                start.x, start.y = list(check.widths), np.round(check.rms[:, 0, l], 5)
            self.figure.update_xaxes(tickvals=list(check.widths), ticktext=[str(w) for w in check.widths],
                                     row=2, col=2)
            label = mup.PARAMETRIZATIONS[check.parametrization]
            self.figure.layout.annotations[3].text = f"Coordinate check, {label}: after {t} step{'s' * (t != 1)}"
        slopes = check.slopes(step=max(t, 1))
        self.status.value = html.escape(
            f"Coordinate check ({label}, η = 2^{self.coord_lr.value}, {COORD_STEPS} full-batch SGD steps on 64 "
            f"digits, 2 seeds per width; dotted: at the start). How the change of each layer after "
            f"{max(t, 1)} step(s) grows with width, as n^p: "
            + ", ".join(f"{name} p = {s:+.2f}" for name, s in zip(check.layers, slopes, strict=True))
            + f". Computed in {time.perf_counter() - began:.1f} s.")

    def show_message(self, text: str) -> None:
        self.message.value = f'<span class="explorer-error" style="color:#b00020">&#9888; {html.escape(text)}</span>'
