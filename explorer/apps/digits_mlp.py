"""The same network, four starts: a numpy MLP learning real handwritten digits.

The network is the one of the second source text: 784-100-100-10 (ReLU, ReLU, softmax), trained by
minibatch SGD on batches of 100. On the built-in 8x8 digits its input is 64 wide; on MNIST (when its files
are on this machine) 784. Four copies of it start from four initializations, He, Xavier, 0.01·randn and
zeros, and train at once as one stack of models, on the same batches. A checkbox adds a fifth copy
that starts from the source's slip, randn · 2/sqrt(n) instead of randn · sqrt(2/n).

One figure, three panels, all against epochs:

    accuracy                  train (dashed) and test (solid), one colour per start
    cost                      cross-entropy on the whole train and test sets, log scale
    activation std            the spread of each hidden layer's outputs, log scale

    from explorer.apps.digits_mlp import DigitsMLPApp
    DigitsMLPApp().widget
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import datasets
from explorer.apps.figure import Figure, steady_range
from explorer.apps.live import LiveApp
from explorer.initializers import Initializer
from explorer.network import Network
from explorer.starts import CATALOGUE
from explorer.training import History, Snapshot, Trainer

HIDDEN_LAYERS = (100, 100)
BATCH_SIZE = 100
EPOCHS_PER_PRESS = 20  # a press of Train runs this many epochs, then pauses
MNIST_TRAIN, MNIST_TEST = 10_000, 2_000  # MNIST subset: keeps memory and each epoch small
MNIST_TRAIN_EVAL = 2_000  # the train curves on MNIST use this many training images, to keep snapshots cheap
STD_FLOOR = 1e-4  # a spread of exactly 0 cannot sit on a log axis: it is drawn here instead
# Each snapshot is a marker while a curve has at most this many points (one press of Train): beyond, lines alone.
# A marker is an SVG element that the browser redraws at every redraw, so that markers all along 24 long curves
# would slow every redraw.
MARKERS_UP_TO = 2 * EPOCHS_PER_PRESS + 1


@dataclass(frozen=True)
class Start:
    """One initialization of the comparison."""

    short: str  # in the status line
    label: str  # in the legend
    recipe: Callable[[], Initializer]
    color: str


STARTS: dict[str, Start] = {
    "he": Start("He", CATALOGUE["he"].label, CATALOGUE["he"].make, "#2ca02c"),
    "xavier": Start("Xavier", CATALOGUE["glorot_normal"].label, CATALOGUE["glorot_normal"].make, "#1f77b4"),
    "small": Start("0.01·randn", CATALOGUE["normal_0.01"].label, CATALOGUE["normal_0.01"].make, "#ff7f0e"),
    "zeros": Start("zeros", CATALOGUE["zeros"].label, CATALOGUE["zeros"].make, "#7f7f7f"),
    # The source's comments point out its slip: a std of 2/sqrt(n), i.e. a variance of 4/n, twice He's.
    "typo": Start("typo", CATALOGUE["typo"].label, CATALOGUE["typo"].make, "#d62728"),
}
FOUR = ("he", "xavier", "small", "zeros")
# The curves of each start, in the figure's order; the trace of start "he"'s test cost is named "he test cost".
CURVES = ("train accuracy", "test accuracy", "train cost", "test cost", "layer 1 std", "layer 2 std")
# The curves of a start that carry markers (while short): the solid ones, test accuracy, test cost and layer 1's
# spread. The dashed train curves and dotted layer 2 are measured at the same epochs, so their markers said
# nothing more, and styling each marker was the browser's largest cost per redraw in the first press.
MARKED = (1, 3, 4)


def curve_mode(which: int, short: bool) -> str:
    """How a start's curve `which` (an index into CURVES) is drawn: markers while the curves are short, on the
    curves in MARKED."""
    return "lines+markers" if short and which in MARKED else "lines"


# ---------------------------------------------------------------------------------------------
# Data


@dataclass
class DigitData:
    """Standardized training, train-curve and test inputs with their labels."""

    X: np.ndarray
    y: np.ndarray
    X_eval: np.ndarray  # the training images the train curves are measured on
    y_eval: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    description: str


def load_digits() -> DigitData:
    """The built-in 8x8 digits: 75% to train, 25% to test (seeded), standardized on the training part."""
    train, test = datasets.train_test_split(datasets.digits(), 0.25, seed=0)
    X, X_test = datasets.standardize(train.X, test.X)
    return DigitData(X, train.y, X, train.y, X_test, test.y,
                     f"8x8 digits: {len(train):,} training and {len(test):,} test images")


def load_mnist(path: str) -> DigitData:
    """MNIST from local files: the first 10,000 training and 2,000 test images, standardized."""
    train, test = datasets.mnist(path)
    X, X_test = datasets.standardize(train.X[:MNIST_TRAIN], test.X[:MNIST_TEST])
    y, y_test = train.y[:MNIST_TRAIN], test.y[:MNIST_TEST]
    return DigitData(X, y, X[:MNIST_TRAIN_EVAL], y[:MNIST_TRAIN_EVAL], X_test, y_test,
                     f"MNIST: {len(y):,} training and {len(y_test):,} test images (a subset; "
                     f"train curves on the first {min(len(y), MNIST_TRAIN_EVAL):,})")


def mnist_path() -> str | None:
    """Where MNIST lies: $EXPLORER_MNIST (a folder or an .npz file), else data/mnist in the project."""
    path = os.environ.get("EXPLORER_MNIST") or str(Path(__file__).resolve().parents[2] / "data" / "mnist")
    return path if os.path.exists(path) else None


MNIST_MISSING = "MNIST not found: set EXPLORER_MNIST to its folder or .npz file, or put its files in data/mnist."


# ---------------------------------------------------------------------------------------------


class DigitsMLPApp(LiveApp):
    """He, Xavier, 0.01·randn and zeros (and optionally the typo) on one MLP, trained side by side."""

    # 1 ms, not one turn of the event loop, at each look at it: the browser's report of a redraw reaches the ack
    # gate sooner (see LiveApp.yield_seconds), and the figure redraws more often while the page has time for it
    # (with MARKED); a press trains a little fewer steps a second.
    yield_seconds = 0.001

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, DigitData] = {}
        self.keys: tuple[str, ...] = FOUR  # the starts of the current run, in stack order
        self.history: History | None = None
        self.ranges: tuple[list[float] | None, list[float] | None] = (None, None)  # log10 ranges: cost, spread

        style = {"description_width": "initial"}
        self.mnist = mnist_path()
        mnist_label = "MNIST, 784 inputs" if self.mnist else "MNIST (not found)"
        sources = [("8x8 digits, 64 inputs (built in)", "digits"), (mnist_label, "mnist")]
        self.dataset = widgets.Dropdown(options=sources, value="digits", description="Data", style=style,
                                        layout=widgets.Layout(width="300px"))
        self.learning_rate = widgets.FloatText(value=0.1, description="Learning rate", style=style,
                                               layout=widgets.Layout(width="170px"))
        self.typo = widgets.Checkbox(value=False, description="add a 5th start: the source's typo, 2/sqrt(n)",
                                     style=style, indent=False, layout=widgets.Layout(width="auto"))
        for control in (self.dataset, self.learning_rate, self.typo):
            control.observe(lambda _: self.reset(), names="value")
        self.step_button.tooltip = "Train half an epoch (an epoch on MNIST) and stop"
        self.note = widgets.HTML()

        self.open_figure(self.build_figure())
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.dataset, self.learning_rate, self.typo], layout=row),
            widgets.HBox([self.buttons()], layout=row),
            self.note, self.message, self.figure, self.status,
        ])

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"dataset": self.dataset, "learning_rate": self.learning_rate, "typo": self.typo}

    # -- the run ------------------------------------------------------------------------------

    def digit_data(self) -> DigitData:
        """The chosen data set, loaded the first time it is asked for."""
        name = self.dataset.value
        if name not in self.data:
            if name == "digits":
                self.data[name] = load_digits()
            elif self.mnist is None:
                raise ValueError(MNIST_MISSING)
            else:
                try:
                    self.data[name] = load_mnist(self.mnist)
                except OSError as error:
                    raise ValueError(f"could not read MNIST at {self.mnist}: {error}") from None
        return self.data[name]

    def reset(self) -> None:
        self.note.value = ""  # start_run describes the new run; a run that cannot start leaves no note
        super().reset()

    def make_trainer(self) -> Trainer:
        data = self.digit_data()
        self.keys = FOUR + ("typo",) if self.typo.value else FOUR
        sizes = [data.X.shape[1], *HIDDEN_LAYERS, 10]
        steps_per_epoch = math.ceil(len(data.y) / BATCH_SIZE)
        on_mnist = self.dataset.value == "mnist"
        self.every = steps_per_epoch if on_mnist else math.ceil(steps_per_epoch / 2)  # a snapshot per (half) epoch
        self.run_steps = EPOCHS_PER_PRESS * steps_per_epoch
        net = Network(sizes, hidden="relu", output="softmax", init=[STARTS[k].recipe() for k in self.keys], seed=0)
        return Trainer(net, data.X, data.y, lr=self.learning_rate.value, batch_size=BATCH_SIZE, seed=0,
                       evaluate={"train": (data.X_eval, data.y_eval), "test": (data.X_test, data.y_test)})

    def start_run(self) -> None:
        sizes = self.trainer.net.sizes
        self.note.value = (f"<small>{self.digit_data().description}. Network {'-'.join(map(str, sizes))} "
                           f"(ReLU, ReLU, softmax), SGD on batches of {BATCH_SIZE}, the same batches for every start; "
                           f"Train runs {EPOCHS_PER_PRESS} epochs."
                           + ("" if self.mnist else f" {MNIST_MISSING}") + "</small>")
        # One row per snapshot: epoch, then K values each of train/test accuracy, train/test cost, std per layer.
        self.history = History(1 + 6 * len(self.keys), max_points=160)
        self.ranges = (None, None)  # a new run's axes fit it from its start

    def record(self, snap: Snapshot) -> None:
        train_cost, train_accuracy = snap.evaluation["train"]
        test_cost, test_accuracy = snap.evaluation["test"]
        hidden_std = snap.a_std[: len(HIDDEN_LAYERS)]  # the output layer's probabilities are left out
        row = np.concatenate([[snap.epoch], train_accuracy, test_accuracy, train_cost, test_cost, *hidden_std])
        self.history.append(snap.step, row)

    def describe(self, snap: Snapshot) -> str:
        test_accuracy = snap.evaluation["test"][1]
        names = [STARTS[key].short for key in self.keys]
        return (f"epoch {snap.epoch:.1f} (step {snap.step:,}) · test accuracy: "
                + self.each_model(snap, names, lambda k: f"{test_accuracy[k]:.1%}"))

    # -- the figure ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(
            rows=1, cols=3, horizontal_spacing=0.07,
            subplot_titles=["accuracy: dashed train, solid test", "cost: dashed train, solid test",
                            "activation std: solid layer 1, dotted layer 2"],
        ))
        for key, start in STARTS.items():  # the CURVES of each start, in the order of STARTS
            line = dict(color=start.color, width=2)
            common = dict(marker_size=4, legendgroup=key, name=start.label)
            fig.add_named(f"{key} train accuracy", go.Scatter(
                x=[], y=[], line=dict(line, dash="dash"), showlegend=False,
                hovertemplate="train %{y:.1%}<extra>%{fullData.name}</extra>", **common), row=1, col=1)
            fig.add_named(f"{key} test accuracy", go.Scatter(
                x=[], y=[], line=line, hovertemplate="test %{y:.1%}<extra>%{fullData.name}</extra>", **common),
                row=1, col=1)
            fig.add_named(f"{key} train cost", go.Scatter(
                x=[], y=[], line=dict(line, dash="dash"), showlegend=False,
                hovertemplate="train %{y:.3f}<extra>%{fullData.name}</extra>", **common), row=1, col=2)
            fig.add_named(f"{key} test cost", go.Scatter(
                x=[], y=[], line=line, showlegend=False,
                hovertemplate="test %{y:.3f}<extra>%{fullData.name}</extra>", **common), row=1, col=2)
            for layer, dash in ((1, "solid"), (2, "dot")):
                fig.add_named(f"{key} layer {layer} std", go.Scatter(
                    x=[], y=[], line=dict(line, dash=dash), showlegend=False,
                    hovertemplate=f"layer {layer}: %{{y:.3g}}<extra>%{{fullData.name}}</extra>", **common),
                    row=1, col=3)
            for which, curve in enumerate(CURVES):
                fig.trace(f"{key} {curve}").mode = curve_mode(which, short=True)
        for col in (1, 2, 3):
            fig.update_xaxes(title_text="epoch", row=1, col=col)
        fig.update_yaxes(title_text="accuracy", tickformat=".0%", range=[0, 1.02], row=1, col=1)
        fig.update_yaxes(title_text="cost (cross-entropy, log scale)", type="log", row=1, col=2,
                         tickvals=[0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50])
        fig.update_yaxes(title_text=f"std of hidden outputs (log; 0 drawn at {STD_FLOOR:g})", type="log",
                         dtick=1, exponentformat="power", row=1, col=3)
        fig.update_annotations(font_size=14)  # the panels' titles: at 16 px the third runs past the edge at 850 px
        fig.update_layout(  # the legend 80 px below the panels (350 px tall), clear of the axis titles, two rows
            height=550, width=None, autosize=True, margin=dict(l=60, r=20, t=80, b=120),
            legend=dict(orientation="h", x=0, y=-80 / 350, yanchor="top"),
            title=dict(x=0.01, y=0.97, font_size=15),
        )
        return fig

    def redraw(self) -> None:
        """Which starts are shown, the title and axis ranges go in a full update of the figure, only when they
        change (a control, or a curve leaving its range: rarely); the curves in a quick one, every redraw."""
        fig, history = self.figure, self.history
        values = history.y
        finite = values[np.isfinite(values)]
        if np.abs(finite).max(initial=0) < np.finfo(np.float32).max:  # not after a blow-up past 3.4e38
            values = values.astype(np.float32)  # half the bytes per redraw, and plenty for a plot
        epochs = values[:, 0].copy()  # a column as its own array: the widget sends only contiguous arrays
        K = len(self.keys)
        blocks = [values[:, 1 + K * b : 1 + K * (b + 1)] for b in range(6)]  # acc train, acc test, cost ..., std ...
        spreads = np.where(values[:, 1 + 4 * K :] > 0, values[:, 1 + 4 * K :], STD_FLOOR)  # 0: on the floor
        self.ranges = (steady_range(self.ranges[0], values[:, 1 + 2 * K : 1 + 4 * K], decades=1),
                       steady_range(self.ranges[1], spreads, decades=2))

        shown: dict[str, dict] = {}  # which traces are shown, and how: a change is a full redraw
        short = len(epochs) <= MARKERS_UP_TO
        curves: dict[str, dict] = {}  # trace name: its points
        for key in STARTS:
            names = [f"{key} {curve}" for curve in CURVES]
            if key not in self.keys:
                shown.update({name: {"x": [], "y": [], "visible": False} for name in names})
                continue
            k = self.keys.index(key)
            for i, (name, block) in enumerate(zip(names, blocks, strict=True)):
                y = block[:, k]
                if i >= 4:  # the spreads: 0 has no place on a log axis
                    y = np.where(y > 0, y, np.float32(STD_FLOOR))
                shown[name] = {"visible": True, "mode": curve_mode(i, short)}
                curves[name] = {"x": epochs, "y": np.ascontiguousarray(y)}

        sizes = "-".join(map(str, self.trainer.net.sizes))
        data = "MNIST" if self.dataset.value == "mnist" else "8x8 digits"
        end = self.stop_at * self.trainer.batch_size / self.trainer.m  # the epoch where this press of Train ends
        layout = {  # the whole press, the curves growing into it: a quick redraw does not autorange
            f"xaxis{axis}.range": [-0.01 * end, 1.01 * end] for axis in ("", "2", "3")}
        for axis, axis_range in zip(("yaxis2", "yaxis3"), self.ranges, strict=True):
            if axis_range is not None:
                layout[f"{axis}.range"] = axis_range
        # the epoch is in the status line: a title that changed would redraw the whole figure
        layout["title.text"] = (f"One network ({sizes}), {K} starts · {data} · "
                                f"learning rate {self.learning_rate.value:g}")
        with fig.batch_update():  # one message, or none if nothing there changed
            fig.fast_update(layout=layout, traces=shown)
        fig.quick_update(curves)
