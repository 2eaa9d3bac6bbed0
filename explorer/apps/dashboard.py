"""The dashboard: every demo in a tab of one page, for Voila.

Each demo is built the first time its tab is opened. That keeps the first page load quick, gives each
figure its real size (a plotly graph drawn inside a hidden tab can come out the wrong size), and spaces
out the start of the page's FigureWidgets (several starting at once can leave one frozen in Voila:
trap 10 of JUPYTER-STACK.md).
"""

from __future__ import annotations

import html
import importlib

import ipywidgets as widgets

# (tab title, module under explorer.apps, class name)
DEMOS = (
    ("Why initialization matters", "three_layer", "ThreeLayerApp"),
    ("Exploding and vanishing", "nine_layer", "NineLayerApp"),
    ("Per-layer histograms", "histograms", "HistogramsApp"),
)


class Dashboard:
    """Tabs of demos, each built on first view."""

    def __init__(self, demos=DEMOS, first: int = 0) -> None:
        self.demos = list(demos)
        self.apps: dict[int, object] = {}
        self.tabs = widgets.Tab(children=[self._placeholder(title) for title, _, _ in self.demos])
        for i, (title, _, _) in enumerate(self.demos):
            self.tabs.set_title(i, title)
        self.tabs.observe(self._on_select, names="selected_index")
        self.tabs.selected_index = first
        self.open(first)
        self.widget = widgets.VBox([self.tabs])

    def open(self, index: int) -> object | None:
        """Build the demo of tab `index` if it is not built yet; return its app."""
        if index in self.apps:
            return self.apps[index]
        title, module, name = self.demos[index]
        try:
            app = getattr(importlib.import_module(f"explorer.apps.{module}"), name)()
            content = app.widget
        except Exception as error:  # a demo that cannot start says why; the others still work
            app = None
            content = widgets.HTML(
                f'<p class="explorer-error" style="color:#b00020">&#9888; The demo "{html.escape(title)}" '
                f"could not start: {html.escape(type(error).__name__)}: {html.escape(str(error))}</p>"
            )
        self.apps[index] = app
        children = list(self.tabs.children)
        children[index] = content
        self.tabs.children = children
        return app

    def _on_select(self, change) -> None:
        if change["new"] is not None:
            self.open(change["new"])

    @staticmethod
    def _placeholder(title: str) -> widgets.Widget:
        return widgets.HTML(f"<p>Loading {html.escape(title)}&hellip;</p>")
