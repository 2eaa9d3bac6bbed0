"""Export buttons for a demo: its run as CSV or JSON, its figure as PNG or standalone HTML.

    from explorer.apps.export_controls import ExportControls
    controls = ExportControls(app)          # app: a LiveApp (or anything with a `figure`)
    widgets.VBox([app.widget, controls.widget])

A press makes the file in the kernel and the browser saves it at once (explorer.apps.download: the bytes go
to the page in one message). A download link to the same file stays next to the buttons, should the browser
hold the download back (a data: URL, so it works in Voila and JupyterLab alike). Nothing is written on the
server unless `directory` is given, in which case the file is also saved there. What goes into the files:

    CSV    every History the app keeps (its curves), long format: series, step, column, value
    JSON   the trainer's configuration (seeds included), the histories, the latest snapshot's
           statistics and the values of the app's settings (explorer.apps.settings)
    PNG    the figure as drawn now (kaleido and Chromium; made in a worker thread, a few seconds); in a browser
           page (Pyodide: no kaleido, no threads) plotly.js saves it in the page, as its camera button does
    HTML   the figure as a standalone page with plotly.js inside (about 5 MB)
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go

from explorer import export, runtime
from explorer.apps.download import Downloader
from explorer.apps.settings import settings
from explorer.training import History

FORMATS = {  # label: (suffix, MIME type, tooltip)
    "CSV": ("csv", "text/csv", "the curves of this run, one value per row"),
    "JSON": ("json", "application/json", "configuration, seeds, curves and the latest statistics"),
    "PNG": ("png", "image/png", "the figure as an image"),
    "HTML": ("html", "text/html", "the figure as an interactive page that works offline"),
}


def histories(app: Any) -> dict[str, History]:
    """The History objects an app keeps, by attribute name."""
    return {name: value for name, value in vars(app).items() if isinstance(value, History)}


def control_values(app: Any) -> dict[str, Any]:
    """The values of the controls an app declares in its `settings()`, by their public keys."""
    return {key: widget.value for key, widget in settings(app).items()}


def model_labels(app: Any) -> list[str] | None:
    """One name per model of the app's stack, if the app says: model_labels() or keys."""
    if callable(getattr(app, "model_labels", None)):
        return [str(label) for label in app.model_labels()]
    keys = getattr(app, "keys", None)
    return [str(key) for key in keys] if isinstance(keys, (list, tuple)) else None


def app_record(app: Any) -> dict:
    """The JSON record of an app's current run (see explorer.export.run_record)."""
    trainer = getattr(app, "trainer", None)
    return export.run_record(
        config=trainer.config() if trainer is not None else None,
        histories=histories(app),
        snapshot=getattr(app, "snapshot", None),
        labels=model_labels(app),
        settings={"app": type(app).__name__, "controls": control_values(app),
                  "step": trainer.step if trainer is not None else None},
    )


def download_link(filename: str, mime: str, data: bytes) -> str:
    """An HTML link that downloads `data` as `filename` (a base64 data: URL)."""
    encoded = base64.b64encode(data).decode("ascii")
    name = html.escape(filename, quote=True)
    return (f'<a class="explorer-download" download="{name}" href="data:{mime};base64,{encoded}" '
            f'target="_blank">&#11015; {name}</a> <small>({len(data) / 1024:,.0f} kB)</small>')


class ExportControls:
    """Four buttons, CSV, JSON, PNG and HTML: a press downloads the file, and a link beside them offers it again."""

    def __init__(self, app: Any, name: str | None = None, directory: str | Path | None = None) -> None:
        self.app = app
        self.name = name or re.sub(r"app$", "", type(app).__name__.lower()) or "run"
        self.directory = Path(directory) if directory is not None else None
        self.buttons = {}
        for label, (_, _, tooltip) in FORMATS.items():
            button = widgets.Button(description=label, tooltip=f"Download {tooltip}", icon="download",
                                    layout=widgets.Layout(width="auto", min_width="80px"))
            button.on_click(lambda _, label=label: self.export(label))
            self.buttons[label] = button
        self.link = widgets.HTML(value="")
        self.downloader = Downloader(layout=widgets.Layout(display="none"))  # shows nothing; saves each file made
        self.task: asyncio.Future | None = None
        self.widget = widgets.HBox([widgets.HTML("<small>Export:</small>"), *self.buttons.values(), self.link,
                                    self.downloader],
                                   layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.widget.add_class("explorer-export")

    def filename(self, label: str) -> str:
        trainer = getattr(self.app, "trainer", None)
        step = f"-step{trainer.step}" if trainer is not None else ""
        return f"{self.name}{step}.{FORMATS[label][0]}"

    def make(self, label: str) -> bytes:
        """The bytes of the file for format `label` (CSV, JSON, PNG or HTML)."""
        if label in ("CSV", "JSON"):
            if getattr(self.app, "trainer", None) is None and not histories(self.app):
                raise export.ExportError("this demo has no training run to export; try PNG or HTML")
            record = app_record(self.app)
            text = export.records_csv(record) if label == "CSV" else export.record_json(record)
            return text.encode("utf-8")
        figure = getattr(self.app, "figure", None)
        if figure is None:
            raise export.ExportError("this demo has no figure to export")
        if label == "HTML":
            return export.figure_html(figure).encode("utf-8")
        return export.figure_png(figure)

    def export(self, label: str) -> None:
        """Make the file, download it and offer it. A PNG is made in a worker thread when an event loop runs (in a
        kernel), so the page stays responsive while the browser behind kaleido draws it."""
        filename = self.filename(label)
        if label == "PNG" and runtime.IN_BROWSER:  # no kaleido and no threads: plotly.js draws it in the page
            self.png_in_page(filename)
            return
        if label == "PNG":
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                self.link.value = f"<small>making {html.escape(filename)}&hellip;</small>"
                self.task = asyncio.ensure_future(self._offer_later(label, filename, loop))
                return
        try:
            self.offer(label, filename, self.make(label))
        except Exception as error:  # shown next to the buttons, never a traceback
            self.show_error(error)

    def png_in_page(self, filename: str) -> None:
        """In a browser page: have plotly.js save the figure above these buttons (its camera button's export), and
        say how to do it by hand should the page show no figure there."""
        if getattr(self.app, "figure", None) is None:
            self.show_error(export.ExportError("this demo has no figure to export"))
            return
        self.downloader.figure_png(filename)
        self.link.value = (f"<small>{html.escape(filename)}: drawn by plotly in this page. If no file comes, use the "
                           "camera icon at the top right of the figure (plotly's own PNG export).</small>")

    async def _offer_later(self, label: str, filename: str, loop: asyncio.AbstractEventLoop) -> None:
        figure = getattr(self.app, "figure", None)
        if figure is None:
            self.show_error(export.ExportError("this demo has no figure to export"))
            return
        still = go.Figure(figure)  # a plain copy of the figure as it is at the press, made in this thread
        try:
            data = await loop.run_in_executor(None, export.figure_png, still)
            self.offer(label, filename, data)
        except Exception as error:
            self.show_error(error)

    def offer(self, label: str, filename: str, data: bytes) -> None:
        """Save the file on the server if asked, download it in the browser, and show the link to it."""
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / filename).write_bytes(data)
        self.link.value = download_link(filename, FORMATS[label][1], data)
        self.downloader.download(filename, FORMATS[label][1], data)

    def show_error(self, error: Exception) -> None:
        text = str(error) if isinstance(error, export.ExportError) else f"{type(error).__name__}: {error}"
        self.link.value = f'<span class="explorer-error" style="color:#b00020">&#9888; {html.escape(text)}</span>'
