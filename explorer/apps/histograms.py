"""Per-layer histograms: finding the right scale for the weights of a deep network.

A five-layer fully connected network (four hidden layers of 300 units and a softmax output) learns
handwritten digits with minibatch SGD. While it trains, a row of histograms shows what every hidden
layer outputs, or at a click the gradients that flow back into it, each on the same fixed x-axis so
that the layers can be compared. Below them: the cost, the accuracy, and the current batch with its
right and wrong answers marked.

    from explorer.apps.histograms import HistogramsApp
    HistogramsApp().widget
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import datasets
from explorer.apps.figure import Figure, binary_rows, colour_image, png_uri, steady_range
from explorer.apps.live import LiveApp
from explorer.initializers import Initializer
from explorer.network import Network
from explorer.starts import CATALOGUE
from explorer.training import History, Snapshot, Trainer

HIDDEN_LAYERS = (300, 300, 300, 300)
BATCH_SIZE = 100
BINS = 49  # an odd number, so that 0 sits in the middle of a bin rather than on an edge
IMAGES_SHOWN = 16  # the first images of each batch, in a 4 x 4 mosaic
MNIST_TRAIN, MNIST_TEST = 10_000, 1_000  # MNIST subset: keeps memory and the test pass per snapshot small

# The starts offered, from the catalogue (explorer.starts): dropdown value (what share links hold): its key there.
# "xavier" is N(0, 1/n_in), which the deeplearning.ai article calls Xavier; its label says so.
PICKED = {"zeros": "zeros", "uniform": "uniform_fan_in", "xavier": "article_xavier", "normal": "normal_1", "he": "he"}
# key: (label, recipe); the recipe gets the free scale v (only the last one uses it).
INITIALIZATIONS: dict[str, tuple[str, Callable[[float], Initializer]]] = {
    **{value: (CATALOGUE[key].label, lambda v, start=CATALOGUE[key]: start.make()) for value, key in PICKED.items()},
    "scale": (CATALOGUE["free_fan_in"].label, CATALOGUE["free_fan_in"].make),
}

# key: (label, x-range of its histograms). The range is the same for every layer, so shapes compare.
ACTIVATIONS: dict[str, tuple[str, tuple[float, float]]] = {
    "tanh": ("tanh", (-1.2, 1.2)),
    "relu": ("ReLU", (0.0, 3.0)),
    "sigmoid": ("sigmoid", (-0.1, 1.1)),
}
# Gradients dC/da of the batch-mean cost: about 3e-4 to 6e-4 per layer at a Xavier start on digits.
GRADIENT_RANGE = (-1.5e-3, 1.5e-3)
GRADIENT_UNIT = 1e-3  # the gradient axis is labelled in thousandths

ACTIVATION_COLOR, GRADIENT_COLOR = "#4c78a8", "#e45756"
BATCH_COLOR, TEST_COLOR = "#9ecae9", "#1f4e79"
RIGHT_COLOR, WRONG_COLOR = "#1a9850", "#d73027"
# plotly's "Greys" (white for 0, black for the largest pixel value) as hex stops, for the mosaic's picture
GREYS = [[stop, "#" + "".join(f"{round(c):02x}" for c in plotly.colors.unlabel_rgb(colour))]
         for stop, colour in plotly.colors.make_colorscale(plotly.colors.sequential.Greys)]
SHARE_TOPS = (0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.05)  # tops of the histograms' y axis
MOSAIC_PIXELS = 300  # the mosaic's picture is about this many pixels wide: each pixel a block (no blur)
# The cost and accuracy curves mark each snapshot while they have at most this many points (the first 300 steps):
# beyond, lines alone. A marker is an SVG element that the browser restyles at every redraw, so that markers all
# along the curves slow every redraw of a long run.
MARKERS_UP_TO = 30

HISTOGRAMS = range(4)  # the hidden layers, 0 to 3: a histogram each (traces "histogram 1" to "histogram 4")
CURVES = ("batch cost", "test cost", "batch accuracy", "test accuracy")  # names of the curves' traces


def centred_bins(low: float, high: float, bins: int = BINS) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres running from `low` to `high`, and the edges around them."""
    centres = np.linspace(low, high, bins)
    half = (high - low) / (bins - 1) / 2
    return centres, np.linspace(low - half, high + half, bins + 1)


def steps_x(centres: np.ndarray) -> np.ndarray:
    """The x of a histogram drawn as a filled step line (shape "hvh"): the outer edge, the bin centres, the outer
    edge. Between two centres the line steps at their middle, the bins' common edge."""
    half = (centres[1] - centres[0]) / 2
    return np.concatenate([[centres[0] - half], centres, [centres[-1] + half]])


def steps_y(shares: np.ndarray) -> np.ndarray:
    """The y of `steps_x`'s points: the first and last share once more, for the outer edges."""
    return np.concatenate([shares[:1], shares, shares[-1:]]).astype(np.float32)


def share_top(current: float | None, largest: float) -> float:
    """The top of the histograms' y axis: it stays while the largest share fits under it and reaches above a
    third of it (a new top redraws the whole figure in the browser), else the least of SHARE_TOPS that leaves
    5% of room above the largest share."""
    if current is not None and current / 3 < largest * 1.05 <= current:
        return current
    return next((top for top in SHARE_TOPS if largest * 1.05 <= top), SHARE_TOPS[-1])


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class DigitData:
    """Standardized inputs for training and testing, and the training images as pixels for display."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    images: np.ndarray  # (m, side, side) pixels of the training examples, shown in the batch mosaic
    pixel_max: float
    description: str


def load_digits() -> DigitData:
    """The built-in 8x8 digits: 80% to train, 20% to test (seeded), standardized on the training part."""
    train, test = datasets.train_test_split(datasets.digits(), test_fraction=0.2, seed=0)
    X, X_test = datasets.standardize(train.X, test.X)
    images = train.X.reshape(-1, 8, 8)
    return DigitData(X, train.y, X_test, test.y, images, 16.0,
                     f"8x8 digits: {len(train):,} training and {len(test):,} test images")


def load_mnist(path: str) -> DigitData:
    """MNIST from local files: the first 10,000 training and 1,000 test images, standardized."""
    train, test = datasets.mnist(path)
    train_x, train_y = train.X[:MNIST_TRAIN], train.y[:MNIST_TRAIN]
    test_x, test_y = test.X[:MNIST_TEST], test.y[:MNIST_TEST]
    X, X_test = datasets.standardize(train_x, test_x)
    images = train_x.reshape(-1, 28, 28)[:, ::2, ::2]  # every second pixel: 14x14 keeps the mosaic light
    return DigitData(X, train_y, X_test, test_y, images, 255.0,
                     f"MNIST: {len(train_y):,} training and {len(test_y):,} test images (a subset)")


def mnist_path() -> str | None:
    """Where MNIST lies: $EXPLORER_MNIST (a folder or an .npz file), else data/mnist in the project."""
    path = os.environ.get("EXPLORER_MNIST") or str(Path(__file__).resolve().parents[2] / "data" / "mnist")
    return path if os.path.exists(path) else None


# ---------------------------------------------------------------------------------------------
# The batch mosaic: plot coordinates only.


@dataclass
class Mosaic:
    z: np.ndarray  # the pixels of all tiles in one image (ints)
    right: tuple[list, list]  # x, y of the borders of rightly classified tiles (None between borders)
    wrong: tuple[list, list]
    text_x: list
    text_y: list
    text: list  # the predicted digit above each tile
    text_colors: list
    hover: list


def mosaic(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray, cols: int = 4, gap: int = 4) -> Mosaic:
    """Lay images out in a grid with a gap above each for its label; frame each green (right) or red (wrong)."""
    count, side = len(images), images.shape[1]
    rows = -(-count // cols)
    pitch = side + gap
    z = np.zeros((rows * pitch, cols * pitch), dtype=int)
    right: tuple[list, list] = ([], [])
    wrong: tuple[list, list] = ([], [])
    text_x, text_y, text, colors, hover = [], [], [], [], []
    for i in range(count):
        top, left = (i // cols) * pitch + gap, (i % cols) * pitch
        z[top : top + side, left : left + side] = images[i]
        ok = bool(predicted[i] == labels[i])
        x0, x1, y0, y1 = left - 0.5, left + side - 0.5, top - 0.5, top + side - 0.5
        xs, ys = right if ok else wrong
        xs += [x0, x1, x1, x0, x0, None]
        ys += [y0, y0, y1, y1, y0, None]
        text_x.append(left + side / 2 - 0.5)
        text_y.append(top - gap / 2 - 0.5)
        text.append(str(predicted[i]))
        colors.append(RIGHT_COLOR if ok else WRONG_COLOR)
        hover.append(f"label {labels[i]}, predicted {predicted[i]}")
    return Mosaic(z, right, wrong, text_x, text_y, text, colors, hover)


def mosaic_picture(z: np.ndarray, pixel_max: float) -> str:
    """The mosaic's pixels as a PNG in plotly's Greys (as its heatmap drew them), each pixel a square block
    of screen pixels, so that the browser does not blur the digits when it stretches the picture."""
    block = max(1, MOSAIC_PIXELS // z.shape[1])
    pixels = colour_image(np.asarray(z) / pixel_max, GREYS)
    return png_uri(pixels.repeat(block, axis=0).repeat(block, axis=1))


# ---------------------------------------------------------------------------------------------


class HistogramsApp(LiveApp):
    """Histograms of every hidden layer of a deep network, live while it learns digits."""

    every = 10  # a snapshot (with a pass over the test set) every 10 steps: a Pause waits for one
    run_steps = 2_000
    yield_seconds = 0.001  # a snapshot takes ~50 ms: see LiveApp.yield_seconds
    # Four redraws on their way, not three: with three the page is idle a fifth of the time, waiting for the next
    # one; with four it redraws more often, and Pause stops the figure as soon.
    in_flight = 4

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, DigitData] = {}
        self.axes_key: tuple | None = None  # what the histogram axes are set up for
        self.costs = self.accuracies = None
        self.shown: Snapshot | None = None  # the latest snapshot with finite values, for the histograms
        self.share_top: float | None = None  # the top of the histograms' y axis
        self.cost_range: list[float] | None = None  # the cost axis's log10 range

        style = {"description_width": "initial"}
        self.mnist = mnist_path()
        sources = [("8x8 digits (built in)", "digits")] + ([("MNIST", "mnist")] if self.mnist else [])
        self.dataset = widgets.Dropdown(options=sources, value="digits", description="Data", style=style,
                                        layout=widgets.Layout(width="230px"))
        self.init = widgets.Dropdown(options=[(label, key) for key, (label, _) in INITIALIZATIONS.items()],
                                     value="xavier", description="Initialization", style=style,
                                     layout=widgets.Layout(width="310px"))
        self.scale = widgets.FloatLogSlider(value=1.0, base=10, min=-4, max=2, step=0.1, readout_format=".2g",
                                            description="free scale v (Var w = v/n)", style=style,
                                            continuous_update=False, disabled=True)
        self.activation = widgets.Dropdown(options=[(label, key) for key, (label, _) in ACTIVATIONS.items()],
                                           value="tanh", description="Activation", style=style,
                                           layout=widgets.Layout(width="190px"))
        self.learning_rate = widgets.FloatText(value=0.1, description="Learning rate", style=style,
                                               layout=widgets.Layout(width="170px"))
        self.show = widgets.ToggleButtons(options=[("activations a", "activations"), ("gradients dC/da", "gradients")],
                                          value="activations", description="Histograms of", style=style,
                                          tooltips=["what each hidden layer outputs",
                                                    "the gradient of the cost flowing back into each hidden layer"])
        for control in (self.dataset, self.init, self.scale, self.activation, self.learning_rate):
            control.observe(lambda _: self.reset(), names="value")
        self.init.observe(lambda _: self.enable_scale(), names="value")
        self.show.observe(lambda _: self.draw(), names="value")

        if self.mnist:
            self.mnist_note = f"MNIST found at {self.mnist}."
        else:
            self.mnist_note = "MNIST not found: set EXPLORER_MNIST to its folder or .npz file, or put it in data/mnist."
        self.note = widgets.HTML()
        self.open_figure(self.build_figure())
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.dataset, self.init, self.scale, self.activation, self.learning_rate], layout=row),
            widgets.HBox([self.show, self.buttons()], layout=row),
            self.note, self.message, self.figure, self.status,
        ])

    # -- controls -----------------------------------------------------------------------------

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"dataset": self.dataset, "init": self.init, "scale": self.scale, "activation": self.activation,
                "learning_rate": self.learning_rate, "show": self.show}

    def enable_scale(self) -> None:
        self.scale.disabled = self.init.value != "scale"

    def digit_data(self) -> DigitData:
        """The chosen data set, loaded the first time it is asked for."""
        name = self.dataset.value
        if name not in self.data:
            try:
                self.data[name] = load_digits() if name == "digits" else load_mnist(self.mnist)
            except OSError as error:
                raise ValueError(f"could not read MNIST: {error}") from None
        return self.data[name]

    def make_trainer(self) -> Trainer:
        data = self.digit_data()
        sizes = [data.X.shape[1], *HIDDEN_LAYERS, 10]
        _, recipe = INITIALIZATIONS[self.init.value]
        # float32: numpy's tanh is vectorised for float32 on this kind of CPU and not for float64 (0.49 ms a
        # layer against ~0.05), and the matrix products run at twice the rate. The demo's values (activations
        # within [-1, 1] or a few thousand, gradients around 1e-4) sit well inside float32's range.
        net = Network(sizes, hidden=self.activation.value, output="softmax", init=recipe(self.scale.value), seed=0,
                      dtype="float32")
        return Trainer(net, data.X, data.y, lr=self.learning_rate.value, batch_size=BATCH_SIZE, seed=0,
                       act_bins=centred_bins(*ACTIVATIONS[self.activation.value][1])[1],
                       grad_bins=centred_bins(*GRADIENT_RANGE)[1],
                       evaluate={"test": (data.X_test, data.y_test)})

    # -- what the figure needs from each snapshot ---------------------------------------------

    def start_run(self) -> None:
        self.note.value = (f"<small>{self.digit_data().description}; network "
                           f"{'-'.join(map(str, self.trainer.net.sizes))}, softmax output, "
                           f"SGD on batches of {BATCH_SIZE}. {self.mnist_note}</small>")
        self.costs = History(2, max_points=300)  # batch, test
        self.accuracies = History(2, max_points=300)
        self.shown = None
        self.share_top = self.cost_range = None  # a new run's axes fit it from its start

    def record(self, snap: Snapshot) -> None:
        test_cost, test_accuracy = snap.evaluation["test"]
        self.costs.append(snap.step, [snap.cost[0], test_cost[0]])
        self.accuracies.append(snap.step, [snap.accuracy[0], test_accuracy[0]])
        frozen = snap.diverged[0] and snap.diverged_at[0] < snap.step  # its values are all NaN
        if not frozen:
            self.shown = snap

    def describe(self, snap: Snapshot) -> str:
        if snap.diverged[0]:
            return (f"step {snap.step:,}: the cost overflowed at step {snap.diverged_at[0]:,} and training stopped; "
                    f"the histograms show the last step before that")
        test_accuracy = snap.evaluation["test"][1][0]
        return (f"step {snap.step:,} (epoch {snap.epoch:.1f}) · batch cost {snap.cost[0]:.3g} · "
                f"test accuracy {test_accuracy:.1%}")

    # -- the figure ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        """The panels. The histograms are filled step lines of scatter traces (not bar traces), the batch's
        pixels a picture (a layout image, not a heatmap), and the panels' titles that change while training
        are text traces (not annotations): a redraw while training is then one Plotly.animate of scatter
        traces and the picture, which the browser redraws alone (FastUpdate.quick_update), not the whole figure."""
        titles = [""] * 4 + ["cost", "accuracy", ""]
        fig = Figure(make_subplots(
            rows=2, cols=4, specs=[[{}, {}, {}, {}], [{"colspan": 2}, None, {}, {}]],
            subplot_titles=titles, vertical_spacing=0.2, horizontal_spacing=0.06,
        ))
        for col in range(1, 5):  # one per hidden layer
            fig.add_named(f"histogram {col}", go.Scatter(
                x=[], y=[], mode="lines", line=dict(shape="hvh", width=0), fill="tozeroy", hoveron="points",
                showlegend=False, name=f"layer {col}", hovertemplate="%{x}: %{y:.1%}<extra></extra>"), row=1, col=col)
        for name, color in (("batch", BATCH_COLOR), ("test", TEST_COLOR)):
            fig.add_named(f"{name} cost", go.Scatter(
                x=[], y=[], mode="lines+markers", marker_size=3, name=f"{name} set", line_color=color,
                legendgroup=name), row=2, col=1)
        for name, color in (("batch", BATCH_COLOR), ("test", TEST_COLOR)):
            fig.add_named(f"{name} accuracy", go.Scatter(
                x=[], y=[], mode="lines+markers", marker_size=3, name=f"{name} set", line_color=color,
                legendgroup=name, showlegend=False), row=2, col=3)
        fig.add_named("pixels", go.Heatmap(z=[[0]], colorscale="Greys", zmin=0, zmax=16, showscale=False,
                                           hoverinfo="skip", visible=False),
                      row=2, col=4)  # kept with the figure; the picture draws them
        for name, color in (("right", RIGHT_COLOR), ("wrong", WRONG_COLOR)):  # the frames of the batch's images
            fig.add_named(name, go.Scatter(x=[], y=[], mode="lines", line=dict(color=color, width=2), name=name,
                                           showlegend=False, hoverinfo="skip"), row=2, col=4)
        fig.add_named("labels", go.Scatter(x=[], y=[], mode="text", text=[], textfont=dict(size=11), showlegend=False,
                                           hovertemplate="%{hovertext}<extra></extra>"), row=2, col=4)
        title = dict(x=[], y=[], mode="text", text=[], textposition="top center", textfont_size=16,
                     cliponaxis=False, hoverinfo="skip", showlegend=False)
        for col in range(1, 5):  # above each histogram, where make_subplots puts a title
            fig.add_named(f"title {col}", go.Scatter(**title), row=1, col=col)
        fig.add_named("batch title", go.Scatter(**title), row=2, col=4)
        fig.add_layout_image(source=png_uri(np.full((1, 1, 3), 255)), xref="x7", yref="y7", xanchor="left",
                             yanchor="top", sizing="stretch", layer="below")

        fig.update_yaxes(tickformat=".0%", row=1)
        fig.update_yaxes(title_text="share of values", row=1, col=1)
        for col in (2, 3, 4):
            fig.update_yaxes(matches="y", row=1, col=col)  # one y scale for the four layers
        fig.update_xaxes(title_text="iteration", row=2, col=1)
        fig.update_yaxes(title_text="cost (cross-entropy, log)", type="log", row=2, col=1)
        fig.update_xaxes(title_text="iteration", row=2, col=3)
        fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0, 1.02], row=2, col=3)
        # the batch's pixels square: its panel shrinks to fit, its ranges stay (a range that plotly widened to fit
        # would stay widened, as the app sets the ranges and not plotly's autorange)
        fig.update_xaxes(visible=False, constrain="domain", row=2, col=4)
        fig.update_yaxes(visible=False, scaleanchor="x7", constrain="domain", row=2, col=4)
        fig.update_layout(
            # the legend a column at the left, clear of the cost panel's title; the right margin holds the batch's
            # title at 850 px
            height=660, width=None, autosize=True, margin=dict(l=60, r=40, t=95, b=40),
            legend=dict(orientation="v", x=0, y=0.4, yanchor="bottom"),
            title=dict(x=0.01, y=0.98, font_size=15),
        )
        return fig

    def setup_axes(self) -> None:
        """Bin positions, ranges and titles of the histograms: they change with the activation and the toggle."""
        gradients = self.show.value == "gradients"
        data = self.digit_data()
        key = (self.activation.value, gradients, data.pixel_max)
        if key == self.axes_key:
            return
        self.axes_key = key
        fig = self.figure
        if gradients:
            low, high = GRADIENT_RANGE
            centres, _ = centred_bins(low, high)
            x, xrange = centres / GRADIENT_UNIT, [low / GRADIENT_UNIT, high / GRADIENT_UNIT]
            xtitle, color = "gradient dC/da (×10⁻³)", GRADIENT_COLOR
        else:
            label, (low, high) = ACTIVATIONS[self.activation.value]
            x, _ = centred_bins(low, high)
            width = x[1] - x[0]
            xrange, xtitle, color = [low - width / 2, high + width / 2], f"activation a = {label}(z)", ACTIVATION_COLOR
        for l in HISTOGRAMS:
            fig.trace(f"histogram {l + 1}").update(x=steps_x(x), fillcolor=color, line_color=color)
        fig.update_xaxes(range=xrange, title_text=xtitle, row=1)
        fig.trace("pixels").zmax = data.pixel_max

    def redraw(self) -> None:
        """Titles, colours and axis ranges go in a full update of the figure, only when they change (a control,
        or a curve leaving its range: rarely); the histograms, curves, batch and panel titles in a quick one."""
        snap, fig = self.shown, self.figure
        gradients = self.show.value == "gradients"
        counts = snap.grad_hist if gradients else snap.act_hist
        stds = snap.grad_std if gradients else snap.a_std
        examples = len(snap.batch) if snap.batch is not None else self.trainer.m
        shares = [counts[l, 0] / (examples * self.trainer.net.sizes[l + 1]) for l in HISTOGRAMS]
        self.share_top = share_top(self.share_top, max(share.max() for share in shares))
        costs = self.costs.y
        self.cost_range = steady_range(self.cost_range, costs, decades=1)
        steps = [-0.01 * self.stop_at, 1.01 * self.stop_at]  # the whole press of Train, the curves growing into
        # it: a quick redraw does not autorange

        layout = {f"yaxis{'' if l == 0 else l + 1}.range": [0, self.share_top] for l in HISTOGRAMS}
        layout.update({"xaxis5.range": steps, "xaxis6.range": steps})
        if self.cost_range is not None:
            layout["yaxis5.range"] = self.cost_range
        what = "Back-propagated gradients" if gradients else "Activations"
        layout["title.text"] = (  # the step is in the status line: a title that changed would redraw everything
            f"{what} of the four hidden layers · {INITIALIZATIONS[self.init.value][0]}"
            + (f", v = {self.scale.value:.2g}" if self.init.value == "scale" else "")
            + f" · {ACTIVATIONS[self.activation.value][0]}"
        )
        layout["title.subtitle.text"] = (
            f"Bars: share of a layer's {values_per_layer(examples)} values in each bin. "
            "Values beyond the x-axis are not drawn; their share is given above each panel."
        )
        mode = "lines+markers" if len(self.costs.x) <= MARKERS_UP_TO else "lines"  # a change: one full redraw
        with fig.batch_update():  # one message, or none if nothing there changed
            self.setup_axes()
            layout.update(self.mosaic_axes())
            fig.fast_update(layout=layout, traces={curve: {"mode": mode} for curve in CURVES})

        xrange = fig.layout.xaxis.range
        traces: dict[str, dict] = {}  # trace name: properties
        for l in HISTOGRAMS:
            traces[f"histogram {l + 1}"] = {"y": steps_y(shares[l].round(4))}
            traces[f"title {l + 1}"] = {"x": [sum(xrange) / 2], "y": [self.share_top],
                                        "text": [self.panel_title(l + 1, stds[l, 0], 1 - shares[l].sum(), gradients)]}
        for curve, history, column in zip(CURVES, (self.costs, self.costs, self.accuracies, self.accuracies),
                                          (0, 1, 0, 1), strict=True):
            # a column as its own array: the widget sends only contiguous arrays
            traces[curve] = {"x": history.x, "y": history.y[:, column].copy()}
        picture = self.draw_batch(snap, traces)
        fig.quick_update(traces, {"images[0].source": picture})

    @staticmethod
    def panel_title(layer: int, std: float, off_axis: float, gradients: bool) -> str:
        spread = f"{std:.1e}" if gradients else f"{std:.2f}"
        title = f"layer {layer} · std {spread}"
        if off_axis > 0.0005:
            title += f" · {off_axis:.0%} off axis" if off_axis >= 0.01 else f" · {off_axis:.1%} off axis"
        return title

    def mosaic_axes(self) -> dict:
        """The batch panel's axis ranges and the place of its picture: the mosaic's size (rows, columns), which
        changes only with the data set."""
        side = self.digit_data().images.shape[1]
        rows, cols = -(-IMAGES_SHOWN // 4) * (side + 4), 4 * (side + 4)  # see `mosaic`
        return {"xaxis7.range": [-0.5, cols - 0.5], "yaxis7.range": [rows - 0.5, -0.5],  # rows downwards
                "images[0].x": -0.5, "images[0].y": -0.5, "images[0].sizex": cols, "images[0].sizey": rows}

    def draw_batch(self, snap: Snapshot, traces: dict[str, dict]) -> str:
        """The first images of the batch with the network's answers, into `traces`; returns their picture."""
        data = self.digit_data()
        shown = snap.batch[:IMAGES_SHOWN]
        predicted = snap.output[0, :IMAGES_SHOWN].argmax(axis=1)
        tiles = mosaic(data.images[shown], data.y[shown], predicted)
        right = int((predicted == data.y[shown]).sum())
        traces["pixels"] = {"z": binary_rows(tiles.z, np.uint8)}  # pixels as binary rows
        traces["right"] = {"x": tiles.right[0], "y": tiles.right[1]}
        traces["wrong"] = {"x": tiles.wrong[0], "y": tiles.wrong[1]}
        traces["labels"] = {"x": tiles.text_x, "y": tiles.text_y, "text": tiles.text, "hovertext": tiles.hover,
                          "textfont.color": tiles.text_colors}
        traces["batch title"] = {"x": [(tiles.z.shape[1] - 1) / 2], "y": [-0.5],
                               "text": [f"batch: {right} of {len(shown)} right (red: wrong)"]}
        return mosaic_picture(tiles.z, data.pixel_max)


def values_per_layer(examples: int) -> str:
    return f"{examples * HIDDEN_LAYERS[0]:,} ({examples} examples × {HIDDEN_LAYERS[0]} units)"
