"""The JavaScript of two small widgets for a page whose kernel runs in the browser (voici), run in Chromium on a
plain page with a stand-in for the widget model (no kernel, no Voila):

- PageQuery reports the page's query and its address without it, in one message;
- the Downloader, asked for a figure's PNG, has plotly.js save the figure drawn last before it (its camera button's
  export), under the name given, and not another figure of the page."""

from __future__ import annotations

from pathlib import Path

import plotly
import pytest

from explorer.apps import download, page_query

pytestmark = pytest.mark.browser

SITE = "http://explorer.test"
PAGE = f"{SITE}/voici/render/dashboard.html"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

HTML = """<!doctype html><html><head><script src="/plotly.min.js"></script></head><body>
<div id="other-tab"><div id="far-plot" style="width:400px;height:300px"></div></div>
<div id="tab">
  <div id="plot" style="width:400px;height:300px"></div>
  <div id="export-row"><span>Export:</span><div id="downloader" style="display:none"></div></div>
  <div id="later-plot" style="width:400px;height:300px"></div>
</div></body></html>"""

# A widget model as anywidget hands it to the JavaScript: get/set/save_changes and on/off of custom messages.
SETUP = """async ([esm]) => {
  const handlers = [];
  const model = {
    state: {}, saves: 0,
    get(key) { return this.state[key]; },
    set(key, value) { this.state[key] = value; },
    save_changes() { this.saves += 1; },
    on(event, handler) { if (event === "msg:custom") handlers.push(handler); },
    off(event, handler) { const i = handlers.indexOf(handler); if (i >= 0) handlers.splice(i, 1); },
    sent: [],
    send(message) { this.sent.push(message); handlers.slice().forEach((handler) => handler(message, [])); },
  };
  const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
  const widget = (await import(url)).default;
  window.model = model;
  window.widget = widget;
  if (widget.initialize) widget.initialize({ model });
  return model.state;
}"""


@pytest.fixture
def site(browser_page):
    """browser_page on a made-up site that serves the test page (at any query) and plotly.js."""

    def serve(route):
        if route.request.url.endswith("/plotly.min.js"):
            route.fulfill(body=PLOTLY_JS.read_bytes(), content_type="text/javascript")
        else:
            route.fulfill(body=HTML, content_type="text/html")

    browser_page.route(f"{SITE}/**", serve)
    return browser_page


def test_page_query_reports_the_query_and_the_address_without_it(site):
    site.goto(PAGE + "?demo=three-layer&seed=3#top")
    site.evaluate(SETUP, [page_query.ESM])
    assert site.evaluate("window.model.sent") == [{"query": "demo=three-layer&seed=3", "page_url": PAGE,
                                                   "site_url": ""}]  # no JupyterLite settings in this page

    site.goto(PAGE)
    site.evaluate(SETUP, [page_query.ESM])
    assert site.evaluate("window.model.sent") == [{"query": "", "page_url": PAGE, "site_url": ""}]


def test_page_query_reports_the_sites_top_folder_from_jupyterlites_settings(site):
    site.goto(PAGE)
    site.evaluate("""() => { const s = document.createElement("script");
        s.id = "jupyter-config-data"; s.type = "application/json"; s.textContent = '{"baseUrl": "../../"}';
        document.head.appendChild(s); }""")  # as voici's pages carry them, two folders down
    site.evaluate(SETUP, [page_query.ESM])
    assert site.evaluate("window.model.sent") == [{"query": "", "page_url": PAGE, "site_url": f"{SITE}/"}]


def test_page_query_tries_again_until_the_channel_to_the_kernel_is_open(site):
    site.goto(PAGE + "?seed=4")
    site.evaluate("""async ([esm]) => {
      const sent = [];
      let refusals = 3;  // a widget model whose comm is not open yet throws, as ipywidgets' does
      const model = { send(message) { if (refusals-- > 0) throw new Error("no comm channel defined");
                                      sent.push(message); } };
      window.sent = sent;
      const url = URL.createObjectURL(new Blob([esm], { type: "text/javascript" }));
      (await import(url)).default.initialize({ model });
    }""", [page_query.ESM])
    site.wait_for_function("window.sent.length > 0")
    site.wait_for_timeout(300)
    assert site.evaluate("window.sent") == [{"query": "seed=4", "page_url": PAGE, "site_url": ""}]


def test_the_downloader_has_plotly_save_the_figure_above_it(site, page_errors):
    site.goto(PAGE)
    site.evaluate("""() => Promise.all(["far-plot", "plot", "later-plot"].map(
        (id) => Plotly.newPlot(id, [{ y: [1, 3, 2], name: id }], { title: { text: id } })))""")
    site.evaluate(SETUP, [download.ESM])
    site.evaluate("() => { window.cleanup = widget.render({ model, el: document.getElementById('downloader') }); }")
    downloads = []
    site.on("download", lambda started: downloads.append(started))
    with site.expect_download(timeout=30_000) as started:
        site.evaluate("() => model.send({ figure_png: 'three_layer-step10.png' })")
    saved = started.value
    assert saved.suggested_filename == "three_layer-step10.png" and saved.failure() is None
    assert Path(saved.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    names = site.evaluate("""() => ["far-plot", "plot", "later-plot"].map(
        (id) => document.getElementById(id)._context.toImageButtonOptions.filename || null)""")
    assert names == [None, "three_layer-step10", None]  # the figure above the buttons, not another
    site.evaluate("() => { window.cleanup(); model.send({ figure_png: 'again.png' }); }")  # a view gone: no answer
    site.wait_for_timeout(1500)
    assert len(downloads) == 1
    page_errors.assert_none()
