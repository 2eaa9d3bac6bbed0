"""The initializer zoo: one deep network on the digits, trained from seven starts side by side.

Orthogonal, identity, truncated normal, LeCun, Xavier, He and LSUV starts of the same network train
as one stack of seven models, on the same minibatches (``explorer.reproductions.zoo_network``).
One figure, three panels:

    cost                      training cost on the current batch, log scale, against the step
    activation std            the spread of each hidden layer's output a^[l] now, log scale
    gradient std              the spread of dCost/da^[l] of each hidden layer now, log scale

    from explorer.apps.zoo import ZooApp
    ZooApp().widget
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import datasets
from explorer.apps.figure import Figure
from explorer.apps.live import LiveApp
from explorer.reproductions import ZOO, zoo_network
from explorer.training import History, Snapshot, Trainer

BATCH_SIZE = 64
STD_FLOOR = 1e-8  # a spread of exactly 0 cannot sit on a log axis: it is drawn here instead
ACTIVATIONS = (("ReLU", "relu"), ("tanh", "tanh"), ("linear (Saxe's deep linear network)", "linear"))
PANELS = ("cost", "activation std", "gradient std")  # a trace per start in each: "he cost", "he activation std", ...


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The built-in 8x8 digits, 75% of them (seeded), standardized."""
    train, _ = datasets.train_test_split(datasets.digits(), 0.25, seed=0)
    return datasets.standardize(train.X)[0], train.y


class ZooApp(LiveApp):
    """Seven initializers of one network on the digits, trained as one stack."""

    every = 5  # a snapshot of seven 20-layer models every 5 steps keeps each slice of work short
    run_steps = 2_000

    def __init__(self) -> None:
        super().__init__()
        self.X, self.y = load_digits()
        self.keys = tuple(ZOO)
        self.costs: History | None = None
        self.lsuv_report = None

        style = {"description_width": "initial"}
        self.activation = widgets.Dropdown(options=ACTIVATIONS, value="relu", description="Activation",
                                           style=style, layout=widgets.Layout(width="330px"))
        self.depth = widgets.IntSlider(value=20, min=1, max=30, description="Hidden layers", style=style,
                                       continuous_update=False)
        self.width = widgets.IntSlider(value=32, min=16, max=128, step=16, description="Width", style=style,
                                       continuous_update=False)
        self.learning_rate = widgets.FloatText(value=0.01, description="Learning rate", style=style,
                                               layout=widgets.Layout(width="170px"))
        self.seed = widgets.IntText(value=0, description="Seed", style=style, layout=widgets.Layout(width="130px"))
        for control in (self.activation, self.depth, self.width, self.learning_rate, self.seed):
            control.observe(lambda _: self.reset(), names="value")
        self.note = widgets.HTML()

        self.open_figure(self.build_figure())
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.activation, self.depth, self.width, self.learning_rate, self.seed], layout=row),
            widgets.HBox([self.buttons()], layout=row),
            self.note, self.message, self.figure, self.status,
        ])

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"activation": self.activation, "depth": self.depth, "width": self.width,
                "learning_rate": self.learning_rate, "seed": self.seed}

    # -- the run ------------------------------------------------------------------------------

    def sizes(self) -> list[int]:
        return [self.X.shape[1], *[self.width.value] * self.depth.value, 10]

    def shape(self) -> str:
        """The network in short, e.g. 64-(20x32)-10."""
        return f"{self.X.shape[1]}-({self.depth.value}×{self.width.value})-10"

    def make_trainer(self) -> Trainer:
        seed = self.seed.value
        if seed is None or seed < 0:
            raise ValueError(f"seed={seed!r} must be a non-negative integer")
        net, self.lsuv_report = zoo_network(self.sizes(), self.activation.value, "softmax", self.X, seed=seed)
        return Trainer(net, self.X, self.y, lr=self.learning_rate.value, batch_size=BATCH_SIZE, seed=seed)

    def start_run(self) -> None:
        rounds = max(int(r.rounds.max()) for r in self.lsuv_report)
        self.note.value = (f"<small>8x8 digits, {len(self.y):,} training images; network "
                           f"{self.shape()} ({self.activation.value}, softmax output), "
                           f"SGD on batches of {BATCH_SIZE}, the same batches for every start. "
                           f"LSUV needed at most {rounds} rescaling{'s' if rounds != 1 else ''} per layer.</small>")
        self.costs = History(len(self.keys), max_points=300)

    def record(self, snap: Snapshot) -> None:
        self.costs.append(snap.step, snap.cost)

    def describe(self, snap: Snapshot) -> str:
        return (f"step {snap.step:,} (epoch {snap.epoch:.1f}) · cost: "
                + self.each_model(snap, list(self.keys), lambda k: f"{snap.cost[k]:.3g}"))

    # -- the figure ---------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(rows=1, cols=3, horizontal_spacing=0.08,
                                   subplot_titles=["cost on the batch", "std of a^[l] per hidden layer",
                                                   "std of dCost/da^[l] per hidden layer"]))
        for key in self.keys:
            start = ZOO[key]
            common = dict(mode="lines+markers", marker_size=4, legendgroup=key, name=start.label,
                          line=dict(color=start.color, width=2))
            fig.add_named(f"{key} cost", go.Scatter(
                x=[], y=[], hovertemplate="%{y:.3g}<extra>%{fullData.name}</extra>", **common), row=1, col=1)
            fig.add_named(f"{key} activation std", go.Scatter(
                x=[], y=[], showlegend=False, hovertemplate="layer %{x}: %{y:.3g}<extra>%{fullData.name}</extra>",
                **common), row=1, col=2)
            fig.add_named(f"{key} gradient std", go.Scatter(
                x=[], y=[], showlegend=False, hovertemplate="layer %{x}: %{y:.3g}<extra>%{fullData.name}</extra>",
                **common), row=1, col=3)
        fig.update_xaxes(title_text="step", row=1, col=1)
        fig.update_xaxes(title_text="layer l", row=1, col=2)
        fig.update_xaxes(title_text="layer l", row=1, col=3)
        fig.update_yaxes(title_text="cost (cross-entropy, log)", type="log", row=1, col=1)
        for col in (2, 3):
            fig.update_yaxes(type="log", exponentformat="power", row=1, col=col)
        # The legend under the axis titles, 80 px below the panels (350 px tall), in a bottom margin that holds two rows
        fig.update_layout(height=550, width=None, autosize=True, margin=dict(l=60, r=20, t=80, b=120),
                          legend=dict(orientation="h", x=0, y=-80 / 350, yanchor="top"),
                          title=dict(x=0.01, y=0.97, font_size=15))
        return fig

    def redraw(self) -> None:
        fig, snap = self.figure, self.snapshot
        steps = self.costs.x
        costs = self.costs.y.astype(np.float32)
        hidden = np.arange(1, snap.a_std.shape[0])  # the output layer (probabilities and their gradient) is left out
        with fig.batch_update():
            for k, key in enumerate(self.keys):
                cost, act, grad = (fig.trace(f"{key} {panel}") for panel in PANELS)
                cost.update(x=steps, y=costs[:, k])
                act.update(x=hidden, y=np.maximum(snap.a_std[:-1, k], STD_FLOOR).astype(np.float32))
                grad.update(x=hidden, y=np.maximum(snap.grad_std[:-1, k], STD_FLOOR).astype(np.float32))
            fig.layout.title.text = (f"{self.shape()} {self.activation.value} network, seven starts · "
                                     f"learning rate {self.learning_rate.value:g} · step {snap.step:,}")
