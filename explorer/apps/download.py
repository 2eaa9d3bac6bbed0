"""One press, one file: a tiny widget that has the browser save the bytes the kernel sends it.

    downloader = Downloader()          # put it on the page (it shows nothing)
    downloader.download("run.json", "application/json", data)

The kernel sends the file as one message to the widget's JavaScript: its name and MIME type in the message, its
bytes as a binary buffer (no base64, no copy kept in the widget's state, so nothing is sent again to a page that
connects later). The JavaScript wraps the bytes in a Blob and clicks a temporary <a download> element, as a click
on a download link would. It runs wherever the page runs ipywidgets with anywidget: Voila, JupyterLab, and a
JupyterLite page whose kernel runs in the browser. A browser may still hold back a download that a page starts by
itself (some ask before a page saves several files), so the export buttons keep a link to the same file beside them.
"""

from __future__ import annotations

import anywidget

# Listens from `initialize`, once per widget in the page, not once per view: a widget shown twice saves once.
ESM = """
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

export default {
  initialize({ model }) {
    model.on("msg:custom", (message, buffers) => {
      if (typeof message.filename === "string" && buffers && buffers.length === 1) {
        save(message.filename, message.mime, buffers[0]);
      }
    });
  },
};
"""


class Downloader(anywidget.AnyWidget):
    """Saves files in the browser: `download(filename, mime, data)` makes the page download `data`."""

    _esm = ESM

    def download(self, filename: str, mime: str, data: bytes) -> None:
        """Send the file to the page, which saves it as `filename` (MIME type `mime`)."""
        self.send({"filename": filename, "mime": mime}, buffers=[bytes(data)])
