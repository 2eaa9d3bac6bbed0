"""Why initialization matters: a small network learns a 2-D toy set from different starting weights.

A network with two hidden ReLU layers and a sigmoid output, [2, 6, 3, 1] by default, learns to tell the
two classes of a toy set apart by full-batch gradient descent. One figure shows, side by side:

    cost curve            the cost over the iterations, on a log scale
    decision boundary     the network's probability of class 1 over the plane, with the data on top
    network               every weight (or its gradient) as a link: colour = sign, width = size

"Compare" mode trains the four starts of the classic demonstration (zero, too small, appropriate,
too large) at once, as one stack of four models, with four cost curves and four small boundaries.

    from explorer.apps.three_layer import ThreeLayerApp
    ThreeLayerApp().widget
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import datasets
from explorer.apps.figure import colour_image, png_uri
from explorer.apps.live import LiveApp
from explorer.initializers import Initializer
from explorer.network import Network
from explorer.starts import CATALOGUE
from explorer.training import History, Snapshot, Trainer

# label: (layer sizes, learning rate, steps per press of Train)
ARCHITECTURES: dict[str, tuple[list[int], float, int]] = {
    "2-6-3-1": ([2, 6, 3, 1], 0.1, 5_000),
    "2-10-5-1 (classic)": ([2, 10, 5, 1], 0.01, 15_000),
}


def scaled(v: float) -> Initializer:
    """W = randn * sqrt(v / fan_in), the rule of the classic demonstration (v = 0 means all zeros)."""
    return CATALOGUE["free_fan_in"].make(v)


# The four starts of the classic demonstration, in the order they are stacked in compare mode.
CLASSIC: dict[str, tuple[str, float, str]] = {  # key: (label, v, colour)
    "zero": ("zero (v = 0)", 0.0, "#7f7f7f"),
    "small": ("too small (v = 0.01)", 0.01, "#4c78a8"),
    "appropriate": ("appropriate (v = 1)", 1.0, "#2ca02c"),
    "large": ("too large (v = 100)", 100.0, "#d62728"),
}

# Every choice of the initialization dropdown: key: (label, recipe of the free scale v). Past the classic four,
# starts from the catalogue (explorer.starts), under the dropdown values that share links use.
INITIALIZATIONS: dict[str, tuple[str, Callable[[float], Initializer]]] = {
    **{key: (label, lambda _, v=v: scaled(v)) for key, (label, v, _) in CLASSIC.items()},
    "constant": (CATALOGUE["constant"].label, lambda _: CATALOGUE["constant"].make()),
    "xavier": (CATALOGUE["glorot_normal"].label, lambda _: CATALOGUE["glorot_normal"].make()),
    "he": (CATALOGUE["he"].label, lambda _: CATALOGUE["he"].make()),
    "scale": (CATALOGUE["free_fan_in"].label, scaled),
}

GRID = 50  # the decision boundary is drawn on a GRID x GRID probe
CLASS_COLORS = ("#e8731a", "#2b6cb0")  # class 0, class 1
BOUNDARY_SCALE = [[0, "#f9c89b"], [0.5, "#ececec"], [1, "#a9c8ea"]]  # P(class 1) from 0 to 1: 0.5 is grey
POSITIVE, NEGATIVE, ZERO = "#2b6cb0", "#d62728", "#9a9a9a"  # link colours by sign
THINNEST, THICKEST = 0.5, 8.0  # link widths in pixels
WIDTHS = 8  # links are drawn in this many widths, from just above THINNEST to THICKEST (each a trace)
HOVER_AT = 0.62  # where along a link (from its input end) its hover point sits: keeps them apart

# Where the panels sit on the page (fractions of the figure), and the axes that make_subplots gives them.
COST_X, MIDDLE_X, NETWORK_X = (0.0, 0.27), (0.34, 0.65), (0.745, 1.0)  # room for the colour bar at 850 px
BOUNDARY_AXES = ("2", "3", "5", "6")  # axis suffixes of boundary panels 0-3; single mode uses panel 0
NETWORK_AXIS = "4"


class ThreeLayerApp(LiveApp):
    """A small ReLU network on a toy set: cost, decision boundary and weights, live; or four starts compared."""

    every = 10

    def __init__(self) -> None:
        super().__init__()
        self.layout_key: tuple | None = None  # (compare, architecture) the traces are built for
        self.links: list[tuple[int, int, int]] = []  # (layer l, unit j of l, unit i of l-1) of each link line
        self.link_lines: list[dict] = []  # where each link is drawn: a layout shape without its style
        self.costs: History | None = None
        self.shown: list[Snapshot | None] = []  # per model: the latest snapshot whose values are all finite
        self.data_shown = False  # the run's data points and probe grid are in the figure
        self.cost_range: tuple[tuple, list[float]] | None = None  # (what the runs share, the cost axis range)
        self.data: datasets.Dataset | None = None
        self.grid: datasets.Grid | None = None

        style = {"description_width": "initial"}
        self.dataset = widgets.Dropdown(options=datasets.TOY_SETS, value="circles", description="Data set",
                                        style=style, layout=widgets.Layout(width="170px"))
        self.points = widgets.IntSlider(value=300, min=100, max=1000, step=50, description="Points",
                                        style=style, continuous_update=False)
        self.noise = widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.01, description="Noise",
                                         style=style, continuous_update=False)
        self.seed = widgets.IntText(value=0, description="Seed (data and weights)", style=style,
                                    layout=widgets.Layout(width="210px"))
        self.architecture = widgets.Dropdown(options=list(ARCHITECTURES), value="2-6-3-1", description="Network",
                                             style=style, layout=widgets.Layout(width="230px"))
        self.init = widgets.Dropdown(options=[(label, key) for key, (label, _) in INITIALIZATIONS.items()],
                                     value="zero", description="Initialization", style=style,
                                     layout=widgets.Layout(width="330px"))
        self.scale = widgets.FloatLogSlider(value=1.0, base=10, min=-4, max=5, step=0.1, readout_format=".2g",
                                            description="Free scale v", style=style, continuous_update=False,
                                            disabled=True)
        self.learning_rate = widgets.FloatLogSlider(value=0.1, base=10, min=-4, max=1, step=0.1,
                                                    readout_format=".2g", description="Learning rate",
                                                    style=style, continuous_update=False)
        self.mode = widgets.ToggleButtons(options=[("one initialization", "single"), ("compare the four", "compare")],
                                          value="single", description="Mode", style=style,
                                          tooltips=["train the initialization chosen above",
                                                    "train zero, too small, appropriate and too large side by side"])
        self.drawn = widgets.Dropdown(options=[(label, key) for key, (label, _, _) in CLASSIC.items()],
                                      value="zero", description="Network drawn", style=style,
                                      layout=widgets.Layout(width="280px", display="none"))
        self.links_show = widgets.ToggleButtons(options=[("weights", "weights"), ("gradients", "gradients")],
                                                value="weights", description="Links show", style=style,
                                                tooltips=["each weight w", "the gradient dCost/dw of each weight"])

        for control in (self.init, self.mode):
            control.observe(lambda _: self.show_choices(), names="value")
        for control in (self.dataset, self.points, self.noise, self.seed, self.init, self.scale,
                        self.learning_rate, self.mode):
            control.observe(lambda _: self.reset(), names="value")
        self.architecture.observe(lambda _: self.choose_architecture(), names="value")
        self.drawn.observe(lambda _: self.draw(), names="value")
        self.links_show.observe(lambda _: self.draw(), names="value")

        figure = make_subplots(rows=2, cols=4, specs=[[{"rowspan": 2}, {}, {}, {"rowspan": 2}],
                                                      [None, {}, {}, None]])
        # autoexpand off: the colour bar and the legend sit inside the figure, and plotly.js would otherwise
        # measure them and draw the whole figure a second time on every full redraw
        figure.update_layout(height=480, width=None, autosize=True,
                             margin=dict(l=60, r=10, t=60, b=50, autoexpand=False),
                             plot_bgcolor="white", hovermode="closest",
                             legend=dict(x=COST_X[1], xanchor="right", y=1, bgcolor="rgba(255,255,255,0.7)"))
        self.open_figure(figure)
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.dataset, self.points, self.noise, self.seed], layout=row),
            widgets.HBox([self.architecture, self.init, self.scale, self.learning_rate], layout=row),
            widgets.HBox([self.mode, self.drawn, self.links_show], layout=row),
            widgets.HBox([self.buttons()], layout=row),
            self.message, self.figure, self.status,
        ])

    # -- controls -----------------------------------------------------------------------------

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"dataset": self.dataset, "points": self.points, "noise": self.noise, "seed": self.seed,
                "architecture": self.architecture, "init": self.init, "scale": self.scale,
                "learning_rate": self.learning_rate, "mode": self.mode, "drawn": self.drawn,
                "links_show": self.links_show}

    @property
    def compare(self) -> bool:
        return self.mode.value == "compare"

    def show_choices(self) -> None:
        """Compare mode trains the four classic starts: no initialization to choose, but which of the four the
        network panel draws. The free scale v counts for the free-scale start alone."""
        self.init.disabled = self.compare
        self.scale.disabled = self.compare or self.init.value != "scale"
        self.drawn.layout.display = None if self.compare else "none"

    def choose_architecture(self) -> None:
        """The classic network comes with its own learning rate and run length."""
        _, lr, steps = ARCHITECTURES[self.architecture.value]
        self.run_steps = steps
        if self.learning_rate.value != lr:
            self.learning_rate.value = lr  # its observer resets
        else:
            self.reset()

    def initializations(self) -> list[Initializer]:
        """One initializer per model: the chosen one, or the four classic ones in compare mode."""
        if self.compare:
            return [scaled(v) for _, v, _ in CLASSIC.values()]
        _, recipe = INITIALIZATIONS[self.init.value]
        return [recipe(self.scale.value)]

    def model_labels(self) -> list[str]:
        if self.compare:
            return [label for label, _, _ in CLASSIC.values()]
        label = INITIALIZATIONS[self.init.value][0]
        return [f"{label}, v = {self.scale.value:.2g}" if self.init.value == "scale" else label]

    def make_trainer(self) -> Trainer:
        sizes = ARCHITECTURES[self.architecture.value][0]
        net = Network(sizes, hidden="relu", output="sigmoid", init=self.initializations(), seed=self.seed.value)
        self.data = datasets.toy(self.dataset.value, self.points.value, self.noise.value, seed=self.seed.value)
        self.grid = datasets.grid(self.data.X, GRID)
        return Trainer(net, self.data.X, self.data.y, lr=self.learning_rate.value, probe=self.grid.points)

    # -- what the figure needs from each snapshot ---------------------------------------------

    def start_run(self) -> None:
        key = (self.compare, self.architecture.value)
        if key != self.layout_key:
            self.build_traces()
            self.layout_key = key
        K = self.trainer.net.K
        self.costs = History(K, max_points=400)
        self.shown = [None] * K
        self.data_shown = False  # the new data go with the run's first redraw: one message, one draw in the browser

    def record(self, snap: Snapshot) -> None:
        self.costs.append(snap.step, snap.cost)
        for k in range(len(self.shown)):
            arrays = [snap.probe[k]] + [w[k] for w in snap.weights + snap.weight_grads]
            if all(np.isfinite(a).all() for a in arrays):
                self.shown[k] = snap

    def describe(self, snap: Snapshot) -> str:
        parts = [f"step {snap.step:,}"]
        for k, label in enumerate(self.model_labels()):
            name = label.split(" (")[0] if self.compare else label  # single: the start is named here only
            if snap.diverged[k]:
                parts.append(f"{name}: DIVERGED at step {snap.diverged_at[k]:,} (cost above "
                             f"{self.trainer.diverge_above:,.0f} or not finite), training of this model stopped")
            else:
                cost = f"{name} {snap.cost[k]:.3g}" if self.compare else f"{name}: cost {snap.cost[k]:.3g}"
                parts.append(f"{cost}, {snap.accuracy[k]:.0%} right")
        return " · ".join(parts)

    # -- the figure: traces -------------------------------------------------------------------

    def build_traces(self) -> None:
        """Make every trace for the current mode and network, replacing the old ones; arrange the panels."""
        labels = [label for label, _, _ in CLASSIC.values()] if self.compare else ["cost"]
        colors = [color for _, _, color in CLASSIC.values()] if self.compare else ["#333333"]
        traces: dict[str, go.Scatter] = {}  # name: trace, in the figure's order

        for k, (label, color) in enumerate(zip(labels, colors, strict=True)):
            width = 5 if color == CLASSIC["zero"][2] else 2  # wide: the zero curve lies under "too small" for long
            traces[f"cost {k}"] = go.Scatter(
                x=[], y=[], mode="lines", name=label, line=dict(color=color, width=width), showlegend=self.compare,
                xaxis="x", yaxis="y", hovertemplate="step %{x:,}: cost %{y:.4g}<extra>" + label + "</extra>")
        traces["diverged"] = go.Scatter(x=[], y=[], mode="markers+text", text=[], textposition="top left",
                                        marker=dict(symbol="x", size=12, color="#d62728"), textfont_color="#d62728",
                                        showlegend=False, hoverinfo="skip", xaxis="x", yaxis="y")

        for k in range(len(labels)):
            x, y = "x" + BOUNDARY_AXES[k], "y" + BOUNDARY_AXES[k]
            # The boundary itself is a layout image (see draw_boundaries); this trace of no point gives its colour
            # bar, and keeps the panel in every quick redraw (see FastUpdate.quick_update).
            traces[f"boundary {k}"] = go.Scatter(
                x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip", xaxis=x, yaxis=y,
                marker=dict(color=[0.5], cmin=0, cmax=1, colorscale=BOUNDARY_SCALE, showscale=not self.compare,
                            colorbar=dict(title=dict(text="P(class 1)", side="right"),
                                          thickness=10, len=0.6, x=MIDDLE_X[1] + 0.005)))
            traces[f"points {k}"] = go.Scatter(
                x=[], y=[], mode="markers", showlegend=False, hoverinfo="skip", xaxis=x, yaxis=y,
                marker=dict(size=4 if self.compare else 6, cmin=0, cmax=1,
                            colorscale=[[0, CLASS_COLORS[0]], [1, CLASS_COLORS[1]]],
                            line=dict(width=0.5, color="white")))

        sizes = ARCHITECTURES[self.architecture.value][0]
        net_x, net_y = "x" + NETWORK_AXIS, "y" + NETWORK_AXIS
        # The links: one line trace per colour and width, each holding the links drawn alike (75 traces, one per
        # link, would redraw far slower). Scatter traces, so that a redraw redraws them alone (quick_update).
        self.links = [(l, j, i) for l in range(1, len(sizes)) for j in range(sizes[l]) for i in range(sizes[l - 1])]
        self.link_lines = [((l - 1, unit_y(sizes, l - 1, i)), (l, unit_y(sizes, l, j))) for l, j, i in self.links]
        self.link_styles = [(ZERO, THINNEST)] + [(color, link_width(level)) for color in (POSITIVE, NEGATIVE)
                                                 for level in range(1, WIDTHS + 1)]
        for style, (color, width) in enumerate(self.link_styles):
            traces[f"links {style}"] = go.Scatter(x=[], y=[], mode="lines", line=dict(color=color, width=width),
                                                  hoverinfo="skip", showlegend=False, xaxis=net_x, yaxis=net_y)
        hover_x = [l - 1 + HOVER_AT for l, _, _ in self.links]
        hover_y = [(1 - HOVER_AT) * unit_y(sizes, l - 1, i) + HOVER_AT * unit_y(sizes, l, j) for l, j, i in self.links]
        traces["link hover"] = go.Scatter(
            x=hover_x, y=hover_y, mode="markers", marker=dict(size=9, color="rgba(0,0,0,0)"),
            hovertext=[""] * len(self.links), hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
            xaxis=net_x, yaxis=net_y)
        nodes = [(l, j) for l in range(len(sizes)) for j in range(sizes[l])]
        traces["nodes"] = go.Scatter(x=[l for l, _ in nodes], y=[unit_y(sizes, l, j) for l, j in nodes],
                                     mode="markers", hovertext=[""] * len(nodes),
                                     hovertemplate="%{hovertext}<extra></extra>", showlegend=False,
                                     marker=dict(size=18, color="white", line=dict(width=2, color="#333333")),
                                     xaxis=net_x, yaxis=net_y)
        # the largest |value| drawn: text in a trace redraws cheaply
        traces["largest"] = go.Scatter(x=[len(sizes) - 1], y=[max(sizes) / 2], mode="text", text=[""],
                                       textposition="bottom left", hoverinfo="skip", showlegend=False,
                                       xaxis=net_x, yaxis=net_y)
        names = ["input"] + ["ReLU"] * (len(sizes) - 2) + ["sigmoid"]
        traces["layer names"] = go.Scatter(
            x=list(range(len(sizes))), y=[-max(sizes) / 2 - 0.3] * len(sizes), mode="text", text=names,
            textposition="bottom center", hoverinfo="skip", showlegend=False, xaxis=net_x, yaxis=net_y)

        fig = self.figure
        fig.replace_traces(traces)
        with fig.batch_update():
            fig.layout.images = [dict(source=png_uri(np.zeros((1, 1, 3))), xref="x" + BOUNDARY_AXES[k],
                                      yref="y" + BOUNDARY_AXES[k], sizing="stretch", layer="below")
                                 for k in range(len(labels))]
            self.arrange(len(labels), sizes)

    def arrange(self, panels: int, sizes: list[int]) -> None:
        """Place the cost, the boundary panel(s) and the network on the page; hide the unused axes."""
        fig = self.figure
        half = (MIDDLE_X[0] + MIDDLE_X[1]) / 2
        if panels == 1:
            boxes = [(MIDDLE_X, (0.0, 1.0))]
        else:
            left, right = (MIDDLE_X[0], half - 0.01), (half + 0.01, MIDDLE_X[1])
            top, bottom = (0.58, 1.0), (0.0, 0.42)
            boxes = [(left, top), (right, top), (left, bottom), (right, bottom)]
        fig.update_layout(xaxis=dict(domain=COST_X, title_text="iteration", gridcolor="#e5e5e5"),
                          yaxis=dict(domain=(0, 1), type="log", title_text="cost (cross-entropy, log scale)",
                                     gridcolor="#e5e5e5", dtick="D2"))
        for k, suffix in enumerate(BOUNDARY_AXES):
            used = k < panels
            x_box, y_box = boxes[k] if used else (MIDDLE_X, (0, 1))
            fig.layout["xaxis" + suffix].update(domain=x_box, visible=used, showgrid=False, zeroline=False,
                                                title_text="x₁" if panels == 1 else None)
            fig.layout["yaxis" + suffix].update(domain=y_box, visible=used, showgrid=False, zeroline=False,
                                                scaleanchor="x" + suffix, constrain="domain",
                                                title_text="x₂" if panels == 1 else None)
        top = max(sizes) / 2
        fig.layout["xaxis" + NETWORK_AXIS].update(domain=NETWORK_X, visible=False, range=[-0.3, len(sizes) - 0.5])
        fig.layout["yaxis" + NETWORK_AXIS].update(domain=(0, 1), visible=False, range=[-top - 1.2, top + 0.2])
        titles = [("cost", COST_X, (0, 1))] + [("", boxes[k][0], boxes[k][1]) for k in range(panels)]
        titles.append(("network", NETWORK_X, (0, 1)))
        fig.layout.annotations = [
            dict(text=text, x=(xs[0] + xs[1]) / 2, y=ys[1], xref="paper", yref="paper", xanchor="center",
                 yanchor="bottom", showarrow=False, font=dict(size=13))
            for text, xs, ys in titles
        ]

    def show_data(self) -> None:
        """The data points of this run in every boundary panel, and the place of the probe grid's picture."""
        fig, data, grid = self.figure, self.data, self.grid
        # the picture covers the grid's cells, each centred on its probe point
        half_x, half_y = (grid.xs[1] - grid.xs[0]) / 2, (grid.ys[1] - grid.ys[0]) / 2
        x_range = [round(grid.xs[0] - half_x, 3), round(grid.xs[-1] + half_x, 3)]
        y_range = [round(grid.ys[0] - half_y, 3), round(grid.ys[-1] + half_y, 3)]
        with fig.batch_update():
            for k in range(len(self.shown)):
                points = fig.trace(f"points {k}")
                points.update(x=data.X[:, 0].round(3), y=data.X[:, 1].round(3), marker_color=data.y)
                fig.layout["xaxis" + BOUNDARY_AXES[k]].range = x_range
                fig.layout["yaxis" + BOUNDARY_AXES[k]].range = y_range
                fig.layout.images[k].update(x=x_range[0], y=y_range[1], sizex=x_range[1] - x_range[0],
                                            sizey=y_range[1] - y_range[0])

    # -- the figure: redraw -------------------------------------------------------------------

    def redraw(self) -> None:
        """New data, titles and axis ranges go in a full update of the figure, only when they change (rarely);
        the curves, the boundary pictures and the links in a quick one (every redraw)."""
        fig = self.figure
        layout: dict = {}  # titles and axis ranges: sent only if changed
        pictures: dict = {}  # the boundaries' layout images
        traces: dict[str, dict] = {}  # trace name: properties
        self.draw_costs(layout, traces)
        self.draw_boundaries(layout, pictures, traces)
        self.draw_network(layout, traces)
        with fig.batch_update():  # one message, or none if nothing there changed
            if not self.data_shown:
                self.show_data()
                self.data_shown = True
            fig.fast_update(layout=layout)
        fig.quick_update(traces, pictures)

    def draw_costs(self, layout: dict, traces: dict) -> None:
        """Each model's cost up to now; a diverged model's curve ends where it diverged, with a red cross."""
        snap = self.snapshot
        steps, values = self.costs.x, self.costs.y
        crosses: tuple[list, list, list] = ([], [], [])
        for k in range(len(self.shown)):
            cost = values[:, k]
            kept = np.isfinite(cost) & (cost > 0)  # NaN after divergence, and a log axis cannot show 0
            mode = "lines" if kept.sum() > 2 else "lines+markers"  # a line of one point would not show
            traces[f"cost {k}"] = {"x": steps[kept], "y": cost[kept], "mode": mode}
            if snap.diverged[k]:
                crosses[0].append(int(snap.diverged_at[k]))
                crosses[1].append(float(cost[kept][-1]) if kept.any() else self.trainer.diverge_above)
                name = self.model_labels()[k].split(" (")[0] + " " if self.compare else ""
                crosses[2].append(f"{name}diverged")
        traces["diverged"] = {"x": crosses[0], "y": crosses[1], "text": crosses[2]}
        # the whole run, the curve growing into it: a quick redraw does not autorange, and a new range would
        # make the browser redraw the whole figure
        layout["xaxis.range"] = [0, self.stop_at]
        shown = np.concatenate([values[np.isfinite(values) & (values > 0)], crosses[1]])
        if len(shown):
            # Runs of one network on one data set share the cost axis, which only grows: they compare at a
            # glance, and a new run (a control change) needs no full redraw for a new range.
            shared = (self.layout_key, self.dataset.value, self.points.value, self.noise.value, self.seed.value)
            low, high = log_range(shown.min(), shown.max())
            if self.cost_range is not None and self.cost_range[0] == shared:
                low, high = min(low, self.cost_range[1][0]), max(high, self.cost_range[1][1])
            self.cost_range = (shared, [low, high])
            layout["yaxis.range"] = [low, high]

    def draw_boundaries(self, layout: dict, pictures: dict, traces: dict) -> None:
        """P(class 1) on the grid for each model, as it was at its latest finite snapshot, as a picture."""
        labels = self.model_labels()
        for k, snap in enumerate(self.shown):
            traces[f"boundary {k}"] = {}  # the panel's colour key: keeps the panel (quick_update)
            title = labels[k] if self.compare else "decision boundary"  # the start is in the status line
            if snap is None:
                layout[f"annotations[{1 + k}].text"] = f"{title}: no finite output"
                continue
            probability = self.grid.as_image(snap.probe[k, :, 0])  # rows follow the grid's y, upwards
            pictures[f"images[{k}].source"] = png_uri(colour_image(probability[::-1], BOUNDARY_SCALE))
            # the accuracy is in the status line: a title that changes would redraw the whole figure
            layout[f"annotations[{1 + k}].text"] = title if np.isfinite(snap.accuracy[k]) else f"{title} · diverged"

    def draw_network(self, layout: dict, traces: dict) -> None:
        """Links coloured by sign and as wide as their size, relative to the largest one drawn."""
        k = list(CLASSIC).index(self.drawn.value) if self.compare else 0
        snap = self.shown[k]
        gradients = self.links_show.value == "gradients"
        what = "dCost/dw" if gradients else "w"
        title = f"network of {self.model_labels()[k]}" if self.compare else "network"
        last = len(self.figure.layout.annotations) - 1
        if snap is None:
            layout[f"annotations[{last}].text"] = f"{title}: no finite weights"
            return
        layout[f"annotations[{last}].text"] = f"{title}<br>blue +, red −, width ∝ |{what}|"  # 2 lines: it fits
        matrices = snap.weight_grads if gradients else snap.weights
        values = np.array([matrices[l - 1][k, j, i] for l, j, i in self.links])
        lines = [([], []) for _ in self.link_styles]
        for style, ((x0, y0), (x1, y1)) in zip(link_style_indexes(values), self.link_lines, strict=True):
            lines[style][0].extend([x0, x1, None])
            lines[style][1].extend([y0, y1, None])
        for style, (xs, ys) in enumerate(lines):
            traces[f"links {style}"] = {"x": xs, "y": ys}
        traces["link hover"] = {"hovertext": [
            f"{what}: layer {l - 1} unit {i + 1} → layer {l} unit {j + 1}<br>{what} = {v:+.4g}"
            for (l, j, i), v in zip(self.links, values, strict=True)
        ]}
        sizes = ARCHITECTURES[self.architecture.value][0]
        node_text = [f"input x{j + 1}" for j in range(sizes[0])]
        for l in range(1, len(sizes)):
            kind = "output (sigmoid)" if l == len(sizes) - 1 else "ReLU unit"
            node_text += [f"layer {l} {kind} {j + 1}<br>bias b = {snap.biases[l - 1][k, j]:+.4g}"
                          for j in range(sizes[l])]
        traces["nodes"] = {"hovertext": node_text}
        traces["largest"] = {"text": [f"largest |{what}| {np.abs(values).max():.2g}"]}


def unit_y(sizes: list[int], l: int, j: int) -> float:
    """Height of unit j of layer l in the network drawing: each layer centred, first unit on top."""
    return (sizes[l] - 1) / 2 - j


def log_range(low: float, high: float, least: tuple[float, float] = (-1.0, 1.0), step: float = 0.5) -> list[float]:
    """A log-axis range (in powers of ten) around [low, high] and at least `least` (0.1 to 10: where the costs
    of every start begin), its ends rounded outwards to multiples of `step` decades.

    Plotly's own autorange would zoom a flat curve (the zero start's cost stays at 0.693...) to a sliver
    of 1e-16 and draw rounding noise as a cliff. A range that changes only when a curve leaves it matters for
    speed too: a new range makes the browser redraw the whole figure.
    """
    bottom, top = np.log10(low), np.log10(high)
    pad = 0.05 * (top - bottom)
    return [float(min(least[0], np.floor((bottom - pad) / step) * step)),
            float(max(least[1], np.ceil((top + pad) / step) * step))]


def link_width(level: int) -> float:
    """The width of a link of width level 1..WIDTHS (0 for a zero value: THINNEST)."""
    return round(THINNEST + (THICKEST - THINNEST) * level / WIDTHS, 2)


def link_style_indexes(values: np.ndarray) -> list[int]:
    """Each link's style among ThreeLayerApp.link_styles: 0 for a zero value (grey, thinnest), else its colour
    (1..WIDTHS positive, then negative) and its width level ceil(WIDTHS |value| / largest |value|), 1..WIDTHS."""
    magnitude = np.abs(values)
    largest = magnitude.max()
    if largest == 0:
        return [0] * len(values)
    levels = np.clip(np.ceil(WIDTHS * magnitude / largest), 1, WIDTHS).astype(int)
    return [0 if v == 0 else (level if v > 0 else WIDTHS + level) for v, level in zip(values, levels, strict=True)]
