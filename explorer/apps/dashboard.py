"""The dashboard: every demo in a tab of one page, for Voila.

Each demo is built the first time its tab is opened. That keeps the first page load quick, gives each
figure its real size (a plotly graph drawn inside a hidden tab can come out the wrong size), and spaces
out the start of the page's FigureWidgets (several starting at once can leave one frozen in Voila:
trap 10 of JUPYTER-STACK.md).

Leaving a tab pauses its demo: a run nobody watches would only take the machine's time from the one
on screen (and redraw a figure the browser cannot size while it is hidden).

Figures are fitted to the page width once the browser has drawn them, and again when their tab is shown.
A plotly FigureWidget (anywidget) measures its width only when it first draws, and in a tab opened
later it may draw before it is on the page: it then keeps plotly's default 700 px. Nothing in the
browser resizes it afterwards, so the dashboard asks for a relayout with `autosize` itself.

On a narrow page (below FIGURE_MIN_WIDTH) a figure keeps that width and scrolls sideways in its own strip,
rather than squeezing its panels into overlapping titles; the controls above it wrap as usual.

    from explorer.apps.dashboard import Dashboard
    Dashboard().widget
"""

from __future__ import annotations

import html
import importlib

import ipywidgets as widgets
from plotly.basewidget import BaseFigureWidget

# (tab title, module under explorer.apps, class name)
DEMOS = (
    ("Why initialization matters", "three_layer", "ThreeLayerApp"),
    ("Exploding and vanishing", "nine_layer", "NineLayerApp"),
    ("Per-layer histograms", "histograms", "HistogramsApp"),
    ("Digits: four starts", "digits_mlp", "DigitsMLPApp"),
    ("Why Xavier works", "variance", "VarianceApp"),
)

FIGURE_MIN_WIDTH = "1000px"

# Wider tab labels than ipywidgets' fixed 144 px, so that titles are not cut; they still shrink on a narrow page.
STYLE = """<style>
.jupyter-widgets.jupyter-widget-tab.explorer-tabs > .lm-TabBar .lm-TabBar-tab { flex: 0 1 auto; }
</style>"""


class Dashboard:
    """Tabs of demos, each built on first view."""

    def __init__(self, demos=DEMOS, first: int = 0) -> None:
        self.demos = list(demos)
        self.apps: dict[int, object] = {}
        self.errors: dict[int, str] = {}  # tab index -> why its demo could not start
        self.tabs = widgets.Tab(children=[self._placeholder(title) for title, _, _ in self.demos],
                                titles=[title for title, _, _ in self.demos])
        self.tabs.add_class("explorer-tabs")
        self.tabs.selected_index = first
        self.open(first)
        self.tabs.observe(self._on_select, names="selected_index")
        style = widgets.HTML(STYLE, layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([style, self.tabs], layout=widgets.Layout(width="100%"))

    def open(self, index: int) -> object | None:
        """Build the demo of tab `index` if it is not built yet; return its app (None if it failed)."""
        if index in self.apps:
            return self.apps[index]
        title, module, name = self.demos[index]
        try:
            app = getattr(importlib.import_module(f"explorer.apps.{module}"), name)()
            content = app.widget
            scroll_figures(content)
        except Exception as error:  # a demo that cannot start says why; the others still work
            app = None
            self.errors[index] = f"{type(error).__name__}: {error}"
            content = widgets.HTML(
                f'<p class="explorer-error" style="color:#b00020">&#9888; The demo "{html.escape(title)}" '
                f"could not start: {html.escape(self.errors[index])}</p>"
            )
        self.apps[index] = app
        for figure in figures(app):
            fit_when_drawn(figure)
        children = list(self.tabs.children)
        children[index] = content
        self.tabs.children = children
        return app

    def pause_others(self, index: int) -> None:
        """Pause every demo but the one in tab `index`."""
        for i, app in self.apps.items():
            if i != index and app is not None and getattr(app, "running", False):
                app.stop()

    def _on_select(self, change) -> None:
        index = change["new"]
        if index is None:
            return
        self.pause_others(index)
        if index in self.apps:  # shown again: the page may have changed width while it was hidden
            for figure in figures(self.apps[index]):
                fit(figure)
        else:
            self.open(index)

    @staticmethod
    def _placeholder(title: str) -> widgets.Widget:
        return widgets.HTML(f"<p>Loading {html.escape(title)}&hellip;</p>")


def figures(app) -> list[BaseFigureWidget]:
    """The plotly FigureWidgets an app shows (its attributes)."""
    return [value for value in vars(app).values() if isinstance(value, BaseFigureWidget)] if app else []


def fit(figure: BaseFigureWidget) -> None:
    """Have the browser fit the figure to the width of its place on the page (a Plotly.relayout with
    autosize, what plotly's own resize does). Needs plotly's private _send_relayout_msg: the public
    plotly_relayout sends nothing when autosize is already true."""
    figure._send_relayout_msg({"autosize": True})


def fit_when_drawn(figure: BaseFigureWidget) -> None:
    """Fit the figure once, as soon as a browser reports that it has drawn it. A view reports each draw
    with `_js2py_traceDeltas`; the first one comes when the figure is first drawn, which in a new tab can be
    before the figure is on the page. By the time the relayout comes back from the kernel, it is."""

    def drawn(change) -> None:
        if change["new"]:
            figure.unobserve(drawn, names="_js2py_traceDeltas")
            fit(figure)

    figure.observe(drawn, names="_js2py_traceDeltas")


def scroll_figures(box: widgets.Widget) -> None:
    """Put every FigureWidget inside `box` (at any depth) in a strip at least FIGURE_MIN_WIDTH wide that
    scrolls sideways when the page is narrower."""
    if not isinstance(box, widgets.Box):
        return
    children = list(box.children)
    for i, child in enumerate(children):
        if isinstance(child, BaseFigureWidget):
            inner = widgets.VBox([child], layout=widgets.Layout(width="100%", min_width=FIGURE_MIN_WIDTH))
            children[i] = widgets.Box([inner], layout=widgets.Layout(width="100%", overflow="auto"))
            children[i].add_class("explorer-figure-strip")
        else:
            scroll_figures(child)
    box.children = children
