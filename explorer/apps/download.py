"""One press, one file: a tiny widget that has the browser save the bytes the kernel sends it.

    downloader = Downloader()          # put it on the page (it shows nothing)
    downloader.download("run.json", "application/json", data)

The kernel sends the file as one message to the widget's JavaScript: its name and MIME type in the message, its
bytes as a binary buffer (no base64, no copy kept in the widget's state, so nothing is sent again to a page that
connects later). The JavaScript wraps the bytes in a Blob and clicks a temporary <a download> element, as a click
on a download link would. It runs wherever the page runs ipywidgets with anywidget: Voila, JupyterLab, and a
JupyterLite page whose kernel runs in the browser. A browser may still hold back a download that a page starts by
itself (some ask before a page saves several files), so the export buttons keep a link to the same file beside them.

In a browser page no PNG can be drawn in the kernel (kaleido needs a browser process of its own, Pyodide can start
none): there `downloader.figure_png("cost.png")` has plotly.js save the figure shown above the widget, as a click on
the figure's camera button would.
"""

from __future__ import annotations

import anywidget

# Listens from `initialize`, once per widget in the page, not once per view: a widget shown twice saves once.
ESM = r"""
function save(filename, mime, bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.style.display = "none";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);  // time for the browser to read it
}

// The plotly figure drawn last before `el` in the page: the figure above these export buttons.
function figureBefore(el) {
  for (let node = el.parentElement; node; node = node.parentElement) {
    const plots = [...node.querySelectorAll(".js-plotly-plot")].filter(
      (plot) => plot.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
    if (plots.length) return plots[plots.length - 1];
  }
  return null;
}

// plotly's own PNG export, as a click on its camera button would: drawn by plotly.js in this page.
function plotlyPng(el, filename) {
  const plot = figureBefore(el);
  const camera = plot && plot.querySelector('.modebar-btn[data-title^="Download plot"]');
  if (!camera) return;
  const options = plot._context && plot._context.toImageButtonOptions;
  if (options) options.filename = filename.replace(/\.png$/, "");  // plotly adds ".png"
  camera.click();
}

export default {
  initialize({ model }) {
    model.on("msg:custom", (message, buffers) => {
      if (typeof message.filename === "string" && buffers && buffers.length === 1) {
        save(message.filename, message.mime, buffers[0]);
      }
    });
  },
  // Each view answers a request for a figure's PNG with the figure above it (the Downloader is shown once).
  render({ model, el }) {
    const answer = (message) => {
      if (typeof message.figure_png === "string") plotlyPng(el, message.figure_png);
    };
    model.on("msg:custom", answer);
    return () => model.off("msg:custom", answer);
  },
};
"""


class Downloader(anywidget.AnyWidget):
    """Saves files in the browser: `download(filename, mime, data)` makes the page download `data`."""

    _esm = ESM

    def download(self, filename: str, mime: str, data: bytes) -> None:
        """Send the file to the page, which saves it as `filename` (MIME type `mime`)."""
        self.send({"filename": filename, "mime": mime}, buffers=[bytes(data)])

    def figure_png(self, filename: str) -> None:
        """Have the page save, as `filename`, the plotly figure shown last before this widget, drawn by plotly.js
        itself (a click on the figure's camera button): for a kernel that cannot draw a PNG (in a browser page,
        where kaleido cannot run). Nothing happens if the page shows no such figure."""
        self.send({"figure_png": filename})
