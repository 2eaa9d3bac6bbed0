"""Why Xavier works, and He for ReLU: variance propagation predicted against measured.

Every panel puts the prediction of explorer.theory (lines) beside measurements of real random networks
drawn by the engine (markers), layer by layer, on a log scale:

    your network       the activation, initializer, scale, depth and width you choose: forward and backward
    the product rule   Var(a^[l]) = (n Var(W))^l Var(x) for n Var(W) below, at and above 1
    changing widths    fan_in keeps the forward signal, fan_out the backward one, fan_avg compromises
    ReLU wants He      He against Xavier for ReLU and Xavier for tanh, and the 2/sqrt(n) typo

    from explorer.apps.variance import VarianceApp
    VarianceApp().widget
"""

from __future__ import annotations

import html
import time

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import initializers, theory
from explorer.apps.figure import Figure, draw_then_wrap
from explorer.apps.resize import FitOnResize
from explorer.starts import CATALOGUE

# The starts offered, from the catalogue (explorer.starts): dropdown value (what share links hold): its key there.
# "xavier_in" is N(0, 1/n_in), the forward rule, which the deeplearning.ai article calls Xavier.
PICKED = {"xavier_in": "article_xavier", "xavier_out": "fan_out", "xavier_avg": "glorot_normal", "he": "he",
          "typo": "typo"}
# key: (label, initializer for a given scale multiplier s of the variance)
INITIALIZERS = {value: (CATALOGUE[key].label, CATALOGUE[key].scaled) for value, key in PICKED.items()}
ACTIVATIONS = {"linear": "linear", "tanh": "tanh (small signal)", "relu": "ReLU"}
PRODUCT_CASES = (
    (0.8, "n Var(W) = 0.8", "#d62728"),
    (1.0, "n Var(W) = 1", "#2ca02c"),
    (1.25, "n Var(W) = 1.25", "#1f77b4"),
)
MODES = (("fan_in", "#1f77b4"), ("fan_out", "#d62728"), ("fan_avg", "#2ca02c"))
# (trace key, legend label, activation, start, colour). "Xavier" in quotes: N(0, 1/n_in), as the deeplearning.ai
# article names it (LeCun's variance; Glorot's only for a square layer).
RELU_CASES = (
    ("he_relu", "He + ReLU", "relu", CATALOGUE["he"].make, "#2ca02c"),
    ("lecun_relu", '"Xavier" 1/n + ReLU', "relu", CATALOGUE["article_xavier"].make, "#d62728"),
    ("lecun_tanh", '"Xavier" 1/n + tanh', "tanh", CATALOGUE["article_xavier"].make, "#1f77b4"),
    ("typo_relu", "2/sqrt(n) + ReLU", "relu", CATALOGUE["typo"].make, "#9467bd"),
)
TANH_INPUT_STD = 0.1  # tanh is close to linear only for small signals: the tanh cases start there
EXAMPLES, MODELS = 64, 2  # measured over 64 inputs and 2 independent networks per case
LESSON_WIDTH = 256  # the lesson panels keep their width fixed, so a deep network still computes quickly
FIGURE_HEIGHT = 800  # px
MARGIN = dict(l=60, r=20, t=50, b=100)  # px; the bottom one holds the lower panels' legends
LEGEND_BELOW = 56  # px from a panel's lower edge to the top of its legend: tick labels and axis title between


class VarianceApp:
    """Predicted and measured per-layer variances, recomputed whenever a control changes."""

    def __init__(self) -> None:
        style = {"description_width": "initial"}
        self.activation = widgets.Dropdown(options=[(v, k) for k, v in ACTIVATIONS.items()], value="tanh",
                                           description="Activation", style=style)
        self.init = widgets.Dropdown(options=[(v[0], k) for k, v in INITIALIZERS.items()], value="xavier_in",
                                     description="Initializer", style=style, layout=widgets.Layout(width="360px"))
        self.scale = widgets.FloatLogSlider(value=1.0, base=2, min=-2, max=2, step=0.25, description="Scale ×",
                                            continuous_update=False, style=style, readout_format=".2f")
        self.depth = widgets.IntSlider(value=20, min=1, max=100, description="Depth (layers)",
                                       continuous_update=False, style=style)
        self.width = widgets.IntSlider(value=256, min=16, max=1024, step=16, description="Width (units)",
                                       continuous_update=False, style=style)
        self.widths = widgets.Text(value="784, 1000, 100, 1000, 10", description="Changing widths",
                                   continuous_update=False, style=style, layout=widgets.Layout(width="340px"))
        self.message = widgets.HTML()
        self.status = widgets.HTML()
        self.busy = widgets.HTML()
        self.drawn: dict[str, object] = {}  # panel: the control values it was last drawn for
        for control in (self.activation, self.init, self.scale, self.depth, self.width, self.widths):
            control.observe(lambda _: self.update(), names="value")

        draw_then_wrap(self, self.build_figure(), self.update)  # self.figure: the FigureWidget
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.activation, self.init, self.scale], layout=row),
            widgets.HBox([self.depth, self.width, self.widths, self.busy], layout=row),
            self.message,
            self.figure,
            self.status,
            FitOnResize(self),  # the figure follows the window's width
        ])

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"activation": self.activation, "init": self.init, "scale": self.scale, "depth": self.depth,
                "width": self.width, "widths": self.widths}

    # -- figure -------------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(
            rows=2, cols=3, horizontal_spacing=0.07, vertical_spacing=0.24,
            subplot_titles=("Your network: forward, Var(z) per layer", "Your network: backward, Var(dA) per layer",
                            f"The product rule (linear, width {LESSON_WIDTH})", "Changing widths: forward Var(a)",
                            "Changing widths: backward Var(dA)", f"ReLU wants He (width {LESSON_WIDTH})"),
        ))

        def add(key: str, row: int, col: int, **kwargs) -> None:  # kwargs: the Scatter's, its legend `name` too
            fig.add_named(key, go.Scatter(x=[], y=[], **kwargs), row=row, col=col)

        add("fwd_pred", 1, 1, mode="lines", name="predicted", line=dict(color="black"), legendgroup="p")
        add("fwd_meas", 1, 1, mode="markers", name="measured", marker=dict(color="#ff7f0e"), legendgroup="m")
        add("bwd_pred", 1, 2, mode="lines", line=dict(color="black"), showlegend=False, legendgroup="p")
        add("bwd_meas", 1, 2, mode="markers", marker=dict(color="#ff7f0e"), showlegend=False, legendgroup="m")
        for factor, label, color in PRODUCT_CASES:
            add(f"prod_pred_{factor}", 1, 3, mode="lines", name=label, line=dict(color=color))
            add(f"prod_meas_{factor}", 1, 3, mode="markers", marker=dict(color=color, size=5), showlegend=False)
        for mode, color in MODES:
            add(f"w_fwd_pred_{mode}", 2, 1, mode="lines", name=mode, line=dict(color=color))
            add(f"w_fwd_meas_{mode}", 2, 1, mode="markers", marker=dict(color=color, size=6), showlegend=False)
            add(f"w_bwd_pred_{mode}", 2, 2, mode="lines", line=dict(color=color, dash="dash"), showlegend=False)
            add(f"w_bwd_meas_{mode}", 2, 2, mode="markers", marker=dict(color=color, size=6), showlegend=False)
        for key, label, _, _, color in RELU_CASES:
            add(f"relu_pred_{key}", 2, 3, mode="lines", name=label, line=dict(color=color))
            add(f"relu_meas_{key}", 2, 3, mode="markers", marker=dict(color=color, size=5), showlegend=False)
        for row in (1, 2):
            for col in (1, 2, 3):
                fig.update_yaxes(type="log", exponentformat="power", row=row, col=col)
                fig.update_xaxes(title_text="layer l", row=row, col=col)
        fig.update_yaxes(title_text="variance", row=1, col=1)
        fig.update_yaxes(title_text="variance", row=2, col=1)
        fig.update_layout(height=FIGURE_HEIGHT, margin=MARGIN, template="plotly_white", title=None)
        # A legend under each lesson, below its x-axis title (one legend for all ran over the lower panels' axis
        # titles); the two panels of your network share one, and so do the two of changing widths. The right
        # panels' legends end at the right edge: one that passed it would widen the margin and squeeze the panels.
        below = LEGEND_BELOW / (FIGURE_HEIGHT - MARGIN["t"] - MARGIN["b"])  # in fractions of the panels' height
        for legend, axes, side in (("legend", ("x", "x2"), "left"), ("legend2", ("x3",), "right"),
                                   ("legend3", ("x4", "x5"), "left"), ("legend4", ("x6",), "right")):
            for axis in axes:
                fig.update_traces(legend=legend, selector=dict(xaxis=axis))
            x_domain, y_domain = fig.layout["xaxis" + axes[0][1:]].domain, fig.layout["yaxis" + axes[0][1:]].domain
            fig.update_layout({legend: dict(orientation="h", x=x_domain[0 if side == "left" else 1], xanchor=side,
                                            y=y_domain[0] - below, yanchor="top", font=dict(size=11),
                                            traceorder="normal")})  # grouped, a row would stack into columns
        fig.update_annotations(font_size=13)  # the panels' titles: at 16 px they run into each other at 1,000 px
        return fig

    def set(self, name: str, x, y) -> None:
        trace = self.figure.trace(name)
        trace.x = np.asarray(x, dtype=np.float64)
        trace.y = np.asarray(y, dtype=np.float64)

    # -- computing ----------------------------------------------------------------------------

    def update(self) -> None:
        """Recompute every panel from the controls; bad input becomes a message, never a traceback."""
        self.busy.value = "<i>computing&hellip;</i>"
        began = time.perf_counter()
        try:
            widths = parse_widths(self.widths.value)
            with self.figure.batch_update():
                self.draw_your_network()
                # The lesson panels depend on the depth only, the widths panels on the widths only: a change
                # of any other control leaves them as they are (at depth 100 they take seconds to measure).
                if self.drawn.get("lessons") != self.depth.value:
                    self.drawn.pop("lessons", None)
                    self.draw_product_rule()
                    self.draw_relu_cases()
                    self.drawn["lessons"] = self.depth.value
                if self.drawn.get("widths") != widths:
                    self.drawn.pop("widths", None)
                    self.draw_changing_widths(widths)
                    self.drawn["widths"] = widths
            self.message.value = ""
        except (ValueError, TypeError) as error:
            self.show_message(str(error))
        except Exception as error:  # anything else is a bug, but still a message next to the controls
            self.show_message(f"{type(error).__name__}: {error}")
        finally:
            self.busy.value = ""
        self.status.value = html.escape(
            f"Lines: prediction. Markers: {MODELS} random networks, {EXAMPLES} standard normal inputs "
            f"(std {TANH_INPUT_STD} for tanh). Computed in {time.perf_counter() - began:.1f} s."
        )

    def show_message(self, text: str) -> None:
        self.message.value = f'<span class="explorer-error" style="color:#b00020">&#9888; {html.escape(text)}</span>'

    def sizes(self) -> list[int]:
        return [self.width.value] * (self.depth.value + 1)

    def draw_your_network(self) -> None:
        activation = self.activation.value
        init = INITIALIZERS[self.init.value][1](self.scale.value)
        sizes = self.sizes()
        x_std = TANH_INPUT_STD if activation == "tanh" else 1.0
        predicted = theory.propagate_variance(sizes, theory.weight_variances(init, sizes), activation,
                                              input_second_moment=x_std**2)
        measured = theory.measure_variances(sizes, init, activation, EXAMPLES, MODELS, input_std=x_std)
        layers = np.arange(1, len(sizes))
        self.set("fwd_pred", layers, predicted.z_var)
        self.set("fwd_meas", layers, measured.z_var)
        self.set("bwd_pred", layers, predicted.grad_var)
        self.set("bwd_meas", layers, measured.grad_var)

    def draw_product_rule(self) -> None:
        sizes = [LESSON_WIDTH] * (self.depth.value + 1)
        layers = np.arange(1, len(sizes))
        for factor, _, _ in PRODUCT_CASES:
            init = initializers.variance_scaling(factor, "fan_in")
            predicted = theory.propagate_variance(sizes, theory.weight_variances(init, sizes), "linear")
            measured = theory.measure_variances(sizes, init, "linear", EXAMPLES, MODELS)
            self.set(f"prod_pred_{factor}", layers, predicted.a_var)
            self.set(f"prod_meas_{factor}", layers, measured.a_var)

    def draw_changing_widths(self, widths: list[int]) -> None:
        layers = np.arange(1, len(widths))
        for mode, _ in MODES:
            init = initializers.variance_scaling(1.0, mode)
            predicted = theory.propagate_variance(widths, theory.weight_variances(init, widths), "linear")
            measured = theory.measure_variances(widths, init, "linear", EXAMPLES, MODELS)
            self.set(f"w_fwd_pred_{mode}", layers, predicted.a_var)
            self.set(f"w_fwd_meas_{mode}", layers, measured.a_var)
            self.set(f"w_bwd_pred_{mode}", layers, predicted.grad_var)
            self.set(f"w_bwd_meas_{mode}", layers, measured.grad_var)

    def draw_relu_cases(self) -> None:
        sizes = [LESSON_WIDTH] * (self.depth.value + 1)
        layers = np.arange(1, len(sizes))
        for key, _, activation, make_init, _ in RELU_CASES:
            init = make_init()
            x_std = TANH_INPUT_STD if activation == "tanh" else 1.0
            predicted = theory.propagate_variance(sizes, theory.weight_variances(init, sizes), activation,
                                                  input_second_moment=x_std**2)
            measured = theory.measure_variances(sizes, init, activation, EXAMPLES, MODELS, input_std=x_std)
            self.set(f"relu_pred_{key}", layers, predicted.a_second / x_std**2)
            self.set(f"relu_meas_{key}", layers, measured.a_second / x_std**2)


def parse_widths(text: str) -> list[int]:
    """'784, 1000, 100' -> [784, 1000, 100]; a clear error for anything else."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        widths = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"widths={text!r}: write whole numbers separated by commas, e.g. 784, 1000, 100, 10") from None
    if len(widths) < 2 or any(w < 1 or w > 4096 for w in widths) or len(widths) > 101:
        raise ValueError(f"widths={text!r}: give 2 to 101 widths, each from 1 to 4,096")
    return widths
