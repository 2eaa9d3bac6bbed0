"""Figures that follow the width of the page: when the window (or the notebook's column) changes width.

A plotly FigureWidget measures the width of its place on the page only when it draws; nothing in the
browser resizes it afterwards. `FitOnResize` is an invisible widget that an app puts next to its figure.
Its JavaScript watches the app's figures in the page (a ResizeObserver on each, and the window's resize
event), and a moment after a change of size (200 ms without another) it checks whether a figure on screen
is drawn at a width other than its place's; if so it asks the kernel, which has the browser fit every
figure of the app (`fit`). A figure in a hidden tab is left alone until its tab is shown. The same check
fits a figure that first drew before it was on the page (in JupyterLab it then keeps plotly's 700 px).

    hook = FitOnResize(app)          # app: any object whose attributes include its FigureWidgets
    widgets.VBox([..., app.figure, hook])
"""

from __future__ import annotations

import itertools

import anywidget
import traitlets
from plotly.basewidget import BaseFigureWidget

_ids = itertools.count(1)

# The widget's view: no picture, only listeners. `figure_class` marks the app's figures in the page.
_ESM = """
export default {
  render({ model, el }) {
    const figures = () => [...document.getElementsByClassName(model.get("figure_class"))];
    const shown = g => g.offsetParent !== null && g.getClientRects().length > 0;
    const unfit = g => shown(g) && g._fullLayout && Math.abs(g._fullLayout.width - g.clientWidth) > 2;
    let timer = null;
    const check = () => { if (figures().some(unfit)) model.send({ fit: true }); };
    const soon = () => { clearTimeout(timer); timer = setTimeout(check, 200); };
    const sizes = new ResizeObserver(soon);
    const watched = new WeakSet();
    const watch = () => {  // the figures' own views may be drawn after this one
      for (const g of figures()) if (!watched.has(g)) { watched.add(g); sizes.observe(g); }
    };
    watch();
    const poll = setInterval(watch, 1000);
    window.addEventListener("resize", soon);
    return () => {
      clearInterval(poll); clearTimeout(timer); sizes.disconnect();
      window.removeEventListener("resize", soon);
    };
  }
};
"""


def figures(app) -> list[BaseFigureWidget]:
    """The plotly FigureWidgets an app shows (its attributes)."""
    return [value for value in vars(app).values() if isinstance(value, BaseFigureWidget)] if app else []


def fit(figure: BaseFigureWidget) -> None:
    """Have the browser fit the figure to the width of its place on the page (a Plotly.relayout with
    autosize, what plotly's own resize does). Needs plotly's private _send_relayout_msg: the public
    plotly_relayout sends nothing when autosize is already true."""
    figure._send_relayout_msg({"autosize": True})


class FitOnResize(anywidget.AnyWidget):
    """An invisible widget that has the browser fit `app`'s figures to the page whenever they no longer fit."""

    _esm = _ESM
    figure_class = traitlets.Unicode().tag(sync=True)

    def __init__(self, app) -> None:
        super().__init__(figure_class=f"explorer-fit-{next(_ids)}")
        self.app = app
        self.fits = 0  # how many times the browser asked
        self.layout.width = self.layout.height = "0px"
        self.layout.margin = "0px"
        for figure in figures(app):
            figure.add_class(self.figure_class)
        self.on_msg(self._on_message)

    def _on_message(self, _widget, content, _buffers) -> None:
        if content.get("fit"):
            self.fits += 1
            for figure in figures(self.app):
                fit(figure)
