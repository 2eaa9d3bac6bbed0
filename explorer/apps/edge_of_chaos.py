"""The edge of chaos: where deep networks can be trained, predicted by mean-field theory and measured.

One figure, four panels:

    phase diagram      xi_c over (sigma_w^2, sigma_b^2) with the chi_1 = 1 boundary; markers: correlation of two
                       inputs measured after `depth` layers of wide random networks, along the chosen sigma_b^2
    correlation map    c^l layer by layer for several starting correlations: predicted (lines), measured (markers)
    length map         q^l layer by layer for several starting lengths: predicted (lines), measured (markers)
    trainability       accuracy after a fixed number of training steps over depth x sigma_w^2, with the 6 xi_c line;
                       computed on a button press (a minute or so), then kept on disk: the next view is instant

    from explorer.apps.edge_of_chaos import EdgeOfChaosApp
    EdgeOfChaosApp().widget
"""

from __future__ import annotations

import html
import os
import time

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import runtime, sweep, theory
from explorer.apps.figure import Figure, draw_then_wrap
from explorer.apps.resize import FitOnResize

ACTIVATIONS = {"tanh": "tanh", "relu": "ReLU"}
GRID_SIGMA_W2 = np.round(np.linspace(0.5, 4.0, 36), 4)  # the phase diagram's grid
GRID_SIGMA_B2 = np.round(np.linspace(0.0, 0.3, 16), 4)
MEASURED_SIGMA_W2 = (1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)  # wide networks measured along the chosen sigma_b^2
MEASURE_WIDTH = 300
MEASURE_C0 = 0.6  # the phase-diagram markers: two inputs that start with this correlation
C0 = (0.1, 0.5, 0.9, 0.99)  # the correlation-map panel's starting correlations
Q0 = (0.2, 1.0, 4.0)  # the length-map panel's starting lengths
XI_CAP = 1000.0  # xi_c is drawn on a log scale up to this; beyond it (and infinity) shows as the cap
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
FIGURE_HEIGHT = 940  # px
MARGIN = dict(l=60, r=30, t=50, b=90)  # px; the bottom one holds the lower panels' legends
LEGEND_BELOW = 56  # px from a panel's lower edge to the top of its legend: tick labels and axis title between


class EdgeOfChaosApp:
    """Phase diagram, correlation and length maps, and a trainability map computed on request.

    cache_dir: where trainability maps are stored (default: explorer.sweep.cache_directory()).
    trainability: the map's configuration; activation and sigma_b^2 come from the controls.
    n_jobs, client: how the map's depths are spread (joblib workers here, or a Dask client's workers).
    depth: the starting value of the measurement's depth.
    """

    def __init__(self, cache_dir: str | os.PathLike | None = None, trainability: sweep.TrainabilityConfig | None = None,
                 n_jobs: int = 1, client=None, depth: int = 20) -> None:
        self.cache_dir = cache_dir
        # client: a dask.distributed.Client, whose workers then take the map's depths. In a browser page both run
        # here instead, and `spread_note` says so.
        self.n_jobs, self.client, self.spread_note = runtime.workers(n_jobs, client)
        self.base_config = trainability or sweep.TrainabilityConfig()
        self.diagrams: dict[str, theory.PhaseDiagram] = {}
        self.map: sweep.TrainabilityMap | None = None
        style = {"description_width": "initial"}
        self.activation = widgets.Dropdown(options=[(v, k) for k, v in ACTIVATIONS.items()], value="tanh",
                                           description="Activation", style=style, layout=widgets.Layout(width="200px"))
        self.sigma_b2 = widgets.FloatSlider(value=0.05, min=0.0, max=0.3, step=0.01, description="σ_b²",
                                            continuous_update=False, readout_format=".2f", style=style)
        self.sigma_w2 = widgets.FloatSlider(value=2.5, min=0.5, max=4.0, step=0.05, description="σ_w² (maps)",
                                            continuous_update=False, readout_format=".2f", style=style)
        self.depth = widgets.IntSlider(value=depth, min=1, max=60, description="Depth (measured)",
                                       continuous_update=False, style=style)
        self.compute_button = widgets.Button(description="Compute trainability map", icon="play",
                                             button_style="success", layout=widgets.Layout(width="auto"),
                                             tooltip="Train every (depth, σ_w²) network of the map; stored on disk")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="220px"))
        self.message = widgets.HTML()
        self.map_status = widgets.HTML()
        self.status = widgets.HTML()
        self.activation.observe(lambda _: self.update(), names="value")
        self.sigma_b2.observe(lambda _: self.update(), names="value")
        self.sigma_w2.observe(lambda _: self.update(maps_only=True), names="value")
        self.depth.observe(lambda _: self.update(), names="value")
        self.compute_button.on_click(lambda _: self.compute_map())

        draw_then_wrap(self, self.build_figure(), self.update)  # self.figure: the FigureWidget
        row = widgets.Layout(flex_flow="row wrap", align_items="center")
        self.widget = widgets.VBox([
            widgets.HBox([self.activation, self.sigma_b2, self.sigma_w2, self.depth], layout=row),
            widgets.HBox([self.compute_button, self.progress, self.map_status], layout=row),
            self.message,
            self.figure,
            self.status,
            FitOnResize(self),  # the figure follows the window's width
        ])

    def settings(self) -> dict[str, widgets.ValueWidget]:
        """The controls that a share link sets and an export records, by public key (never rename one:
        saved links use them; see explorer.apps.settings)."""
        return {"activation": self.activation, "sigma_b2": self.sigma_b2, "sigma_w2": self.sigma_w2,
                "depth": self.depth}

    # -- figure -------------------------------------------------------------------------------

    def build_figure(self) -> Figure:
        fig = Figure(make_subplots(
            rows=2, cols=2, horizontal_spacing=0.18, vertical_spacing=0.19,
            subplot_titles=("Phase diagram: depth scale ξ_c, edge χ₁ = 1", "Correlation map: c^l of two inputs",
                            "Length map: q^l of one input", "Trainability: accuracy after training"),
        ))
        add = fig.add_named

        ticks = dict(tickvals=[0, 1, 2, 3], ticktext=["1", "10", "100", "≥1000"])
        add("xi", go.Heatmap(x=[], y=[], z=[], coloraxis="coloraxis", hovertemplate=(
            "σ_w² %{x:.2f}<br>σ_b² %{y:.2f}<br>log10 ξ_c %{z:.2f}<extra></extra>")), 1, 1)
        add("edge", go.Scatter(x=[], y=[], mode="lines", line=dict(color="#ff9900", width=3), name="edge χ₁ = 1"),
            1, 1)
        add("measured", go.Scatter(x=[], y=[], mode="markers",
                                   name=f"measured c after l layers from c⁰ = {MEASURE_C0} (white 1, black 0)",
                                   marker=dict(size=13, color=[], coloraxis="coloraxis2", line=dict(color="black",
                                                                                                     width=1)),
                                   text=[], hovertemplate="%{text}<extra></extra>"), 1, 1)
        add("here", go.Scatter(x=[], y=[], mode="markers", name="σ_w² of the maps",
                               marker=dict(symbol="x", size=12, color="red")), 1, 1)
        for i, c0 in enumerate(C0):
            add(f"c_pred_{i}", go.Scatter(x=[], y=[], mode="lines", line=dict(color=COLORS[i]),
                                          name=f"c⁰ = {c0}", legendgroup="c"), 1, 2)
            add(f"c_meas_{i}", go.Scatter(x=[], y=[], mode="markers", marker=dict(color=COLORS[i], size=6),
                                          showlegend=False, legendgroup="c"), 1, 2)
        add("c_star", go.Scatter(x=[], y=[], mode="lines", line=dict(color="black", dash="dash"), name="c*"), 1, 2)
        for i, q0 in enumerate(Q0):
            add(f"q_pred_{i}", go.Scatter(x=[], y=[], mode="lines", line=dict(color=COLORS[i]),
                                          name=f"q⁰ = {q0}", legendgroup="q"), 2, 1)
            add(f"q_meas_{i}", go.Scatter(x=[], y=[], mode="markers", marker=dict(color=COLORS[i], size=6),
                                          showlegend=False, legendgroup="q"), 2, 1)
        add("q_star", go.Scatter(x=[], y=[], mode="lines", line=dict(color="black", dash="dot"), name="q*"), 2, 1)
        add("train", go.Heatmap(x=[], y=[], z=[], coloraxis="coloraxis3", hovertemplate=(
            "σ_w² %{x:.2f}<br>depth %{y}<br>accuracy %{z:.2f}<extra></extra>")), 2, 2)
        add("six_xi", go.Scatter(x=[], y=[], mode="lines", line=dict(color="#00e5ff", width=3, dash="dash"),
                                 name="6 ξ_c"), 2, 2)
        fig.update_layout(
            height=FIGURE_HEIGHT, margin=MARGIN, template="plotly_white",
            coloraxis=dict(colorscale="Viridis", cmin=0, cmax=3, colorbar=dict(
                title="ξ_c", **ticks)),
            coloraxis2=dict(colorscale=[[0, "black"], [1, "white"]], cmin=0, cmax=1, showscale=False),
            coloraxis3=dict(colorscale="Magma", cmin=0, cmax=1, colorbar=dict(
                title="accuracy")),
        )
        fig.update_xaxes(title_text="σ_w²", row=1, col=1)
        fig.update_yaxes(title_text="σ_b²", row=1, col=1)
        fig.update_xaxes(title_text="layer l", row=1, col=2)
        fig.update_yaxes(title_text="c^l", range=[-0.05, 1.05], row=1, col=2)
        fig.update_xaxes(title_text="layer l", row=2, col=1)
        fig.update_yaxes(title_text="q^l", type="log", row=2, col=1)
        fig.update_xaxes(title_text="σ_w²", row=2, col=2)
        fig.update_yaxes(title_text="depth (hidden layers)", row=2, col=2)
        # Each panel has a legend of its own, under its x-axis title: one legend for all four ran together
        # in one row over the lower panels. The phase diagram's is a column: its long entry would reach into
        # the next panel's legend on a narrow page. The right panels' legends end at the right edge (a legend
        # that passed it would widen the figure's margin and squeeze the panels).
        below = LEGEND_BELOW / (FIGURE_HEIGHT - MARGIN["t"] - MARGIN["b"])  # in fractions of the panels' height
        for axis, orientation, side in (("x", "v", "left"), ("x2", "h", "right"), ("x3", "h", "left"),
                                        ("x4", "h", "right")):
            legend = "legend" + axis[1:]  # the traces on axes x, x2, ... go in legend, legend2, ...
            fig.update_traces(legend=legend, selector=dict(xaxis=axis))
            x_domain, y_domain = fig.layout["xaxis" + axis[1:]].domain, fig.layout["yaxis" + axis[1:]].domain
            fig.update_layout({legend: dict(orientation=orientation, x=x_domain[0 if side == "left" else 1],
                                            xanchor=side, y=y_domain[0] - below, yanchor="top", font=dict(size=11),
                                            traceorder="normal")})  # grouped, a row would stack into columns
        # Each colour bar beside its panel (not over its right edge) and as tall as it.
        for coloraxis, axis in (("coloraxis", ""), ("coloraxis3", "4")):
            x_domain, y_domain = fig.layout["xaxis" + axis].domain, fig.layout["yaxis" + axis].domain
            fig.layout[coloraxis].colorbar.update(x=x_domain[1] + 0.01, xanchor="left", thickness=15,
                                                  y=(y_domain[0] + y_domain[1]) / 2, len=y_domain[1] - y_domain[0])
        return fig

    def set(self, name: str, **values) -> None:
        trace = self.figure.trace(name)
        for name, value in values.items():
            setattr(trace, name, value)

    # -- computing ----------------------------------------------------------------------------

    def config(self) -> sweep.TrainabilityConfig:
        """The trainability map's configuration for the current activation and sigma_b^2."""
        from dataclasses import replace

        return replace(self.base_config, activation=self.activation.value, sigma_b2=float(self.sigma_b2.value))

    def update(self, maps_only: bool = False) -> None:
        """Recompute the panels from the controls; an error becomes a message, never a traceback."""
        began = time.perf_counter()
        try:
            with self.figure.batch_update():
                if not maps_only:
                    self.draw_phase_diagram()
                    self.draw_trainability(sweep.cached_trainability_map(self.config(), self.cache_dir))
                self.draw_maps()
            self.message.value = ""
        except (ValueError, TypeError) as error:
            self.show_message(str(error))
        self.status.value = html.escape(
            f"Phase diagram: mean-field theory by Gauss-Hermite quadrature. Markers: one random network of width "
            f"{MEASURE_WIDTH} per point. Computed in {time.perf_counter() - began:.1f} s."
        )

    def diagram(self) -> theory.PhaseDiagram:
        activation = self.activation.value
        if activation not in self.diagrams:
            self.diagrams[activation] = theory.phase_diagram(GRID_SIGMA_W2, GRID_SIGMA_B2, activation)
        return self.diagrams[activation]

    def draw_phase_diagram(self) -> None:
        d = self.diagram()
        activation, sb, depth = self.activation.value, float(self.sigma_b2.value), self.depth.value
        # Where the length has no fixed point (ReLU above the edge: it grows without bound) xi_c means nothing.
        xi = np.where(np.isfinite(d.q_star), np.minimum(d.xi_c, XI_CAP), np.nan)
        self.set("xi", x=d.sigma_w2, y=d.sigma_b2, z=np.log10(np.maximum(xi, 1.0)).round(3))
        finite = np.isfinite(d.critical_sigma_w2)
        self.set("edge", x=d.critical_sigma_w2[finite], y=d.sigma_b2[finite])
        measured, predicted = [], []
        for sw in MEASURED_SIGMA_W2:
            m = theory.measure_correlations(sw, sb, activation, depth=depth, width=MEASURE_WIDTH, c0=(MEASURE_C0,),
                                            models=1)
            measured.append(float(m.c[0, -1, 0]))
            predicted.append(float(theory.propagate_correlation(1.0, MEASURE_C0, depth, sw, sb, activation)[1][-1]))
        self.figure.trace("measured").marker.color = measured
        self.set("measured", x=list(MEASURED_SIGMA_W2), y=[sb] * len(MEASURED_SIGMA_W2),
                 text=[f"σ_w² {sw}: c after {depth} layers measured {m:.3f}, predicted {p:.3f}"
                       for sw, m, p in zip(MEASURED_SIGMA_W2, measured, predicted, strict=True)])
        self.measured = np.array(measured)
        self.predicted = np.array(predicted)

    def draw_maps(self) -> None:
        activation, sb, sw, depth = self.activation.value, float(self.sigma_b2.value), float(self.sigma_w2.value), \
            self.depth.value
        self.set("here", x=[sw], y=[sb])
        layers = np.arange(1, depth + 1)
        _, c_pred = theory.propagate_correlation(1.0, C0, depth, sw, sb, activation)
        c_meas = theory.measure_correlations(sw, sb, activation, depth=depth, width=MEASURE_WIDTH, c0=C0, models=1)
        for i in range(len(C0)):
            self.set(f"c_pred_{i}", x=layers, y=c_pred[:, i])
            self.set(f"c_meas_{i}", x=layers, y=c_meas.c[0, :, i])
        m = theory.mean_field(sw, sb, activation)
        self.set("c_star", x=[0, depth], y=[float(m.c_star)] * 2)
        for i, q0 in enumerate(Q0):
            q_pred, _ = theory.propagate_correlation(q0, (0.5,), depth, sw, sb, activation)
            q_meas = theory.measure_correlations(sw, sb, activation, depth=depth, width=MEASURE_WIDTH, c0=(0.5,),
                                                 q0=q0, models=1)
            self.set(f"q_pred_{i}", x=layers, y=q_pred)
            self.set(f"q_meas_{i}", x=layers, y=q_meas.q[0])
        q_star = float(m.q_star)
        self.set("q_star", x=[0, depth] if np.isfinite(q_star) and q_star > 0 else [],
                 y=[q_star] * 2 if np.isfinite(q_star) and q_star > 0 else [])
        self.summary = m

    def draw_trainability(self, result: sweep.TrainabilityMap | None) -> None:
        """The map if there is one (else an empty panel), and the 6 xi_c line for the current settings."""
        config = self.config()
        self.map = result
        sw, line = sweep.xi_c_line(config)
        deepest = max(config.depths)
        shown = np.where(np.isfinite(line), np.minimum(line, 2 * deepest), 2 * deepest)
        self.set("six_xi", x=sw, y=shown)
        self.figure.update_yaxes(range=[0, deepest * 1.1], row=2, col=2)
        if result is None:
            self.set("train", x=[], y=[], z=[])
            self.map_status.value = html.escape(
                f"Not computed yet for {ACTIVATIONS[config.activation]}, σ_b² = {config.sigma_b2:.2f}: "
                f"{len(config.depths) * len(config.sigma_w2)} networks to train.")
            self.progress.value = 0
            return
        self.set("train", x=list(config.sigma_w2), y=list(config.depths), z=np.round(result.accuracy, 3))
        where = "read from the cache" if result.from_cache else "computed"
        self.map_status.value = html.escape(
            f"{where}: {result.accuracy.size} networks, {config.steps} steps each (first computed in "
            f"{result.seconds:.0f} s). Blank cells diverged.")
        self.progress.max = result.accuracy.size
        self.progress.value = result.accuracy.size

    def compute_map(self) -> None:
        """Train the map for the current settings (or read it back), with the progress bar moving."""
        config = self.config()
        total = len(config.depths) * len(config.sigma_w2)
        self.compute_button.disabled = True
        self.message.value = html.escape(
            f"Training {total} networks ({len(config.depths)} depths x {len(config.sigma_w2)} values of σ_w², "
            f"{config.steps} steps each). This takes a minute or so; the page waits until it ends."
            + (f" {self.spread_note}" if self.spread_note else ""))

        def progress(done: int, all_runs: int) -> None:
            self.progress.max = all_runs
            self.progress.value = done
            self.progress.description = f"{done}/{all_runs}"

        try:
            result = sweep.trainability_map(config, progress=progress, n_jobs=self.n_jobs, client=self.client,
                                            directory=self.cache_dir)
            with self.figure.batch_update():
                self.draw_trainability(result)
            self.message.value = html.escape(self.spread_note)  # natively ""
        except (ValueError, TypeError, OSError) as error:
            self.show_message(f"The trainability map could not be computed: {error}")
        finally:
            self.compute_button.disabled = False

    def show_message(self, text: str) -> None:
        self.message.value = f'<span class="explorer-error" style="color:#b00020">&#9888; {html.escape(text)}</span>'
