"""The static site (`python3 tasks.py site`, build/site/) in headless Chromium: Python runs in the page (Pyodide).

One browser for the whole file, served the site from a free port on 127.0.0.1. Every request to any other host
is aborted and counted: every test ends by checking that there were none since the browser started, and no page
errors in its own pages; the last test checks every page of the file. One dashboard page, opened from index.html
with no query, serves the tab and training tests: every tab draws its figure; Train grows the cost curve and
Pause stops it in the three demos that train a network step by step. A share link opens its tab with its
setting. The engine, loaded straight into Pyodide, gives the numbers it gives here.

Timings are printed (run pytest with -s to see them), not asserted: the machine is shared and loaded.
"""

from __future__ import annotations

import http.server
import importlib.util
import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import browserkit
import dashkit as dk
import numpy as np
import pytest
from test_browser_dashboard import SPECS, collect, first_state_arrived, train_and_pause
from test_export_download import download

from explorer.apps.dashboard import DEMOS

pytestmark = pytest.mark.browser

LOAD_TIMEOUT = 180_000  # ms: Pyodide and the packages start in the page, on a loaded 2-core machine (~20 s alone)
TAB_TIMEOUT = 180_000  # ms: a tab's demo is built when the tab is first opened (the slowest took ~30 s)
TRAINED = ("three_layer", "nine_layer", "histograms")  # the demos whose Train runs the network step by step
SHARE_LINK = "index.html?demo=nine-layer&init=small&learning_rate=0.05"  # defaults: Xavier, 0.02

# The three-layer demo's engine for 1,000 steps, run here and in the page (the same text on both sides);
# `result` holds what is compared, as JSON.
ENGINE_RUN = """
import json
from explorer import datasets
from explorer.network import Network
from explorer.training import Trainer
from explorer.starts import CATALOGUE
net = Network([2, 6, 3, 1], hidden="relu", output="sigmoid", init=CATALOGUE["free_fan_in"].make(1.0), seed=0)
data = datasets.toy("circles", 300, 0.1, seed=0)
cost = Trainer(net, data.X, data.y, lr=0.1).run(1000)
result = json.dumps({"cost": cost.tolist(), "W1": net.W[0].tolist(), "W3": net.W[2].tolist()})
"""

# JavaScript: Pyodide from the site's own files, the explorer wheel and what it needs from the site's lock,
# then ENGINE_RUN; returns `result`.
IN_PYODIDE = """async (code) => {
    const {loadPyodide} = await import("/static/pyodide/pyodide.mjs");
    const py = await loadPyodide({indexURL: "/static/pyodide/"});
    await py.loadPackage(["explorer"]);
    py.runPython(code);
    return py.globals.get("result");
}"""


def load_tasks():
    """tasks.py (the repository's command file) as a module, for its site_handler."""
    spec = importlib.util.spec_from_file_location("tasks", browserkit.ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class SiteBrowser:
    """Chromium with a fresh profile, allowed to reach the site only; what it tried elsewhere, and its errors."""

    url: str  # the site, http://127.0.0.1:PORT/
    context: object = None
    outside: list[str] = field(default_factory=list)  # requests to any other host (every one aborted)
    errors: dict[str, browserkit.PageErrors] = field(default_factory=dict)  # by page: what it was opened for

    def start(self, playwright, chromium_path: str, profile: str) -> SiteBrowser:
        self.context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_path, headless=True, args=browserkit.CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900})
        self.context.route("**/*", self.route)
        self.context.on("request", self.seen)  # also what routing may not see (a service worker's requests)
        return self

    def local(self, url: str) -> bool:
        return url.startswith(self.url) or url.startswith(("data:", "blob:"))

    def route(self, route) -> None:
        if self.local(route.request.url):
            route.continue_()
        else:
            self.outside.append(f"aborted: {route.request.url}")
            route.abort()

    def seen(self, request) -> None:
        if not self.local(request.url):
            self.outside.append(f"requested: {request.url}")

    def new_page(self, name: str):
        page = self.context.new_page()
        page.set_default_timeout(60_000)
        self.errors[name] = browserkit.PageErrors().attach(page)
        return page

    @contextmanager
    def page(self, name: str):
        """A new page for `name`; a screenshot if what is done in it fails; closed after; then no request to
        another host and no error in it."""
        page = self.new_page(name)
        try:
            yield page
        except Exception:
            browserkit.save_screenshot(page, "FAILED-site-" + name.replace(" ", "-"))
            raise
        finally:
            page.close()
        self.assert_clean(name)

    def assert_clean(self, *names: str) -> None:
        """No request to another host since the browser started, and no page error in the pages `names` (all
        the pages opened if none named)."""
        assert not self.outside, "requests to other hosts:\n" + "\n".join(self.outside)
        for name in names or self.errors:
            self.errors[name].assert_none()


@pytest.fixture(scope="module")
def site_url(static_site):
    """build/site served by tasks.py's site_handler (what `tasks.py site --serve` serves) on a free port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), load_tasks().site_handler(static_site.path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(10)


@pytest.fixture(scope="module")
def site_browser(site_url, chromium_path, tmp_path_factory):
    """One browser for the file (starting Pyodide is the slow part; its files are cached between pages).
    Per file, not per session: while Playwright's sync API is active, other tests' asyncio.run() fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = SiteBrowser(site_url).start(playwright, chromium_path, str(tmp_path_factory.mktemp("profile")))
        try:
            yield browser
        finally:
            browser.context.close()


@pytest.fixture(scope="module")
def dashboard(site_browser):
    """The page opened from index.html with no query, once its first figure is drawn."""
    page = site_browser.new_page("dashboard")
    started = time.monotonic()
    page.goto(site_browser.url + "index.html", timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    print(f"\n[site] index.html to the dashboard's first figure: {time.monotonic() - started:.1f} s")
    return page


# JavaScript: the open tab shows its figure drawn, or an error instead.
FIGURE_OR_ERROR = """() => [...document.querySelectorAll('.js-plotly-plot, .explorer-error')]
    .some(e => e.offsetParent !== null && (e.classList.contains('explorer-error') || (e.data && e.data.length)))"""


def open_tab(page, title: str) -> None:
    """Click the tab `title` and wait for its figure; a tab that shows an error instead fails at once, with it."""
    page.locator(".lm-TabBar-tab", has_text=title).first.click()
    dk.wait_until(lambda: current_tab(page) == title, 60, message=f"the tab {title!r} to open")
    page.wait_for_function(FIGURE_OR_ERROR, timeout=TAB_TIMEOUT)
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    dk.wait_for_visible_plot(page, TAB_TIMEOUT)


def current_tab(page) -> str:
    return page.locator(".lm-TabBar-tab.lm-mod-current").inner_text().strip()


def test_index_opens_the_dashboard_with_its_first_figure(dashboard, site_browser):
    page = dashboard
    assert page.url == site_browser.url + "voici/render/dashboard.html"
    titles = [t.strip() for t in page.locator(".lm-TabBar-tab").all_inner_texts()]
    assert titles == [title for title, _, _ in DEMOS]
    assert current_tab(page) == DEMOS[0][0]
    first_state_arrived(page, SPECS[DEMOS[0][1]])  # the figure has data: the run's step 0
    loaded = page.evaluate("() => performance.getEntriesByType('resource').map(entry => entry.name)")
    assert site_browser.url + "static/plotly/widgetbundle.js" in loaded  # plotly.js came as a file of the site
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    site_browser.assert_clean("dashboard")


def test_every_tab_draws_its_figure(dashboard, site_browser):
    page = dashboard
    failures: list[str] = []
    for title, module, _ in DEMOS:
        with collect(failures, title):
            opened = time.monotonic()
            open_tab(page, title)
            print(f"[site {module}] tab to figure: {time.monotonic() - opened:.1f} s")
            assert not dk.page_text_problems(page), dk.page_text_problems(page)
    if failures:
        browserkit.save_screenshot(page, "FAILED-site-tabs")
    assert not failures, "\n".join(failures)
    site_browser.assert_clean("dashboard")


@pytest.mark.parametrize("module", TRAINED)
def test_train_grows_the_cost_curve_and_pause_stops_it(dashboard, site_browser, module):
    page = dashboard
    spec = SPECS[module]
    open_tab(page, next(title for title, name, _ in DEMOS if name == module))
    first_state_arrived(page, spec)
    train_and_pause(page, spec, f"site {module}")  # the curve grows, then every figure stays still after Pause
    points, step = len(dk.trace_values(page, spec.cost, "x")), dk.shown_step(page)
    assert step > 0
    time.sleep(1.5)  # nothing may train behind the scenes
    assert (len(dk.trace_values(page, spec.cost, "x")), dk.shown_step(page)) == (points, step)
    assert not dk.training(page) and dk.can_train(page)
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    site_browser.assert_clean("dashboard")


def test_a_share_link_opens_its_tab_with_its_settings(site_browser):
    with site_browser.page("share link") as page:
        started = time.monotonic()
        page.goto(site_browser.url + SHARE_LINK, timeout=LOAD_TIMEOUT)
        dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
        print(f"\n[site] a share link to its first figure: {time.monotonic() - started:.1f} s")
        assert page.url == site_browser.url + "voici/render/dashboard.html?" + SHARE_LINK.split("?")[1]
        dk.wait_until(lambda: current_tab(page) == "Exploding and vanishing", 60, message="the link's tab")
        dk.wait_until(lambda: dk.dropdown_text(page, "Initialization") == "too small: W = 0.5·I", 60,
                      message="the link's initialization")
        assert float(dk.text_input(page, "Learning rate")) == 0.05
        assert not dk.page_text_problems(page), dk.page_text_problems(page)



def test_the_engine_in_the_browser_gives_the_numbers_it_gives_here(site_browser):
    with site_browser.page("Pyodide") as page:
        page.goto(site_browser.url + "index.html#stay")  # the site's own page, without going on to the dashboard
        started = time.monotonic()
        browser = json.loads(page.evaluate(IN_PYODIDE, ENGINE_RUN))
        print(f"\n[site] Pyodide, the explorer and 1,000 steps in the page: {time.monotonic() - started:.1f} s")
    here: dict = {}
    exec(ENGINE_RUN, here)
    native = json.loads(here["result"])
    assert set(browser) == set(native)
    for key in native:
        relative = np.max(np.abs(np.subtract(browser[key], native[key])) / np.abs(native[key]))
        print(f"[site] {key}: largest relative difference {relative:.1e}")
        np.testing.assert_allclose(browser[key], native[key], rtol=1e-9, atol=0, err_msg=key)
    assert 0 < native["cost"][0] < 0.2  # trained: the engine learned the circles, in both places


def test_json_csv_and_png_download_from_the_page(site_browser):
    with site_browser.page("export") as page:
        page.goto(site_browser.url + "index.html?demo=three-layer&init=he&seed=3", timeout=LOAD_TIMEOUT)
        dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
        dk.wait_until(lambda: current_tab(page) == DEMOS[0][0], 60, message="the link's tab")
        dk.button(page, "Step").click()  # ten steps from He's start, seed 3, in the page's Pyodide
        dk.wait_until(lambda: len(dk.trace_values(page, 0) or []) == 2, 60, message="the costs at steps 0 and 10")
        shown_costs = dk.trace_values(page, 0)
        name, text = download(page, "JSON")
        record = json.loads(text)
        assert name == "three_layer-step10.json" and record["settings"]["step"] == 10
        assert record["settings"]["controls"]["init"] == "he" and record["settings"]["controls"]["seed"] == 3
        assert [row[0] for row in record["histories"]["costs"]["values"]] == pytest.approx(shown_costs, rel=1e-12)
        name, text = download(page, "CSV")
        assert name == "three_layer-step10.csv" and text.startswith("series,")
        with page.expect_download(timeout=60_000) as started:  # no kaleido here: plotly.js draws the PNG
            dk.button(page, "PNG").click()
        png = started.value
        assert png.suggested_filename == "three_layer-step10.png"
        with open(png.path(), "rb") as file:
            assert file.read(8) == b"\x89PNG\r\n\x1a\n"
        assert not dk.page_text_problems(page), dk.page_text_problems(page)


NOTEBOOKS = sorted(path.stem for path in (browserkit.ROOT / "notebooks").glob("*.ipynb"))


def test_index_lists_every_notebook_as_a_page_and_in_the_notebook_view(site_browser, static_site):
    with site_browser.page("index") as page:
        page.goto(site_browser.url + "index.html#stay")  # stays on the list instead of going on to the dashboard
        links = set(page.eval_on_selector_all("a", "links => links.map(a => a.getAttribute('href'))"))
    for name in NOTEBOOKS:
        assert f"voici/render/{name}.html" in links and f"notebooks/index.html?path={name}.ipynb" in links, name
        assert (static_site.path / "voici" / "render" / f"{name}.html").is_file(), name


def test_a_notebook_page_of_its_own_draws_its_figure(site_browser):
    with site_browser.page("variance notebook") as page:
        page.goto(site_browser.url + "voici/render/variance.html", timeout=LOAD_TIMEOUT)
        dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
        assert not dk.page_text_problems(page), dk.page_text_problems(page)



def test_the_notebook_view_opens_a_notebook_on_the_pyodide_kernel(site_browser):
    with site_browser.page("notebook view") as page:
        page.goto(site_browser.url + "notebooks/index.html?path=three_layer.ipynb", timeout=LOAD_TIMEOUT)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=LOAD_TIMEOUT)
        page.get_by_text("Python (Pyodide)").first.wait_for(timeout=LOAD_TIMEOUT)  # the kernel it runs on
        page.locator(".jp-Cell h1", has_text="Why initialization matters").first.wait_for()  # its first cell



def test_nothing_asked_of_another_host_and_no_page_errors_in_the_whole_file(site_browser):
    """Last: every page this file opened, with whatever the tests above did in it."""
    assert site_browser.errors, "no page was opened"
    site_browser.assert_clean()
