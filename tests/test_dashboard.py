"""The dashboard without a browser: which demos it builds when, what a broken demo shows, and that every
demo it lists builds."""

import sys
import types

import ipywidgets as widgets
import plotly.graph_objects as go
import pytest

from explorer.apps import dashboard
from explorer.apps.dashboard import DEMOS, Dashboard

FAKE = "explorer.apps._fake_demos"


class FakeApp:
    """A demo as the dashboard sees it: a widget, a figure, and running / stop()."""

    built = 0

    def __init__(self) -> None:
        FakeApp.built += 1
        self.figure = go.FigureWidget(go.Scatter(y=[1, 2]))
        self.widget = widgets.VBox([self.figure])
        self.running = False
        self.stops = 0

    def stop(self) -> None:
        self.running = False
        self.stops += 1


class BrokenApp:
    def __init__(self) -> None:
        raise RuntimeError("no data <here>")


@pytest.fixture
def fakes(monkeypatch):
    """Three demos from a stand-in module: two that build and, in the middle, one that raises."""
    module = types.ModuleType(FAKE)
    module.FakeApp, module.BrokenApp = FakeApp, BrokenApp
    monkeypatch.setitem(sys.modules, FAKE, module)
    FakeApp.built = 0
    name = FAKE.rsplit(".", 1)[1]
    return [("First", name, "FakeApp"), ("Broken", name, "BrokenApp"), ("Third", name, "FakeApp")]


def content(board, index):
    return board.tabs.children[index]


def test_only_the_first_tab_is_built_until_another_is_selected(fakes):
    board = Dashboard(fakes)
    assert board.tabs.titles == ("First", "Broken", "Third")
    assert board.tabs.selected_index == 0
    assert FakeApp.built == 1 and list(board.apps) == [0]
    assert content(board, 0) is board.apps[0].widget
    assert "Loading Third" in content(board, 2).value

    board.tabs.selected_index = 2
    assert FakeApp.built == 2 and sorted(board.apps) == [0, 2]
    assert content(board, 2) is board.apps[2].widget
    assert board.tabs.titles == ("First", "Broken", "Third")  # titles survive the new children

    board.tabs.selected_index = 0
    board.tabs.selected_index = 2
    assert FakeApp.built == 2  # each demo is built once


def test_a_demo_that_cannot_start_says_why_and_the_others_still_work(fakes):
    board = Dashboard(fakes)
    board.tabs.selected_index = 1
    assert board.apps[1] is None
    shown = content(board, 1)
    assert isinstance(shown, widgets.HTML)
    assert 'class="explorer-error"' in shown.value
    assert "Broken" in shown.value and "RuntimeError: no data &lt;here&gt;" in shown.value  # escaped
    assert "RuntimeError" in board.errors[1]

    board.tabs.selected_index = 2
    assert isinstance(board.apps[2], FakeApp)
    assert content(board, 2) is board.apps[2].widget


def test_a_demo_that_fails_as_the_first_tab_leaves_the_dashboard_usable(fakes):
    board = Dashboard(fakes, first=1)
    assert board.apps == {1: None}
    board.tabs.selected_index = 0
    assert isinstance(board.apps[0], FakeApp)


def test_leaving_a_tab_pauses_its_demo(fakes):
    board = Dashboard(fakes)
    first = board.apps[0]
    first.running = True
    board.tabs.selected_index = 2
    assert first.stops == 1 and not first.running
    board.apps[2].running = True
    board.tabs.selected_index = 1  # the broken tab has no app: nothing to pause there
    assert board.apps[2].stops == 1


def test_a_figure_is_fitted_to_the_page_once_drawn_and_when_its_tab_is_shown_again(fakes):
    board = Dashboard(fakes)
    figure = board.apps[0].figure
    relayouts = []
    figure.observe(lambda change: change["new"] and relayouts.append(change["new"]), names="_py2js_relayout")

    # The browser reports its first draw (the trace_edit_id of the figure as made) ...
    figure._js2py_traceDeltas = {"trace_deltas": [], "trace_edit_id": figure._last_trace_edit_id}
    assert [r["relayout_data"] for r in relayouts] == [{"autosize": True}]
    # ... and every later redraw: only the first one asks for a fit.
    figure._js2py_traceDeltas = {"trace_deltas": [], "trace_edit_id": figure._last_trace_edit_id}
    assert len(relayouts) == 1

    board.tabs.selected_index = 2
    board.tabs.selected_index = 0  # shown again: fitted again
    assert len(relayouts) == 2


def test_a_figure_keeps_a_minimum_width_in_a_strip_that_scrolls_sideways(fakes):
    board = Dashboard(fakes)
    app = board.apps[0]
    (strip,) = app.widget.children
    (inner,) = strip.children
    assert inner.children == (app.figure,)
    assert inner.layout.min_width == dashboard.FIGURE_MIN_WIDTH
    assert strip.layout.overflow == "auto"


def test_the_page_style_widens_the_tab_labels():
    assert "lm-TabBar-tab" in dashboard.STYLE and "explorer-tabs" in dashboard.STYLE


@pytest.fixture(scope="module")
def every_demo():
    """The real dashboard with every tab opened once (each demo built once for the module)."""
    board = Dashboard()
    for index in range(len(DEMOS)):
        board.tabs.selected_index = index
    return board


@pytest.mark.parametrize("index", range(len(DEMOS)), ids=[module for _, module, _ in DEMOS])
def test_every_listed_demo_imports_and_builds(every_demo, index):
    title, module, name = DEMOS[index]
    app = every_demo.apps[index]
    assert index not in every_demo.errors, every_demo.errors.get(index)
    assert type(app).__name__ == name and type(app).__module__ == f"explorer.apps.{module}"
    assert every_demo.tabs.children[index] is app.widget
    assert every_demo.tabs.titles[index] == title
    assert dashboard.figures(app), f"{name} shows no FigureWidget"
    assert not getattr(app, "running", False)  # building a demo never starts training


def test_the_dashboard_lists_each_demo_once():
    modules = [module for _, module, _ in DEMOS]
    titles = [title for title, _, _ in DEMOS]
    assert len(set(modules)) == len(modules) and len(set(titles)) == len(titles)
