"""Three experiments from the literature behind Run buttons (the notebook reproductions.ipynb).

Each experiment of explorer.reproductions takes a few seconds, so nothing runs when the notebook's cells run
(nbval and Voila execute every cell): a press of Run computes it, then shows our numbers as text and the
figure to compare with the paper's.

    from explorer.apps.reproductions import ReproductionApp
    ReproductionApp("glorot").widget      # or "he", "cs231n"
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import reproductions as rep

LAYER_COLORS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#c8a700"]


# -- Glorot & Bengio (2010), figures 6 and 7 ----------------------------------------------------------


def glorot_text(result: rep.GlorotBengio) -> str:
    lines = [f"network {'-'.join(map(str, result.sizes))} (tanh, softmax), seeds {result.seeds}"]
    for i, name in enumerate(result.inits):
        lines += [
            "",
            f"{name}: {rep.GLOROT_INITS[name]}",
            f"  std of a^[l],        layers 1..{result.act_std.shape[2]}: "
            f"{np.array2string(result.act_std[i].mean(axis=0), precision=4)}",
            f"  std of dCost/dz^[l], layers 1..{result.grad_std.shape[2]}: "
            f"{np.array2string(result.grad_std[i].mean(axis=0), precision=2)}",
            f"  activations, top layer / layer 1: {result.activation_shrink()[i].mean():.3f}",
            f"  gradients,   layer 1 / top layer: {result.gradient_shrink()[i].mean():.3f}",
        ]
    return "\n".join(lines)


def glorot_figure(result: rep.GlorotBengio) -> go.Figure:
    figure = make_subplots(rows=2, cols=2, horizontal_spacing=0.08, vertical_spacing=0.16,
                           subplot_titles=[f"{kind}, {name} start" for kind in ("activations a", "gradients dCost/dz")
                                           for name in result.inits])
    panels = ((result.act_hist, result.act_edges), (result.grad_hist, result.grad_edges))
    for r, (hist, edges) in enumerate(panels):
        centres = (edges[:-1] + edges[1:]) / 2
        for c in range(len(result.inits)):
            for l in range(hist.shape[1]):
                figure.add_scatter(x=centres, y=hist[c, l], mode="lines", name=f"layer {l + 1}",
                                   legendgroup=str(l), showlegend=(r == 0 and c == 0),
                                   line=dict(color=LAYER_COLORS[l % len(LAYER_COLORS)]), row=r + 1, col=c + 1)
    figure.update_yaxes(title_text="share of values")
    figure.update_layout(height=620, title="Glorot & Bengio, figures 6-7 scaled down: histograms at initialization")
    return figure


# -- He et al. (2015), figure 3 -----------------------------------------------------------------------

HE_COLORS = {"xavier": "#1f77b4", "he": "#2ca02c"}


def he_text(result: rep.PlainReLU) -> str:
    drop = result.cost_drop()
    lines = []
    for i, name in enumerate(result.inits):
        lines += [
            f"{name:7s} {rep.HE_INITS[name]}",
            f"        cost at step 0: {np.round(result.cost[i, :, 0], 3)}, fall after {result.steps[-1]} steps: "
            f"{np.round(drop[i], 3)}",
            f"        std of a^[{result.act_std.shape[2]}] at step 0: "
            f"{np.array2string(result.act_std[i][:, -1], precision=2)}",
        ]
    lines.append(f"ln(10) = {np.log(10):.3f}: the cost of a network whose output ignores its input")
    return "\n".join(lines)


def he_figure(result: rep.PlainReLU) -> go.Figure:
    figure = go.Figure()
    for i, name in enumerate(result.inits):
        for s, seed in enumerate(result.seeds):
            figure.add_scatter(x=result.steps, y=result.cost[i, s], mode="lines", name=f"{name}, seed {seed}",
                               line=dict(color=HE_COLORS.get(name), dash="solid" if s == 0 else "dot"))
    figure.update_layout(title=f"He et al., figure 3 scaled down: {len(result.sizes) - 1}-layer plain ReLU network",
                         height=420, xaxis_title="step", yaxis_title="cost on the batch (cross-entropy)")
    return figure


# -- cs231n: deep tanh stacks from three scales ---------------------------------------------------------

CS231N_COLORS = {"0.01": "#ff7f0e", "1.0": "#d62728", "xavier": "#1f77b4"}


def cs231n_text(result: rep.TanhStack) -> str:
    lines = []
    for i, name in enumerate(result.inits):
        lines += [
            rep.CS231N_INITS[name],
            f"   std of a^[l], l = 1..{result.layers}: {np.array2string(result.std[i], precision=2)}",
            f"   share with |a| > 0.99:  {np.array2string(result.saturated[i], precision=3)}",
        ]
    return "\n".join(lines)


def cs231n_figure(result: rep.TanhStack) -> go.Figure:
    figure = make_subplots(rows=1, cols=3,
                           subplot_titles=["mean of a^[l]", "std of a^[l] (log)", "share with |a| > 0.99"])
    layers = np.arange(1, result.layers + 1)
    for i, name in enumerate(result.inits):
        for col, values in enumerate((result.mean[i], result.std[i], result.saturated[i]), start=1):
            figure.add_scatter(x=layers, y=values, mode="lines+markers", name=rep.CS231N_INITS[name],
                               legendgroup=name, showlegend=col == 1, line=dict(color=CS231N_COLORS.get(name)),
                               row=1, col=col)
    figure.update_yaxes(type="log", exponentformat="power", row=1, col=2)
    figure.update_xaxes(title_text="layer")
    figure.update_layout(height=420, title=f"cs231n: {result.layers} tanh layers of {result.width} units")
    return figure


@dataclass(frozen=True)
class Experiment:
    """An experiment of explorer.reproductions: how to run it (with its notebook's settings), and how to show it."""

    title: str
    run: Callable[..., Any]
    options: dict[str, Any]
    text: Callable[[Any], str]
    figure: Callable[[Any], go.Figure]
    seconds: str  # how long a run takes on a small laptop, for the status line


EXPERIMENTS: dict[str, Experiment] = {
    "glorot": Experiment("Glorot & Bengio (2010)", rep.glorot_bengio,
                         dict(hidden_layers=5, width=256, m=256, seeds=(0, 1, 2)), glorot_text, glorot_figure, "3"),
    "he": Experiment("He et al. (2015)", rep.he_plain_relu, dict(depth=30, width=32, steps=300, lr=0.01, seeds=(0, 1)),
                     he_text, he_figure, "3"),
    "cs231n": Experiment("cs231n", rep.cs231n_tanh, dict(layers=10, width=500, m=1000, seed=0), cs231n_text,
                         cs231n_figure, "4"),
}


class ReproductionApp:
    """A Run button for one experiment; after a run, its numbers as text and its figure.

    experiment: "glorot", "he" or "cs231n". options: settings that replace the notebook's (e.g. width=64).
    """

    def __init__(self, experiment: str, **options: Any) -> None:
        if experiment not in EXPERIMENTS:
            raise ValueError(f"experiment={experiment!r} is unknown; valid: {', '.join(EXPERIMENTS)}")
        self.experiment = EXPERIMENTS[experiment]
        self.options = {**self.experiment.options, **options}
        self.result = None
        self.figure: go.FigureWidget | None = None
        self.run_button = widgets.Button(description="Run", icon="play", button_style="success",
                                         tooltip=f"Run the {self.experiment.title} experiment",
                                         layout=widgets.Layout(width="auto", min_width="90px"))
        self.status = widgets.HTML(f"<small>Press Run to compute it (about {self.experiment.seconds} s).</small>")
        self.text = widgets.HTML("")
        self.figure_box = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.run_button.on_click(lambda _: self.run())
        self.widget = widgets.VBox([widgets.HBox([self.run_button, self.status],
                                                 layout=widgets.Layout(align_items="center")),
                                    self.text, self.figure_box], layout=widgets.Layout(width="100%"))

    def run(self) -> None:
        """Compute the experiment, then show its numbers and figure; an error becomes a message."""
        self.run_button.disabled = True
        self.status.value = f"<small>Running&hellip; (about {self.experiment.seconds} s)</small>"
        began = time.perf_counter()
        try:
            self.result = self.experiment.run(**self.options)
            self.text.value = f"<pre>{html.escape(self.experiment.text(self.result))}</pre>"
            self.figure = go.FigureWidget(self.experiment.figure(self.result))
            self.figure_box.children = [self.figure]
            self.status.value = f"<small>Done in {time.perf_counter() - began:.1f} s.</small>"
        except Exception as error:  # noqa: BLE001 - a notebook shows a message, never a traceback
            expected = isinstance(error, (ValueError, TypeError, MemoryError))
            text = str(error) if expected else f"{type(error).__name__}: {error}"
            self.status.value = (f'<span class="explorer-error" style="color:#b00020">&#9888; '
                                 f"{html.escape(text)}</span>")
        finally:
            self.run_button.disabled = False
