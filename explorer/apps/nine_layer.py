"""Exploding and vanishing signals: a ten-layer network, two units wide, started from W = alpha * I.

The network [2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1] has nine hidden layers of two units (linear, or tanh) and a
sigmoid output, and learns a 2-D toy set by full-batch gradient descent. Started from W^[l] = alpha * I
with linear layers, every hidden activation is exactly alpha^l times the input, and the gradients follow
from that (explorer.theory.chain_scales). One figure, three panels:

    cost          the cost over the iterations (log scale), and the previous run, faintly, to compare with
    activations   the size (root mean square) of a^[l] in each hidden layer, against the predicted alpha^l
    gradients     the back-propagated dA^[l] (predicted alpha^(L-l)) and the weight gradients dW^[l]
                  (predicted: the same in every layer), each against its own prediction

Each prediction is scaled to the measurement at the layer where its signal enters the chain: layer 1 for
the activations, layer L-1 for dA, layer L for dW. It is exact at step 0 for W = alpha * I and linear
layers; with tanh, with Xavier's random weights, or once training has moved the weights, the bars are
free to leave it, and that is worth watching.

    from explorer.apps.nine_layer import NineLayerApp
    NineLayerApp().widget
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import datasets, theory
from explorer.apps.figure import Figure, axis_end, log_ticks, steady_range
from explorer.apps.live import LiveApp
from explorer.initializers import Initializer
from explorer.network import Network
from explorer.starts import CATALOGUE
from explorer.training import History, Snapshot, Trainer

L = 10
SIZES = [2] + [2] * (L - 1) + [1]
POINTS = 300
HIDDEN = np.arange(1, L)  # hidden layers 1..L-1
LAYERS = np.arange(1, L + 1)  # every layer 1..L

# key: (label, alpha of W = alpha * I). Xavier has no alpha; "alpha" takes it from the slider.
INITIALIZATIONS: dict[str, tuple[str, float | None]] = {
    "large": ("too large: W = 1.5·I", 1.5),
    "small": ("too small: W = 0.5·I", 0.5),
    "xavier": ("appropriate: Xavier normal", None),
    "alpha": ("free: W = α·I (slider)", None),
}
ACTIVATIONS = ("linear", "tanh")  # hidden activations offered

COST_COLOR, PREVIOUS_COLOR = "#1f4e79", "#a0a0a0"
ACTIVATION_COLOR, ACTIVATION_LINE = "#8fb3d9", "#1f4e79"
BACKPROP_COLOR, BACKPROP_LINE = "#f2a5a5", "#a51c1c"
WEIGHT_GRAD_COLOR, WEIGHT_GRAD_LINE = "#f7c98b", "#a3590b"
BAR_WIDTH = 0.38  # the gradient panel puts two bars side by side in each layer's slot
ACTIVATION_WIDTH = 0.8  # the activation panel's bars, one in each layer's slot
PREDICTIONS = ("activations predicted", "backprop predicted", "weight grads predicted")  # their traces' names


def bars(left: np.ndarray, width: float, color: str, hover: str) -> dict:
    """A scatter trace that draws bars: one filled rectangle for each left edge, `width` wide (in layers).

    Each rectangle is five points: (left, base), (left, top), (right, top), (right, base), then a gap (NaN)
    that ends it; fill="toself" fills each piece between gaps. Its heights come from `bar_outlines`. Hovering
    a top corner shows "<hover> l: <height>".
    """
    x = np.stack([left, left, left + width, left + width, np.full(len(left), np.nan)], axis=1).ravel()
    layers = [f"{hover} {round(centre)}" for centre in left + width / 2 for _ in range(5)]
    return dict(x=x, y=np.full(len(x), np.nan), mode="lines", fill="toself", fillcolor=color,
                line=dict(color=color, width=1), text=layers, hoveron="points",
                hovertemplate="%{text}: %{y:.3g}<extra></extra>")


def bar_outlines(heights: np.ndarray, axis_range: list[float] | None) -> np.ndarray:
    """The y values of `bars`' rectangles: each from a base a decade below the log axis's bottom (drawn from
    the axis's bottom up, like a bar on a log axis) to its height; a NaN height leaves its bar out."""
    base = 10.0 ** (axis_range[0] - 1) if axis_range is not None else np.nan
    heights = np.asarray(heights, dtype=np.float64)
    ends = np.full(len(heights), base)
    return np.stack([ends, heights, heights, ends, np.full(len(heights), np.nan)], axis=1).ravel()


def finite(values: np.ndarray) -> np.ndarray:
    """Values for plotting: anything infinite (an overflowed step) becomes NaN, which plotly leaves out."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values), values, np.nan)


class NineLayerApp(LiveApp):
    """A deep, narrow network from W = alpha * I: cost, activations and gradients per layer, live."""

    every = 1  # a snapshot every step: a bouncing cost alternates from one step to the next
    run_steps = 6_000  # enough for 0.5 I to leave its plateau at the default learning rate

    def __init__(self) -> None:
        super().__init__()
        self.step_button.tooltip = "Train one step and stop"
        self.costs: History | None = None
        self.previous: tuple[np.ndarray, np.ndarray, str] | None = None  # steps, costs, label of the last run
        self.run_label = ""
        self.shown: Snapshot | None = None  # the latest snapshot with values (after a blow-up they are NaN)
        self.ranges: list[list[float] | None] = [None, None, None]  # the y axes' log10 ranges now shown

        style = {"description_width": "initial"}
        self.dataset = widgets.Dropdown(options=datasets.TOY_SETS, value="moons", description="Data set",
                                        style=style, layout=widgets.Layout(width="180px"))
        self.noise = widgets.FloatSlider(value=0.3, min=0.0, max=0.5, step=0.05, description="Noise",
                                         style=style, continuous_update=False)
        self.seed = widgets.IntText(value=0, description="Seed (data, Xavier's weights)", style=style,
                                    layout=widgets.Layout(width="240px"))
        self.init = widgets.Dropdown(options=[(label, key) for key, (label, _) in INITIALIZATIONS.items()],
                                     value="large", description="Initialization", style=style,
                                     layout=widgets.Layout(width="320px"))
        self.alpha = widgets.FloatSlider(value=1.0, min=0.1, max=2.0, step=0.05, description="α in W = α·I",
                                         style=style, continuous_update=False, disabled=True)
        self.activation = widgets.Dropdown(options=ACTIVATIONS, value="linear",
                                           description="Hidden activation", style=style,
                                           layout=widgets.Layout(width="220px"))
        self.learning_rate = widgets.FloatText(value=0.02, description="Learning rate", style=style,
                                               layout=widgets.Layout(width="170px"))
        for control in (self.dataset, self.noise, self.seed, self.init, self.alpha, self.activation,
                        self.learning_rate):
            control.observe(lambda _: self.reset(), names="value")
        self.init.observe(lambda _: self.enable_alpha(), names="value")

        self.open_figure(self.build_figure())  # draws the first state, then makes the FigureWidget
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.dataset, self.noise, self.seed], layout=row),
            widgets.HBox([self.init, self.alpha, self.activation, self.learning_rate], layout=row),
            widgets.HBox([self.buttons()], layout=row),
            self.message, self.figure, self.status,
        ])

    # -- controls -----------------------------------------------------------------------------

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"dataset": self.dataset, "noise": self.noise, "seed": self.seed, "init": self.init, "alpha": self.alpha,
                "activation": self.activation, "learning_rate": self.learning_rate}

    def enable_alpha(self) -> None:
        self.alpha.disabled = self.init.value != "alpha"

    def chosen_alpha(self) -> float | None:
        """alpha of W = alpha * I for the chosen initialization; None for Xavier."""
        if self.init.value == "alpha":
            return self.alpha.value
        return INITIALIZATIONS[self.init.value][1]

    def initializer(self) -> Initializer:
        alpha = self.chosen_alpha()
        return CATALOGUE["glorot_normal"].make() if alpha is None else CATALOGUE["identity"].make(alpha)

    def gain(self) -> float:
        """What each layer multiplies a signal by: alpha exactly, or for Xavier sqrt(n Var(W)) on average."""
        alpha = self.chosen_alpha()
        if alpha is None:
            return theory.layer_gain(2, CATALOGUE["glorot_normal"].make().variance((2, 2)))
        return alpha

    def settings_label(self) -> str:
        alpha = self.chosen_alpha()
        init = "Xavier" if alpha is None else f"{alpha:g}·I"
        return f"{init}, {self.activation.value}, lr {self.learning_rate.value:g}"

    def make_trainer(self) -> Trainer:
        seed = self.seed.value
        net = Network(SIZES, hidden=self.activation.value, output="sigmoid", init=self.initializer(), seed=seed)
        data = datasets.toy(self.dataset.value, POINTS, self.noise.value, seed)
        (X,) = datasets.standardize(data.X)
        return Trainer(net, X, data.y, lr=self.learning_rate.value)

    def run(self, steps: int) -> None:
        """Train `steps` steps at once, without the event loop, then redraw (for scripts and tests)."""
        self.stop()
        if self.snapshots is not None and not self.finished:
            self.guarded(lambda: self.pull(steps // self.every))
            self.draw()
        self.refresh_buttons()

    # -- what the figure needs from each snapshot ---------------------------------------------

    def start_run(self) -> None:
        if self.costs is not None and len(self.costs) > 1:  # the run being replaced trained: keep its curve
            self.previous = (self.costs.x.copy(), self.costs.y[:, 0].copy(), self.run_label)
        self.costs = History(1, max_points=2000)
        self.run_label = self.settings_label()
        self.shown = None

    def record(self, snap: Snapshot) -> None:
        self.costs.append(snap.step, snap.cost)
        frozen = snap.diverged[0] and snap.diverged_at[0] < snap.step
        if not frozen:
            self.shown = snap

    def describe(self, snap: Snapshot) -> str:
        if snap.diverged[0]:
            return (f"step {snap.step:,}: the cost blew up at step {snap.diverged_at[0]:,} (it passed 10^6 or "
                    f"overflowed) and training stopped; the bars show that step. Try a smaller learning rate or α.")
        return f"step {snap.step:,} · cost {snap.cost[0]:.4g} · accuracy {snap.accuracy[0]:.0%}"

    # -- the figure ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        """The three panels. The bars are scatter traces (each bar a filled rectangle, see `bar_outlines`), not
        bar traces: a redraw while training is then one Plotly.animate of the changed traces, which plotly.js
        redraws alone (FastUpdate.quick_update), instead of the whole figure."""
        fig = Figure(make_subplots(rows=1, cols=3, horizontal_spacing=0.08, subplot_titles=(
            "Cost", "Forward: activations a<sup>[l]</sup>", "Backward: gradients")))
        predicted = dict(mode="lines+markers", marker=dict(size=6), line=dict(dash="dash", width=2))
        fig.add_named("cost", go.Scatter(x=[], y=[], mode="lines", name="this run",
                                         line=dict(color=COST_COLOR, width=2), marker=dict(size=4)), row=1, col=1)
        fig.add_named("previous cost", go.Scatter(x=[], y=[], mode="lines", name="previous run", visible=False,
                                                  line=dict(color=PREVIOUS_COLOR, width=1.5, dash="dot")),
                      row=1, col=1)
        fig.add_named("activations", go.Scatter(
            **bars(HIDDEN - ACTIVATION_WIDTH / 2, ACTIVATION_WIDTH, ACTIVATION_COLOR, "layer"),
            name="measured: rms of a<sup>[l]</sup>", legend="legend2"), row=1, col=2)
        fig.add_named("activations predicted", go.Scatter(
            x=HIDDEN, y=[], name="predicted", legend="legend2", line_color=ACTIVATION_LINE,
            hovertemplate="layer %{x}: %{y:.3g}<extra></extra>", **predicted), row=1, col=2)
        fig.add_named("backprop", go.Scatter(
            **bars(HIDDEN - BAR_WIDTH - 0.01, BAR_WIDTH, BACKPROP_COLOR, "dA, layer"),
            name="measured: std of dA<sup>[l]</sup> (back-propagated)", legend="legend3"), row=1, col=3)
        fig.add_named("backprop predicted", go.Scatter(
            x=HIDDEN - BAR_WIDTH / 2, y=[], name="predicted", legend="legend3", line_color=BACKPROP_LINE,
            hovertemplate="%{y:.3g}<extra></extra>", **predicted), row=1, col=3)
        fig.add_named("weight grads", go.Scatter(
            **bars(LAYERS + 0.01, BAR_WIDTH, WEIGHT_GRAD_COLOR, "dW, layer"),
            name="measured: |dW<sup>[l]</sup>| (Frobenius norm)", legend="legend3"), row=1, col=3)
        fig.add_named("weight grads predicted", go.Scatter(
            x=LAYERS + BAR_WIDTH / 2, y=[], name="predicted", legend="legend3", line_color=WEIGHT_GRAD_LINE,
            hovertemplate="%{y:.3g}<extra></extra>", **predicted), row=1, col=3)

        fig.update_xaxes(title_text="iteration", row=1, col=1)
        fig.update_yaxes(title_text="cost (cross-entropy, log scale)", type="log", row=1, col=1)
        fig.update_xaxes(title_text="hidden layer l", dtick=1, range=[0.4, L - 0.4], row=1, col=2)
        fig.update_yaxes(title_text="size of a<sup>[l]</sup> (log scale)", type="log", exponentformat="power",
                         row=1, col=2)
        fig.update_xaxes(title_text="layer l", dtick=1, range=[0.4, L + 0.6], row=1, col=3)
        fig.update_yaxes(title_text="gradient size (log scale)", type="log", exponentformat="power", row=1, col=3)
        below = dict(orientation="v", yanchor="top", y=-0.2, bgcolor="rgba(255,255,255,0)", font_size=11)
        fig.update_layout(
            height=470, width=None, autosize=True, margin=dict(l=60, r=15, t=40, b=125), plot_bgcolor="white",
            showlegend=True,
            legend=dict(below, x=fig.layout.xaxis.domain[0]),
            legend2=dict(below, x=fig.layout.xaxis2.domain[0]),
            legend3=dict(below, x=fig.layout.xaxis3.domain[0]),
        )
        fig.update_xaxes(showline=True, linecolor="#888", gridcolor="#eee")
        fig.update_yaxes(showline=True, linecolor="#888", gridcolor="#eee")
        return fig

    def prediction_names(self) -> tuple[str, str, str]:
        """Legend entries of the three predictions, for the chosen initialization and activation."""
        alpha = self.chosen_alpha()
        if alpha is None:
            names = ("expected: flat (n·Var(w) = 1 per layer)", "expected: flat", "expected: flat")
        else:
            names = (f"predicted: ∝ {alpha:g}<sup>l</sup>", f"predicted: ∝ {alpha:g}<sup>{L}−l</sup>",
                     f"predicted: {alpha:g}<sup>{L - 1}</sup>·(same matrix) in every layer")
        if self.trainer is not None and self.trainer.net.hidden[0] != "linear":
            names = tuple(f"{name} if linear" for name in names)
        return names

    def redraw(self) -> None:
        """Names, the previous run and axis ranges go in a full update of the figure, only when they change
        (a reset, or a curve leaving its range: rarely); the curve, bars and predictions in a quick one."""
        snap, fig = self.shown, self.figure
        scales = theory.chain_scales(self.gain(), L)
        activations = finite(theory.rms(snap.a_mean[: L - 1, 0], snap.a_std[: L - 1, 0]))
        backprop = finite(snap.grad_std[: L - 1, 0])  # dA^[L] is the gradient of the probabilities: left out
        weight_grads = finite(snap.grad_norm[:, 0])
        predictions = (theory.matched(scales.activations, activations, at=0),
                       theory.matched(scales.backprop, backprop, at=L - 2),
                       theory.matched(scales.weight_grads, weight_grads, at=L - 1))
        names = self.prediction_names()
        costs = finite(self.costs.y[:, 0])

        shown_costs, last_step = costs, self.costs.x[-1]
        traces: dict[str, dict] = {"cost": {"name": f"this run: {self.run_label}"}}
        if self.previous is not None:
            steps, values, label = self.previous
            traces["previous cost"] = {"x": steps, "y": finite(values), "name": f"previous: {label}", "visible": True}
            shown_costs, last_step = np.concatenate([costs, finite(values)]), max(last_step, steps[-1])
        for trace, name in zip(PREDICTIONS, names, strict=True):
            traces[trace] = {"name": name}
        self.ranges = [steady_range(self.ranges[0], shown_costs, decades=1),
                       steady_range(self.ranges[1], np.concatenate([activations, predictions[0]]), decades=2),
                       steady_range(self.ranges[2], np.concatenate([backprop, weight_grads, *predictions[1:]]),
                                    decades=2)]
        layout = {"xaxis.range": [0, axis_end(last_step, self.stop_at)]}  # a quick redraw does not autorange
        for axis, axis_range in zip(("yaxis", "yaxis2", "yaxis3"), self.ranges, strict=True):
            ticks, texts = log_ticks(axis_range)
            layout.update({f"{axis}.range": axis_range, f"{axis}.tickvals": ticks, f"{axis}.ticktext": texts})
        with fig.batch_update():  # one message, or none if nothing there changed
            fig.fast_update(layout=layout, traces=traces)
        fig.quick_update({
            "cost": {"x": self.costs.x, "y": costs, "mode": "lines+markers" if len(costs) < 50 else "lines"},
            "activations": {"y": bar_outlines(activations, self.ranges[1])},
            "activations predicted": {"y": predictions[0]},
            "backprop": {"y": bar_outlines(backprop, self.ranges[2])},
            "backprop predicted": {"y": predictions[1]},
            "weight grads": {"y": bar_outlines(weight_grads, self.ranges[2])},
            "weight grads predicted": {"y": predictions[2]},
        })
