"""The page's own address, as its browser reports it: a tiny widget for pages whose kernel is not told it.

    page = PageQuery(layout=widgets.Layout(display="none"))   # on the page; it shows nothing
    page.observe(on_report, names="page_url")                 # page.query, .page_url, .site_url once reported

Voila hands a page's query to its kernel (explorer.apps.voila); voici, Voila's static counterpart, runs the kernel
in the browser (Pyodide, in a Web Worker) and tells it nothing about the page. This widget's JavaScript runs in
the page itself: as soon as the widget exists there, it sends the kernel one message with the page's query
("demo=...&seed=3", without "?"; "" if none), its address without query or fragment, and, in a JupyterLite page,
the address of the site's top folder. The dashboard then applies the query as Voila's would, builds its share
link on the page's address, and loads plotly's widget JavaScript from the site.
"""

from __future__ import annotations

import anywidget
import traitlets

# From `initialize`, once per widget in the page (a view is not needed: the widget may be hidden). The model's
# channel to the kernel may not be open yet when `initialize` runs (sending then throws "no comm channel
# defined"), so the report is retried until it goes. One custom message carries both values.
ESM = """
export default {
  initialize({ model }) {
    const here = window.location;
    const report = { query: here.search.replace(/^\\?/, ""), page_url: here.origin + here.pathname, site_url: "" };
    try {  // the site's top folder: JupyterLite's settings in the page give it relative to the page
      const base = JSON.parse(document.getElementById("jupyter-config-data").textContent).baseUrl;
      if (base) report.site_url = new URL(base, here.href).href;
    } catch (error) {}  // not a JupyterLite page: no site address
    const send = (tries) => {
      try {
        model.send(report);
      } catch (error) {
        if (tries > 0) setTimeout(() => send(tries - 1), 50);
      }
    };
    send(200);
  },
};
"""


class PageQuery(anywidget.AnyWidget):
    """Reports the page's query (`query`, without "?"), its address without it (`page_url`) and, in a JupyterLite
    page, the address of the site's top folder (`site_url`); all "" until the page has reported them. Watch
    `page_url`: it is never "" once reported, and the others are set with it."""

    _esm = ESM
    # Set from the page's message, in the kernel only (nothing to send back to the page).
    query = traitlets.Unicode("")
    page_url = traitlets.Unicode("")
    site_url = traitlets.Unicode("")  # the site's top folder, ending in "/" ("" if not known)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._reported)

    def _reported(self, _widget, content: dict, _buffers) -> None:
        """The page's report: all three values at once, `page_url` last (what watchers of `page_url` wait for)."""
        with self.hold_trait_notifications():
            self.query = str(content.get("query", ""))
            self.site_url = str(content.get("site_url", ""))
            self.page_url = str(content.get("page_url", ""))
