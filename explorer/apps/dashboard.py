"""The dashboard: every demo in a tab of one page, for Voila.

Each demo is built the first time its tab is opened. That keeps the first page load quick, gives each
figure its real size (a plotly graph drawn inside a hidden tab can come out the wrong size), and spaces
out the start of the page's FigureWidgets (several starting at once can leave one frozen in Voila:
with anywidget 0.9.17 and later each widget model has 2 s to start in the browser, and a figure that misses it
draws its first state and then ignores every update).

Leaving a tab pauses its demo: a run nobody watches would only take the machine's time from the one
on screen (and redraw a figure the browser cannot size while it is hidden).

Figures are fitted to the page width once the browser has drawn them, and again when their tab is shown.
A plotly FigureWidget (anywidget) measures its width only when it first draws, and in a tab opened
later it may draw before it is on the page: it then keeps plotly's default 700 px. Nothing in the
browser resizes it afterwards, so the dashboard asks for a relayout with `autosize` itself. When the
window changes width, each demo's own FitOnResize (explorer.apps.resize) fits the figures on screen.

On a narrow page (below FIGURE_MIN_WIDTH) a figure keeps that width and scrolls sideways in its own strip,
rather than squeezing its panels into overlapping titles; the controls above it wrap as usual.

Each demo gets export buttons under it (CSV, JSON, PNG, HTML: explorer.apps.export_controls).

A kernel from Voila's pool of pre-warmed kernels (voila.json) builds the first tab before any page asks for
it, then waits for its page's request to read the link's settings (explorer.apps.voila); if the link names
another tab, the first one is closed again, so that the page starts with one figure as usual.

Shareable settings: the page's link can choose the tab and set its controls, e.g.
`?demo=three-layer&init=zero&seed=3` (explorer.share parses it; in Voila the kernel finds the query in the
environment variable QUERY_STRING). A key is one that the demo declares in its `settings()` (see
explorer.apps.settings), a value one its control accepts; anything else is reported above the tabs. The link
for the current settings is shown under the tabs and follows every change of tab or control.

In a browser page (voici: the kernel is Pyodide in the page's Web Worker, explorer.runtime) every demo builds
as it does in Voila: each needs only what the page starts with (numpy, ipywidgets, plotly; the 8x8 digits ship
with the package). What differs is the link: no query comes with the kernel, so a hidden PageQuery widget
reports the page's own query and address, which the dashboard applies as it applies Voila's (tab, controls,
problems) and uses as the share link's base.

    from explorer.apps.dashboard import Dashboard
    Dashboard().widget
"""

from __future__ import annotations

import html
import importlib
from typing import Any

import ipywidgets as widgets
from plotly.basewidget import BaseFigureWidget

from explorer import runtime, share
from explorer.apps import voila
from explorer.apps.export_controls import ExportControls
from explorer.apps.figure import SITE_PLOTLY_JS, load_plotly_js_from
from explorer.apps.page_query import PageQuery
from explorer.apps.resize import figures, fit
from explorer.apps.settings import settings

# (tab title, module under explorer.apps, class name)
DEMOS = (
    ("Why initialization matters", "three_layer", "ThreeLayerApp"),
    ("Exploding and vanishing", "nine_layer", "NineLayerApp"),
    ("Per-layer histograms", "histograms", "HistogramsApp"),
    ("Digits: four starts", "digits_mlp", "DigitsMLPApp"),
    ("Why Xavier works", "variance", "VarianceApp"),
    ("Initializer zoo", "zoo", "ZooApp"),
    ("The edge of chaos", "edge_of_chaos", "EdgeOfChaosApp"),
    ("Residual networks", "residual", "ResidualApp"),
    ("Dynamical isometry", "isometry", "IsometryApp"),
    ("Width transfer: μP", "mup", "WidthTransferApp"),
)

FIGURE_MIN_WIDTH = "1000px"

# Wider tab labels than ipywidgets' fixed 144 px, so that titles are not cut; they still shrink on a narrow page.
STYLE = """<style>
.jupyter-widgets.jupyter-widget-tab.explorer-tabs > .lm-TabBar .lm-TabBar-tab { flex: 0 1 auto; }
</style>"""


class Dashboard:
    """Tabs of demos, each built on first view; settings from the link's query, and export buttons.

    query: the settings to start from, e.g. "demo=nine-layer&alpha=1.5" (None: the page's query that Voila
        gives the kernel, if any; a kernel from Voila's pool builds the first tab, then waits for its page).
        `first` is the tab shown when the query names no demo.
    export: put export buttons (CSV, JSON, PNG, HTML) under every demo that has a figure.
    """

    def __init__(self, demos=DEMOS, first: int = 0, query: str | None = None, export: bool = True) -> None:
        self.demos = list(demos)
        self.export = export
        self.apps: dict[int, object] = {}
        self.errors: dict[int, str] = {}  # tab index -> why its demo could not start
        self.defaults: dict[int, dict[str, Any]] = {}  # tab index -> its controls' values as built
        self.notice = widgets.HTML(value="")  # what was wrong with the link's settings
        self.link = widgets.HTML(value="")  # the link to the current settings

        self.tabs = widgets.Tab(children=[self._placeholder(title) for title, _, _ in self.demos],
                                titles=[title for title, _, _ in self.demos])
        self.tabs.add_class("explorer-tabs")
        self.page: PageQuery | None = None  # in a browser page: reports the page's address (see follow_page)
        self.page_url = ""  # the page's address without its query, once reported: the share link's base
        self.style = widgets.HTML(STYLE, layout=widgets.Layout(display="none"))
        self.widget = widgets.VBox([self.style], layout=widgets.Layout(width="100%"))
        if query is None:
            if voila.prewarmed():  # build the first tab while the kernel waits in Voila's pool for its page
                self.open(first)
            query = voila.request_query()
            if runtime.IN_BROWSER:  # voici: no query comes with the kernel; the page will report its own
                # The tabs are built and shown once it has: a Tab shown before would send the page's selection
                # (its first tab) back to the kernel after the link's, and undo it.
                self.page = PageQuery(layout=widgets.Layout(display="none"))
                self.page.observe(lambda _: self.follow_page(first), names="page_url")
                self.widget.children = [self.style, widgets.HTML("<p>Starting the dashboard&hellip;</p>"), self.page]
                return
        self.begin(first, *self.parse(query))

    def begin(self, first: int, index: int | None, params: dict[str, str], problems: list[str]) -> None:
        """Show the tab a link names (`index`; None: `first`), set from its settings, and the rest of the page."""
        if index is not None and index != first and first in self.apps:
            self.close(first)  # built for nothing: the link names another tab, whose figure starts alone
        first = first if index is None else index
        self.tabs.selected_index = first
        self.start(first, params, problems)
        self.tabs.observe(self._on_select, names="selected_index")
        page = [self.page] if self.page is not None else []
        self.widget.children = [self.style, self.notice, self.tabs, self.link, *page]

    def parse(self, query: str) -> tuple[int | None, dict[str, str], list[str]]:
        """A link's query read: the tab it names (None: none named), its other settings, and the problems found."""
        params, problems = share.parse_query(query)
        index, more = share.choose_demo(params.pop("demo", None), [module for _, module, _ in self.demos])
        return index, params, problems + more

    def follow_page(self, first: int) -> None:
        """The page has reported its address (self.page, in a browser page): apply its query as Voila's is applied
        at the start (choose the tab, set its controls, list what was wrong), and base the share link on it."""
        if self.page_url:
            return  # reported once: the page's query is the link it was opened with
        self.page_url = self.page.page_url
        if self.page.site_url:  # a page of the static site: plotly's widget JavaScript is one of its files
            load_plotly_js_from(self.page.site_url + SITE_PLOTLY_JS)
        index, params, problems = self.parse(self.page.query)
        params.pop("path", None)  # JupyterLite's own: the notebook its page opens (voici's pages have none)
        self.begin(first, index, params, problems)

    def start(self, index: int, params: dict[str, str], problems: list[str]) -> None:
        """Open tab `index` and set its controls from a link's settings, then show the problems found (those of
        the link, `problems`, and those of its settings)."""
        self.open(index)
        self.show_problems(problems + self.apply(index, params))
        self.update_link()

    def open(self, index: int) -> object | None:
        """Build the demo of tab `index` if it is not built yet; return its app (None if it failed)."""
        if index in self.apps:
            return self.apps[index]
        _, module, name = self.demos[index]
        try:
            app = getattr(importlib.import_module(f"explorer.apps.{module}"), name)()
            content = app.widget
            scroll_figures(content)
        except Exception as error:  # a demo that cannot start says why; the others still work
            app = None
            self.errors[index] = f"{type(error).__name__}: {error}"
            content = self._error(index)
        self.apps[index] = app
        for figure in figures(app):
            fit_when_drawn(figure)
        if app is not None:
            controls = shareable(app)
            self.defaults[index] = {key: widget.value for key, (widget, _) in controls.items()}
            for widget, _ in controls.values():
                widget.observe(lambda _: self.update_link(), names="value")
            if self.export and getattr(app, "figure", None) is not None and not has_export_row(content):
                content = widgets.VBox([content, ExportControls(app, name=module).widget],
                                       layout=widgets.Layout(width="100%"))
                content.add_class("explorer-export-wrapper")
        self._show(index, content)
        return app

    def _error(self, index: int) -> widgets.HTML:
        """What tab `index` shows when its demo could not start: why (self.errors[index])."""
        return widgets.HTML(f'<p class="explorer-error" style="color:#b00020">&#9888; The demo '
                            f'"{html.escape(self.demos[index][0])}" could not start: '
                            f"{html.escape(self.errors[index])}</p>")

    def _show(self, index: int, content: widgets.Widget) -> None:
        children = list(self.tabs.children)
        children[index] = content
        self.tabs.children = children

    def close(self, index: int) -> None:
        """Undo open(index): close every widget of the demo in tab `index` (in the browser too) and show the
        tab's placeholder again; the demo is built anew when the tab is opened."""
        app = self.apps.pop(index, None)
        self.defaults.pop(index, None)
        self.errors.pop(index, None)
        for widget in [*vars(app).values(), self.tabs.children[index]] if app is not None else []:
            close_all(widget)
        self._show(index, self._placeholder(self.demos[index][0]))

    # -- shareable settings -------------------------------------------------------------------

    def apply(self, index: int, params: dict[str, str]) -> list[str]:
        """Set the controls of tab `index` from a link's settings; return the problems found (never raises)."""
        if not params:
            return []
        title = self.demos[index][0]
        app = self.apps.get(index)
        if app is None:
            return [f"the settings were not applied: the demo \"{title}\" could not start"]
        controls = shareable(app)
        problems = []
        for key in [key for key in controls if key in params] + [key for key in params if key not in controls]:
            if key not in controls:
                problems.append(f"{share.shown(key)} is not a setting of \"{title}\"; "
                                f"valid: {', '.join(['demo', *controls])}")
                continue
            widget, control = controls[key]
            try:
                widget.value = share.coerce(key, params[key], control)
            except Exception as error:  # a value the control refuses, or an app that fails on it
                problems.append(str(error))
        return problems

    def show_problems(self, problems: list[str]) -> None:
        if not problems:
            self.notice.value = ""
            return
        items = "".join(f"<li>{html.escape(problem)}</li>" for problem in problems)
        self.notice.value = (f'<div class="explorer-share-notice" style="color:#8a5300">&#9888; Some settings '
                             f"in the link were not used:<ul style=\"margin:2px 0\">{items}</ul></div>")

    def current_query(self) -> str:
        """The relative link "?demo=..." to the tab shown, with every control that differs from its start."""
        index = self.tabs.selected_index or 0
        app = self.apps.get(index)
        defaults = self.defaults.get(index, {})
        values = {}
        if app is not None:
            for key, (widget, _) in shareable(app).items():
                if key in defaults and widget.value != defaults[key]:
                    values[key] = widget.value
        return share.make_query(share.slug(self.demos[index][1]), values)

    def update_link(self) -> None:
        query = html.escape(self.page_url + self.current_query(), quote=True)  # the page's own address, if known
        self.link.value = (f'<small class="explorer-share-link">Link to these settings: '
                           f'<a href="{query}" target="_blank">{query}</a></small>')

    # -- tabs -----------------------------------------------------------------------------------

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
        self.update_link()

    @staticmethod
    def _placeholder(title: str) -> widgets.Widget:
        return widgets.HTML(f"<p>Loading {html.escape(title)}&hellip;</p>")


def control_spec(widget: widgets.Widget) -> share.Control | None:
    """What a link may set this control to (None: a control links do not set, e.g. free text)."""
    if isinstance(widget, (widgets.Dropdown, widgets.ToggleButtons, widgets.RadioButtons)):
        values = [option[1] if isinstance(option, tuple) else option for option in widget.options]
        return share.Control("choice", tuple(values)) if all(isinstance(v, str) for v in values) else None
    if isinstance(widget, widgets.Checkbox):
        return share.Control("bool")
    if isinstance(widget, widgets.FloatLogSlider):
        return share.Control("float", low=widget.base**widget.min, high=widget.base**widget.max)
    if isinstance(widget, (widgets.IntSlider, widgets.BoundedIntText)):
        return share.Control("int", low=widget.min, high=widget.max)
    if isinstance(widget, (widgets.FloatSlider, widgets.BoundedFloatText)):
        return share.Control("float", low=widget.min, high=widget.max)
    if isinstance(widget, widgets.IntText):
        return share.Control("int")
    if isinstance(widget, widgets.FloatText):
        return share.Control("float")
    return None


def shareable(app) -> dict[str, tuple[widgets.Widget, share.Control]]:
    """An app's controls that a link can set, by the keys of its `settings()`, in the order it declares them."""
    found = {}
    for key, widget in settings(app).items():
        spec = control_spec(widget)
        if spec is not None:
            found[key] = (widget, spec)
    return found


def close_all(widget) -> None:
    """Close `widget` and, if it is a box, everything in it (anything else is left alone)."""
    if isinstance(widget, widgets.Box):
        for child in widget.children:
            close_all(child)
    if isinstance(widget, widgets.Widget):
        widget.close()


def has_export_row(widget: widgets.Widget) -> bool:
    """Whether `widget` already holds export buttons (an app that shows its own ExportControls)."""
    if "explorer-export" in getattr(widget, "_dom_classes", ()):
        return True
    return isinstance(widget, widgets.Box) and any(has_export_row(child) for child in widget.children)


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
