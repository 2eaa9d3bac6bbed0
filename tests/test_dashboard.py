"""The dashboard without a browser: which demos it builds when, what a broken demo shows, and that every
demo it lists builds."""

import html
import sys
import types

import ipywidgets as widgets
import plotly.graph_objects as go
import pytest

from explorer.apps import dashboard
from explorer.apps.dashboard import DEMOS, Dashboard
from explorer.apps.export_controls import control_values

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
    """What tab `index` shows: the demo's own widget (without the export row under it), or its placeholder."""
    child = board.tabs.children[index]
    if "explorer-export-wrapper" in getattr(child, "_dom_classes", ()):
        return child.children[0]
    return child


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
    board = Dashboard(query="")
    for index in range(len(DEMOS)):
        board.tabs.selected_index = index
    return board


@pytest.mark.parametrize("index", range(len(DEMOS)), ids=[module for _, module, _ in DEMOS])
def test_every_listed_demo_imports_and_builds(every_demo, index):
    title, module, name = DEMOS[index]
    app = every_demo.apps[index]
    assert index not in every_demo.errors, every_demo.errors.get(index)
    assert type(app).__name__ == name and type(app).__module__ == f"explorer.apps.{module}"
    assert content(every_demo, index) is app.widget
    assert every_demo.tabs.titles[index] == title
    assert dashboard.figures(app), f"{name} shows no FigureWidget"
    assert not getattr(app, "running", False)  # building a demo never starts training


def test_the_dashboard_lists_each_demo_once():
    modules = [module for _, module, _ in DEMOS]
    titles = [title for title, _, _ in DEMOS]
    assert len(set(modules)) == len(modules) and len(set(titles)) == len(titles)


# -- export buttons and shareable settings -------------------------------------------------------------------


class ControlsApp(FakeApp):
    """A demo with controls of every kind a link can set, and one it cannot (free text)."""

    def __init__(self) -> None:
        super().__init__()
        self.init = widgets.Dropdown(options=[("zero (v = 0)", "zero"), ("He", "he")], value="zero")
        self.seed = widgets.IntText(value=0)
        self.points = widgets.IntSlider(value=300, min=100, max=1000)
        self.rate = widgets.FloatLogSlider(value=0.1, base=10, min=-4, max=1)
        self.typo = widgets.Checkbox(value=False)
        self.widths = widgets.Text(value="1, 2")
        self.resets = 0
        self.seed.observe(lambda _: setattr(self, "resets", self.resets + 1), names="value")

    def settings(self) -> dict[str, widgets.ValueWidget]:
        return {"init": self.init, "seed": self.seed, "points": self.points, "rate": self.rate, "typo": self.typo,
                "widths": self.widths}


@pytest.fixture
def controlled(fakes, monkeypatch):
    """The fake demos, each in a module of its own (a link names a demo by its module), the third with controls."""
    demos = []
    for title, app in (("First", FakeApp), ("Broken", BrokenApp), ("Controls", ControlsApp)):
        module = types.ModuleType(f"explorer.apps._fake_{title.lower()}")
        setattr(module, app.__name__, app)
        monkeypatch.setitem(sys.modules, module.__name__, module)
        demos.append((title, module.__name__.rsplit(".", 1)[1], app.__name__))
    return demos


def slug_of(demos, index):
    return demos[index][1].replace("_", "-")


def test_every_demo_with_a_figure_gets_export_buttons(fakes):
    board = Dashboard(fakes)
    shown = board.tabs.children[0]
    assert shown.children[0] is board.apps[0].widget
    (row,) = shown.children[1:]
    assert "explorer-export" in row._dom_classes
    assert {b.description for b in row.children if isinstance(b, widgets.Button)} == {"CSV", "JSON", "PNG", "HTML"}


class ExportingApp(FakeApp):
    """A demo that shows its own export buttons."""

    def __init__(self) -> None:
        super().__init__()
        from explorer.apps.export_controls import ExportControls

        self.widget = widgets.VBox([self.figure, ExportControls(self).widget])


def test_an_app_with_its_own_export_buttons_gets_no_second_row(fakes):
    sys.modules[FAKE].ExportingApp = ExportingApp
    board = Dashboard([("Own", FAKE.rsplit(".", 1)[1], "ExportingApp")])
    assert board.tabs.children[0] is board.apps[0].widget


def test_export_can_be_left_out(fakes):
    board = Dashboard(fakes, export=False)
    assert board.tabs.children[0] is board.apps[0].widget


def test_a_link_chooses_the_tab_and_sets_its_controls(controlled):
    query = f"demo={slug_of(controlled, 2)}&init=he&seed=3&points=450&rate=0.01&typo=true"
    board = Dashboard(controlled, query=query)
    app = board.apps[2]
    assert board.tabs.selected_index == 2 and 0 not in board.apps
    assert (app.init.value, app.seed.value, app.points.value, app.rate.value, app.typo.value) == \
        ("he", 3, 450, 0.01, True)
    assert board.notice.value == ""


def test_bad_settings_are_listed_not_raised_and_good_ones_still_apply(controlled):
    query = (f"demo={slug_of(controlled, 2)}&seed=abc&points=5000&init=__import__('os')&typo=maybe"
             f"&widths=1&<b>bold</b>=1&rate=1e999&seed=4")
    board = Dashboard(controlled, query=query)
    app = board.apps[2]
    text = board.notice.value
    assert "explorer-share-notice" in text and "explorer-error" not in text
    for words in ("'seed' is given more than once", "points='5000' is out of range from 100 to 1000",
                  "init=", "valid: zero, he", "typo='maybe' must be true or false", "'widths' is not a setting",
                  "'<b>bold</b>' is not a setting", "rate='1e999' must be a number"):
        assert words in html.unescape(text), words
    assert "<b>bold" not in text and "&lt;b&gt;bold" in text  # escaped
    assert (app.seed.value, app.points.value, app.init.value, app.typo.value) == (4, 300, "zero", False)


def test_an_unknown_demo_opens_the_first_tab_and_says_so(controlled):
    board = Dashboard(controlled, query="demo=nope&seed=2")
    assert board.tabs.selected_index == 0
    text = html.unescape(board.notice.value)
    assert "demo='nope' is unknown; valid: -fake-first, -fake-broken, -fake-controls" in text
    assert "'seed' is not a setting of \"First\"; valid: demo" in text  # the first fake demo has no controls


def test_settings_for_a_demo_that_cannot_start_are_reported(controlled):
    board = Dashboard(controlled, query=f"demo={slug_of(controlled, 1)}&seed=2")
    assert board.tabs.selected_index == 1 and board.apps[1] is None
    assert "could not start" in board.notice.value


def test_the_query_comes_from_voilas_environment_variable(controlled, monkeypatch):
    monkeypatch.setenv("QUERY_STRING", f"demo={slug_of(controlled, 2)}&seed=7&template=lab")
    board = Dashboard(controlled)
    assert board.tabs.selected_index == 2 and board.apps[2].seed.value == 7
    assert board.notice.value == ""  # Voila's own template parameter is not ours to complain about


def test_the_link_follows_the_tab_and_the_controls(controlled):
    board = Dashboard(controlled, query="")
    assert f'href="?demo={slug_of(controlled, 0)}"' in board.link.value
    board.tabs.selected_index = 2
    assert f'href="?demo={slug_of(controlled, 2)}"' in board.link.value
    app = board.apps[2]
    app.seed.value = 5
    app.init.value = "he"
    app.rate.value = 0.001
    app.typo.value = True
    assert board.current_query() == f"?demo={slug_of(controlled, 2)}&init=he&seed=5&rate=0.001&typo=true"
    assert "seed=5" in board.link.value
    again = Dashboard(controlled, query=board.current_query())  # the link gives back the same settings
    assert again.current_query() == board.current_query()
    assert again.apps[2].rate.value == 0.001


# Each demo's link keys, as saved links use them: a key may never change, whatever its control is called inside.
LINK_KEYS = {
    "three_layer": ["dataset", "points", "noise", "seed", "architecture", "init", "scale", "learning_rate", "mode",
                    "drawn", "links_show"],
    "nine_layer": ["dataset", "noise", "seed", "init", "alpha", "activation", "learning_rate"],
    "histograms": ["dataset", "init", "scale", "activation", "learning_rate", "show"],
    "digits_mlp": ["dataset", "learning_rate", "typo"],
    "variance": ["activation", "init", "scale", "depth", "width"],
    "zoo": ["activation", "depth", "width", "learning_rate", "seed"],
    "edge_of_chaos": ["activation", "sigma_b2", "sigma_w2", "depth"],
    "residual": ["depth", "width", "branch", "learning_rate", "seed"],
    "isometry": ["activation", "weights", "depth", "width", "q_star", "learning_rate", "seed"],
    "mup": ["widths", "lr_min", "lr_max", "steps", "parametrization", "coord_step", "coord_lr"],
}
EXPORT_ONLY = {"variance": ["widths"]}  # free text: exported with the run, not set by a link


def test_every_demo_keeps_its_public_link_keys(every_demo):
    assert set(LINK_KEYS) == {module for _, module, _ in DEMOS}
    for index, (_, module, _) in enumerate(DEMOS):
        app = every_demo.apps[index]
        assert list(dashboard.shareable(app)) == LINK_KEYS[module], module
        assert list(control_values(app)) == LINK_KEYS[module] + EXPORT_ONLY.get(module, []), module


def test_a_link_key_is_the_declared_key_not_the_attribute_name(controlled):
    board = Dashboard(controlled, query=f"demo={slug_of(controlled, 2)}")
    app = board.apps[2]
    app.learning_rate = app.__dict__.pop("rate")  # an attribute renamed: its key stays "rate"
    app.settings = lambda: {"init": app.init, "seed": app.seed, "points": app.points, "rate": app.learning_rate}
    app.learning_rate.value = 0.001
    assert board.current_query() == f"?demo={slug_of(controlled, 2)}&rate=0.001"
    assert board.apply(2, {"rate": "0.01"}) == [] and app.learning_rate.value == 0.01
    assert "learning_rate" in board.apply(2, {"learning_rate": "0.01"})[0]


def test_every_real_demo_has_settings_a_link_can_set(every_demo):
    for index, app in every_demo.apps.items():
        if app is not None:
            assert dashboard.shareable(app), DEMOS[index][1]
    three = every_demo.apps[[m for _, m, _ in DEMOS].index("three_layer")]
    assert {"init", "seed", "dataset", "learning_rate", "mode"} <= set(dashboard.shareable(three))


# -- in a browser page (Pyodide, as voici runs it): every demo builds at once, the page's own query ---------------


@pytest.fixture
def in_browser(controlled, monkeypatch):
    """The controlled fakes in a pretended browser page (no query from Voila)."""
    from explorer import runtime

    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    monkeypatch.delenv("QUERY_STRING", raising=False)
    return controlled


def test_in_the_browser_a_demo_builds_when_its_tab_opens_and_takes_the_links_settings(in_browser):
    demos = in_browser
    slug = slug_of(demos, 2)
    board = Dashboard(demos, query=f"demo={slug}&seed=3&colour=red")
    app = board.apps[2]  # built at once: there is nothing to wait for (the digits ship with the package)
    assert board.tabs.selected_index == 2 and isinstance(app, ControlsApp) and content(board, 2) is app.widget
    assert app.seed.value == 3 and "'colour' is not a setting" in html.unescape(board.notice.value)
    assert f'href="?demo={slug}&amp;seed=3"' in board.link.value
    board.tabs.selected_index = 0
    assert isinstance(board.apps[0], FakeApp) and content(board, 0) is board.apps[0].widget


def test_in_the_browser_the_page_reports_its_query_and_the_dashboard_applies_it(in_browser):
    from explorer.apps.page_query import PageQuery

    demos = in_browser
    board = Dashboard(demos)  # no query given, and none from Voila: the page will tell
    assert isinstance(board.page, PageQuery) and board.page in board.widget.children
    assert board.page.layout.display == "none"
    # Nothing is built or shown before the report: a Tab on the page would send its first tab back over the link's.
    assert not board.apps and board.tabs not in board.widget.children
    assert "Starting the dashboard" in board.widget.children[1].value
    # what the widget's JavaScript sends: one custom message with both
    page = "https://example.org/site/voici/render/dashboard.html"
    query = f"demo={slug_of(demos, 2)}&seed=3&init=he&bogus=1&path=dashboard.ipynb"
    board.page._handle_custom_msg({"query": query, "page_url": page}, [])
    assert (board.page.query, board.page.page_url) == (query, page)
    app = board.apps[2]
    assert board.tabs.selected_index == 2 and (app.seed.value, app.init.value) == (3, "he")
    assert list(board.apps) == [2]  # only the tab the link names is built: its figure starts alone
    assert board.widget.children[2:4] == (board.tabs, board.link) and board.page in board.widget.children
    text = html.unescape(board.notice.value)
    assert "'bogus' is not a setting" in text and "path" not in text  # JupyterLite's own parameter is left alone
    assert f'href="{page}?demo={slug_of(demos, 2)}&amp;init=he&amp;seed=3"' in board.link.value
    board.page._handle_custom_msg({"query": f"demo={slug_of(demos, 0)}", "page_url": page}, [])
    assert board.tabs.selected_index == 2  # reported once: a later report is not followed


def test_in_the_browser_a_page_without_a_query_keeps_its_tab_and_links_to_itself(in_browser):
    demos = in_browser
    board = Dashboard(demos)
    board.page._handle_custom_msg({"query": "", "page_url": "http://localhost:8000/voici/render/dashboard.html"}, [])
    assert board.tabs.selected_index == 0 and list(board.apps) == [0] and board.notice.value == ""
    assert f'href="http://localhost:8000/voici/render/dashboard.html?demo={slug_of(demos, 0)}"' in board.link.value


def test_a_page_of_the_static_site_has_figures_load_plotly_js_from_the_site(in_browser, monkeypatch):
    from explorer.apps import figure

    monkeypatch.setattr(figure.FigureWidget, "_esm", figure.FigureWidget._esm)  # put back after the test
    board = Dashboard(in_browser)
    site = "https://example.org/course/"
    board.page._handle_custom_msg({"query": "", "page_url": f"{site}voici/render/dashboard.html",
                                   "site_url": site}, [])
    assert board.page.site_url == site
    assert figure.FigureWidget()._esm == f"{site}static/plotly/widgetbundle.js" == site + figure.SITE_PLOTLY_JS


def test_a_page_that_names_no_site_leaves_plotly_js_in_the_figures(in_browser):
    from explorer.apps import figure

    before = figure.FigureWidget()._esm
    board = Dashboard(in_browser)
    board.page._handle_custom_msg({"query": "", "page_url": "http://localhost:8000/notebooks/index.html"}, [])
    assert figure.FigureWidget()._esm == before and len(before) > 1_000_000  # the bundle itself, sent with it


def test_a_given_query_or_voilas_needs_no_page_report(in_browser, monkeypatch):
    demos = in_browser
    assert Dashboard(demos, query="").page is None
    from explorer import runtime

    monkeypatch.setattr(runtime, "IN_BROWSER", False)  # natively (Voila, JupyterLab): as before
    assert Dashboard(demos).page is None
