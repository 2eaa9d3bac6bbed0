"""Dynamical isometry: the singular values of a deep network's Jacobian, Gaussian against orthogonal weights, and
what they do to training (Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017).

One figure, three panels:

    spectrum            density of log10 of J J^T's eigenvalues (J's squared singular values) at the chosen depth,
                        for the chosen activation: Gaussian and orthogonal weights at criticality
    variance by depth   the spectrum's variance at depths 1, 2, 4, ... (markers: measured on one network each;
                        lines: the large-width prediction) for linear, tanh and ReLU, Gaussian and orthogonal
    training            the cost of a deep tanh network on the digits, Gaussian and orthogonal starts at the same
                        critical point, trained side by side on the same batches (Train button)

The spectra are computed layer by layer on the kernel's event loop (a progress bar; any change of a control starts
over), the first state before the figure is shown.

    from explorer.apps.isometry import IsometryApp
    IsometryApp().widget
"""

from __future__ import annotations

import asyncio
import html
import time
import warnings
from fractions import Fraction

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import isometry
from explorer.apps.figure import Figure, draw_then_wrap
from explorer.apps.live import LiveApp
from explorer.training import History, Snapshot, Trainer

ACTIVATIONS = (("linear", "linear"), ("tanh", "tanh"), ("ReLU", "relu"))
NAMES = dict((value, label) for label, value in ACTIVATIONS)
WEIGHT_CHOICES = (("Gaussian and orthogonal", "both"), ("Gaussian", "gaussian"), ("orthogonal", "orthogonal"))
WEIGHT_LABELS = {"gaussian": "Gaussian", "orthogonal": "orthogonal"}
DEPTHS = tuple(str(2**k) for k in range(9))  # 1 ... 256
WIDTHS = ("32", "64", "128", "256", "400")
Q_STARS = ("1/256", "1/64", "1/16", "1/4", "1")
TRAIN_MAX_DEPTH = 128  # the training panel's network: at most this deep and this wide (a step stays under ~0.1 s)
TRAIN_MAX_WIDTH = 128
BATCH_SIZE = 64
BINS = np.linspace(-8, 4, 49)  # log10 of the eigenvalues, bins a quarter of a decade wide
VARIANCE_FLOOR = 1e-4  # a variance below this (orthogonal linear: 0 to rounding) is drawn at it on the log axis
SLICE_SECONDS = 0.03  # spectra: compute this long between two looks at the event loop
COLORS = {"linear": "#2ca02c", "tanh": "#1f77b4", "relu": "#d62728"}
WEIGHT_COLORS = {"gaussian": "#ff7f0e", "orthogonal": "#1f77b4"}
DASH = {"gaussian": "dot", "orthogonal": "solid"}
SYMBOL = {"gaussian": "circle-open", "orthogonal": "circle"}


def q_value(text: str) -> float:
    """A q* choice as a number: "1/64" -> 0.015625."""
    return float(Fraction(text))


class IsometryApp(LiveApp):
    """J J^T's spectrum for Gaussian and orthogonal weights, its variance against depth, and a training race."""

    every = 5
    run_steps = 1_000

    def __init__(self, depth: str = "32", width: str = "128") -> None:
        super().__init__()
        self.X, self.y, _, _ = isometry.comparison_data(1 / 64)
        self.costs: History | None = None
        self.spectra: dict[tuple[str, str], np.ndarray] = {}  # (activation, weights) -> eigenvalues at the depth
        self.variances: dict[tuple[str, str], dict[int, float]] = {}  # -> {depth: variance}
        self.spectra_task: asyncio.Task | None = None
        self.spectra_generation = 0
        self.spectra_seconds = 0.0
        self.spectra_done = 0  # layers computed for the current settings

        style = {"description_width": "initial"}
        self.activation = widgets.Dropdown(options=ACTIVATIONS, value="tanh", description="Activation", style=style,
                                           layout=widgets.Layout(width="170px"))
        self.weights = widgets.Dropdown(options=WEIGHT_CHOICES, value="both", description="Weights", style=style,
                                        layout=widgets.Layout(width="260px"))
        self.depth = widgets.Dropdown(options=DEPTHS, value=depth, description="Depth L", style=style,
                                      layout=widgets.Layout(width="140px"))
        self.width = widgets.Dropdown(options=WIDTHS, value=width, description="Width N", style=style,
                                      layout=widgets.Layout(width="140px"))
        self.q_star = widgets.Dropdown(options=Q_STARS, value="1/64", description="q* (tanh)", style=style,
                                       layout=widgets.Layout(width="160px"),
                                       tooltip="the fixed point of the length map: the mean square of every h^l")
        self.learning_rate = widgets.FloatText(value=0.01, description="Learning rate", style=style,
                                               layout=widgets.Layout(width="170px"))
        self.seed = widgets.IntText(value=0, description="Seed", style=style, layout=widgets.Layout(width="120px"))
        self.spectra_progress = widgets.IntProgress(value=0, min=0, max=1, description="spectra",
                                                    layout=widgets.Layout(width="260px"))
        for control in (self.activation, self.depth, self.width, self.q_star, self.seed):
            control.observe(lambda _: self.start_spectra(), names="value")
        self.weights.observe(lambda _: self.draw_spectra(), names="value")
        for control in (self.depth, self.width, self.q_star, self.learning_rate, self.seed):
            control.observe(lambda _: self.reset(), names="value")
        self.note = widgets.HTML()

        self.open_figure(self.build_figure())
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.activation, self.weights, self.depth, self.width, self.q_star, self.seed,
                          self.spectra_progress], layout=row),
            widgets.HBox([self.learning_rate, self.buttons()], layout=row),
            self.note, self.message, self.figure, self.status,
        ])

    def open_figure(self, figure: go.Figure) -> None:
        """The spectra and the training run's first state are drawn before the figure becomes a widget."""
        def first() -> None:
            self.compute_spectra()
            self.reset()

        draw_then_wrap(self, figure, first)

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"activation": self.activation, "weights": self.weights, "depth": self.depth, "width": self.width,
                "q_star": self.q_star, "learning_rate": self.learning_rate, "seed": self.seed}

    # -- the spectra --------------------------------------------------------------------------

    def combos(self) -> list[tuple[str, str]]:
        """Every (activation, weights) pair, the chosen activation's first (its histogram shows soonest)."""
        first = self.activation.value
        order = [first] + [a for _, a in ACTIVATIONS if a != first]
        return [(a, w) for a in order for w in isometry.WEIGHTS]

    def spectra_work(self):
        """The layers to compute, one at a time: yields after each layer, and after each network is done."""
        depth, width = int(self.depth.value), int(self.width.value)
        q, seed = q_value(self.q_star.value), self.seed.value
        if seed is None or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        self.spectra, self.variances = {}, {}
        combos = self.combos()
        self.spectra_progress.max = len(combos) * depth
        self.spectra_progress.value = self.spectra_done = 0
        for activation, weights in combos:
            found = self.variances[(activation, weights)] = {}
            for step in isometry.scan(activation, weights, width, depth, q, seed):
                if step.values is not None:
                    found[step.depth] = isometry.spectrum_variance(step.values)
                    if step.depth == depth:
                        self.spectra[(activation, weights)] = step.values
                self.spectra_done += 1
                yield False
            yield True  # a network is done: time to draw it

    def compute_spectra(self) -> None:
        """Compute every spectrum now, then draw (the first state, and where there is no event loop)."""
        self.spectra_generation += 1
        began = time.perf_counter()
        try:
            for _ in self.spectra_work():
                pass
            self.spectra_seconds = time.perf_counter() - began
            self.draw_spectra()
        except (ValueError, TypeError) as error:
            self.show_message(str(error))

    def start_spectra(self) -> None:
        """Compute the spectra for the new settings: as a task on the kernel's event loop, in slices of about 30 ms
        (any newer change ends it), or at once when no loop runs."""
        self.spectra_generation += 1
        loop = running_loop()
        if loop is None:
            self.compute_spectra()
            return
        self.spectra_task = loop.create_task(self.spectra_loop(self.spectra_generation))

    async def spectra_loop(self, generation: int) -> None:
        began = time.perf_counter()
        try:
            work = self.spectra_work()
            slice_end = time.perf_counter() + SLICE_SECONDS
            for done in work:
                if done:
                    self.draw_spectra()
                if time.perf_counter() > slice_end:
                    self.spectra_progress.value = self.spectra_done
                    await asyncio.sleep(0)
                    if generation != self.spectra_generation:
                        return
                    slice_end = time.perf_counter() + SLICE_SECONDS
            self.spectra_seconds = time.perf_counter() - began
            self.draw_spectra()
        except (ValueError, TypeError) as error:
            self.show_message(str(error))
        except asyncio.CancelledError:
            pass

    @property
    def spectra_running(self) -> bool:
        return self.spectra_task is not None and not self.spectra_task.done()

    def draw_spectra(self) -> None:
        self.spectra_progress.value = self.spectra_done
        fig = self.figure
        depth, width, q = int(self.depth.value), int(self.width.value), q_value(self.q_star.value)
        activation, shown = self.activation.value, self.weights.value
        centres = (BINS[:-1] + BINS[1:]) / 2
        tallest, stats = 0.0, []
        with fig.batch_update():
            for weights in isometry.WEIGHTS:
                values = self.spectra.get((activation, weights))
                trace = fig.trace(f"hist {weights}")
                visible = shown in ("both", weights) and values is not None
                density = isometry.log_density(values, BINS) if visible else np.zeros(0)
                trace.update(x=centres if visible else [], y=density, visible=True)
                if visible:
                    below = 1 - float(np.sum(density * np.diff(BINS)))  # left of the axis
                    stats.append(f"{WEIGHT_LABELS[weights]}: mean {np.mean(values):.3g}, variance "
                                 f"{isometry.spectrum_variance(values):.3g}"
                                 + (f", {below:.0%} below 10^{BINS[0]:.0f}" if below >= 0.005 else ""))
                tallest = max(tallest, float(density.max(initial=0.0)))
            fig.update_yaxes(range=[0, 1.45 * (tallest or 1.0)], row=1, col=1)  # room for the legend above the bars
            xs = isometry.scan_depths(depth)
            fig.update_xaxes(tickvals=xs, row=1, col=2)
            top = max([VARIANCE_FLOOR] + [v for found in self.variances.values() for v in found.values()]
                      + [float(isometry.predicted_variance(a, "gaussian", depth, q)) for _, a in ACTIVATIONS])
            fig.update_yaxes(range=[np.log10(VARIANCE_FLOOR) - 0.5, np.log10(top) + 0.5], row=1, col=2)
            for _, a in ACTIVATIONS:
                for weights in isometry.WEIGHTS:
                    predicted = isometry.predicted_variance(a, weights, np.array(xs), q)
                    fig.trace(f"pred {a} {weights}").update(x=xs, y=np.maximum(predicted, VARIANCE_FLOOR))
                    found = self.variances.get((a, weights), {})
                    ds = sorted(found)
                    fig.trace(f"meas {a} {weights}").update(
                        x=ds, y=np.maximum([found[d] for d in ds], VARIANCE_FLOOR) if ds else [])
            point = isometry.critical_point(activation, q)
            fig.layout.annotations[0].text = f"J J^T's eigenvalues ({NAMES[activation]}, L = {depth})"
            fig.layout.annotations[1].text = f"variance of the spectrum (N = {width})"
        done = len(self.variances) == len(self.combos()) and all(
            len(v) == len(isometry.scan_depths(depth)) for v in self.variances.values())
        extra = f" computed in {self.spectra_seconds:.1f} s" if done else " computing…"
        self.note.value = html.escape(
            f"At criticality: {NAMES[activation]} with σ_w² = {point.sigma_w2:.4g}, σ_b² = {point.sigma_b2:.3g}"
            + (f" (q* = {self.q_star.value})" if activation == "tanh" else "")
            + f"; mean of the spectrum (σ_w² μ₁)^L = 1. Variance panel: lines are the large-width theory, dots one "
            f"measured network each (seed {self.seed.value});"
            + extra + f". Variances below {VARIANCE_FLOOR:g} are drawn at {VARIANCE_FLOOR:g}.") + (
            "<br>" + html.escape(f"J J^T's eigenvalues at L = {depth}: " + "; ".join(stats)) if stats else "")

    # -- the training race --------------------------------------------------------------------

    def train_shape(self) -> tuple[int, int]:
        return min(int(self.depth.value), TRAIN_MAX_DEPTH), min(int(self.width.value), TRAIN_MAX_WIDTH)

    def make_trainer(self) -> Trainer:
        seed = self.seed.value
        if seed is None or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        depth, width = self.train_shape()
        q = q_value(self.q_star.value)
        self.X, self.y, _, _ = isometry.comparison_data(q)
        net = isometry.comparison_network(self.X.shape[1], 10, depth, width, q, seed)
        return Trainer(net, self.X, self.y, lr=self.learning_rate.value, batch_size=BATCH_SIZE, seed=seed)

    def start_run(self) -> None:
        self.costs = History(2, max_points=300)

    def record(self, snap: Snapshot) -> None:
        self.costs.append(snap.step, snap.cost)

    def describe(self, snap: Snapshot) -> str:
        parts = [f"{WEIGHT_LABELS[w]} " + (f"diverged at step {snap.diverged_at[k]:,}" if snap.diverged[k]
                                           else f"{snap.cost[k]:.3g}") for k, w in enumerate(isometry.WEIGHTS)]
        return f"step {snap.step:,} (epoch {snap.epoch:.1f}) · cost: " + ", ".join(parts)

    def redraw(self) -> None:
        fig, steps, costs = self.figure, self.costs.x, self.costs.y.astype(np.float32)
        depth, width = self.train_shape()
        with fig.batch_update():
            for k, weights in enumerate(isometry.WEIGHTS):
                fig.trace(f"cost {weights}").update(x=steps, y=costs[:, k])
            fig.layout.annotations[2].text = (
                f"training tanh 64-({depth}×{width})-10 on digits, q* = {self.q_star.value}, "
                f"SGD {self.learning_rate.value:g}")

    # -- the figure ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(rows=2, cols=2, specs=[[{}, {}], [{"colspan": 2}, None]],
                                   horizontal_spacing=0.1, vertical_spacing=0.27,
                                   subplot_titles=("J J^T's eigenvalues", "variance of the spectrum against depth",
                                                   "training")))
        for weights in isometry.WEIGHTS:
            fig.add_named(f"hist {weights}", go.Scatter(
                x=[], y=[], mode="lines", line=dict(shape="hvh", color=WEIGHT_COLORS[weights], width=2),
                fill="tozeroy", opacity=0.6, name=WEIGHT_LABELS[weights], legend="legend",
                hovertemplate="log10 λ %{x:.2f}: density %{y:.3g}<extra>%{fullData.name}</extra>"), 1, 1)
        for _, a in ACTIVATIONS:
            for weights in isometry.WEIGHTS:
                label = f"{NAMES[a]}, {WEIGHT_LABELS[weights]}"
                fig.add_named(f"pred {a} {weights}", go.Scatter(
                    x=[], y=[], mode="lines", line=dict(color=COLORS[a], dash=DASH[weights]), name=label,
                    legendgroup=label, legend="legend2",
                    hovertemplate="L = %{x}: predicted %{y:.3g}<extra>" + label + "</extra>"), 1, 2)
                fig.add_named(f"meas {a} {weights}", go.Scatter(
                    x=[], y=[], mode="markers", marker=dict(color=COLORS[a], symbol=SYMBOL[weights], size=8),
                    name=label, legendgroup=label, showlegend=False, legend="legend2",
                    hovertemplate="L = %{x}: measured %{y:.3g}<extra>" + label + "</extra>"), 1, 2)
        for weights in isometry.WEIGHTS:
            fig.add_named(f"cost {weights}", go.Scatter(
                x=[], y=[], mode="lines", line=dict(color=WEIGHT_COLORS[weights], width=2),
                name=f"{WEIGHT_LABELS[weights]} start", legend="legend3",
                hovertemplate="step %{x}: %{y:.3g}<extra>%{fullData.name}</extra>"), 2, 1)
        fig.update_xaxes(title_text="log10 λ (λ = s², s a singular value)", row=1, col=1)
        fig.update_yaxes(title_text="density", row=1, col=1)
        fig.update_xaxes(title_text="depth L", type="log", row=1, col=2)
        fig.update_yaxes(title_text="variance", type="log", exponentformat="power", row=1, col=2)
        fig.update_xaxes(title_text="step", row=2, col=1)
        fig.update_yaxes(title_text="cost on the batch (cross-entropy, log)", type="log", row=2, col=1)
        fig.update_layout(
            height=880, width=None, autosize=True, template="plotly_white", margin=dict(l=70, r=20, t=60, b=60),
            legend=dict(x=0.01, y=0.99, xanchor="left", yanchor="top", bgcolor="rgba(255,255,255,0.7)"),
            # The variance panel's legend under the top row's axis titles, in the gap between the rows: one row of
            # six entries, from the left edge (from the variance panel it would pass the right edge and squeeze the
            # panels).
            legend2=dict(x=0, xanchor="left", y=fig.layout.yaxis2.domain[0] - 52 / 760,
                         yanchor="top", orientation="h", font=dict(size=10)),
            legend3=dict(x=1.0, xanchor="right", y=0.35, yanchor="top", bgcolor="rgba(255,255,255,0.7)"),
        )
        return fig


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop that runs now (a Jupyter kernel's), or None (a plain script or test)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            loop = asyncio.get_event_loop()
        except RuntimeError:
            return None
    return loop if loop.is_running() else None
