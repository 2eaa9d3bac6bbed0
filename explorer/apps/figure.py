"""Driving a plotly figure from the kernel: traces by name, redraws without validation, pictures, axes.

    Figure, FigureWidget      a figure whose traces have names (add_named, trace), with `fast_update` (values
                              the app built itself, in one Plotly.update) and `quick_update` (one
                              Plotly.animate, which redraws only the traces it changes)
    draw_then_wrap            draw a demo's first state into a Figure, then wrap it in its FigureWidget
    binary_rows, colour_image, png_uri
                              values in the form plotly.js takes fastest: binary rows, a PNG picture
    log_range, log_ticks, steady_range, axis_end
                              axis ranges that change rarely (a new range redraws the whole figure)
"""

from __future__ import annotations

import base64
import math
import struct
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.basedatatypes import BaseTraceType
from plotly.serializers import custom_serializers
from traitlets import Dict, observe


class FastUpdate:
    """Traces by name, and `fast_update` for a plotly figure: values the app built itself, without plotly's
    validation.

    A demo gives every trace a name when it adds it (`add_named`, `replace_traces`) and says "cost", not 4:
    `trace(name)` is the trace, and `fast_update` and `quick_update` take names. The names are the figure's
    own, kept apart from plotly's trace `name` (the legend's text); a figure made from this one
    (Figure(figure), FigureWidget(figure)) has them too. Each name is looked up once a redraw, in a dict.

    plotly validates every value assigned to a figure, and for some values that costs more than the whole
    redraw is allowed: a Shape object, validated and deep-copied, for each link shape, and a 50x50 heatmap z
    converted and compared value by value. `fast_update` hands the values to plotly's own update path
    (`plotly_update`, which stores them in the figure and, for a FigureWidget, sends them): inside
    `batch_update` they join the redraw's single Plotly.update message.
    """

    def __init__(self, data=None, *args, **kwargs) -> None:
        super().__init__(data, *args, **kwargs)
        self._trace_names: dict[str, int] = dict(getattr(data, "_trace_names", {}))  # name -> index in data

    def add_named(self, name: str, trace: BaseTraceType, row: int | None = None, col: int | None = None) -> None:
        """Add `trace` (to the subplot at `row`, `col`, if given) under `name`, which no other trace has."""
        if name in self._trace_names:
            raise ValueError(f"this figure has a trace named {name!r} already")
        index = len(self.data)
        self.add_trace(trace, row=row, col=col)
        self._trace_names[name] = index

    def replace_traces(self, traces: dict[str, BaseTraceType]) -> None:
        """Replace every trace of the figure by `traces` (name -> trace, in this order): a FigureWidget sends
        them in one message, not one a trace."""
        self.data = []
        self.add_traces(list(traces.values()))
        self._trace_names = {name: index for index, name in enumerate(traces)}

    def trace_index(self, name: str | int) -> int:
        """The index in `data` of the trace named `name` (an index is returned as it is)."""
        if isinstance(name, int):
            return name
        try:
            return self._trace_names[name]
        except KeyError:
            known = ", ".join(repr(known) for known in self._trace_names) or "none"
            raise KeyError(f"this figure has no trace named {name!r}; its named traces: {known}") from None

    def trace(self, name: str) -> BaseTraceType:
        """The trace named `name`."""
        return self.data[self.trace_index(name)]

    def fast_update(self, layout: dict | None = None, traces: dict[str | int, dict] | None = None) -> None:
        """Set layout properties and trace properties without validating them, in one message.

        layout: key path -> value, e.g. {"shapes": [...], "yaxis.range": [0, 1], "annotations[2].text": "..."}
        traces: trace name (or index) -> {key path -> value}, e.g. {"pixels": {"z": rows, "x": xs}}

        The values must be what plotly.js accepts (plain numbers, strings, lists, 1-D numpy arrays, which
        go as binary, or `binary_rows` for a heatmap's z). A value equal to the current one is not sent.
        """
        with self.batch_update():  # joins the caller's batch if one is open
            self._batch_layout_edits.update(layout or {})
            for name, props in (traces or {}).items():
                self._batch_trace_edits.setdefault(self.trace_index(name), {}).update(props)

    def quick_update(self, traces: dict[str | int, dict], layout: dict | None = None) -> None:
        """Change the figure so that the browser redraws only what changed, not the whole figure.

        A Plotly.update (fast_update, batch_update) or a Plotly.relayout from a FigureWidget makes plotly.js
        recompute and redraw EVERY trace and panel of the figure (the widget marks every relayout with a key
        plotly.js does not know, which costs a full redraw even for a layout image alone). This sends one
        Plotly.animate instead, with no transition and `redraw: false`, of values the app built itself (not
        validated): plotly.js redraws these traces alone.

        traces   trace name (or index) -> properties, of scatter traces only (x, y, text, hovertext, mode); a
                 heatmap or a bar would not be redrawn.
                 Two quirks of plotly.js here: it removes the scatter traces of every panel none of whose
                 traces is in the animation (give each panel at least one, with {} if nothing changed), and it
                 does not autorange the axes (give them ranges).
        layout   layout images' `source` (plotly.js redraws them in an animation). Axis ranges and texts:
                 fast_update, and rarely (each change is a full redraw).

        Not inside batch_update: the animation is its own message.
        """
        assert not self._in_batch_mode, "quick_update sends its own message: call it outside batch_update"
        for name, props in traces.items():
            self._batch_trace_edits.setdefault(self.trace_index(name), {}).update(props)
        self._batch_layout_edits.update(layout or {})
        self._perform_batch_animate({"transition": {"duration": 0}, "frame": {"duration": 0, "redraw": False}})


class Figure(FastUpdate, go.Figure):
    """The figure an app draws its first state into, before it becomes a FigureWidget (see draw_then_wrap)."""


def draw_then_wrap(owner: Any, figure: go.Figure, draw: Callable[[], object]) -> None:
    """Draw the first state into `figure`, then wrap it: `owner.figure` is a Figure made from `figure` while
    `draw()` runs, and the FigureWidget made from what it drew afterwards.

    A FigureWidget carries its traces to the page as they are when it is made; Voila runs the whole
    notebook before the page connects, and changes made in between would never arrive. Drawing first and
    wrapping afterwards makes the first state part of the widget itself.
    """
    owner.figure = Figure(figure)
    draw()
    owner.figure = FigureWidget(owner.figure)


class FigureWidget(FastUpdate, go.FigureWidget):
    """A go.FigureWidget for redraws from the kernel: cheap acknowledgements, traces by name, `fast_update` and
    `quick_update`.

    After each redraw the browser reports every trace's properties as plotly.js computed them
    (`_js2py_traceDeltas`, tens of kB a redraw), and plotly's handler merges them into the Python figure as
    defaults before it clears `_trace_edit_in_process`, the ack gate's signal. Nothing here reads those
    defaults, so this handler only acknowledges: the merge cost kernel time on every redraw, and for a
    heatmap's x and y or a bar trace's x it raised (plotly.py issue #4160) before clearing the flag, which
    left the gate waiting `ack_timeout` before every redraw. The report is not echoed back to the browser
    (ipywidgets sends every value a browser set back to it: 18 kB a redraw here), nor reset to None (one
    more message a redraw): each report has a new edit id, so the next one is a change all the same.
    """

    _js2py_traceDeltas = Dict(allow_none=True).tag(sync=True, echo_update=False, **custom_serializers)
    drawn_edit_id = 0  # the latest trace edit the browser has reported drawn

    @observe("_js2py_traceDeltas")
    def _handler_js2py_traceDeltas(self, change):
        report = change["new"]
        if report:
            self.drawn_edit_id = max(self.drawn_edit_id, report.get("trace_edit_id", 0))
            if self.drawn_edit_id >= self._last_trace_edit_id:
                self._trace_edit_in_process = False

    def edits_in_flight(self) -> int:
        """Trace edits sent to the browser and not yet reported drawn (a drawn edit reports for the ones before
        it too: plotly.js may drop the report of an animation that a newer one replaced)."""
        return self._last_trace_edit_id - self.drawn_edit_id


# Where the static site serves plotly's widget JavaScript (staticsite/build.py copies it there from plotly's wheel).
SITE_PLOTLY_JS = "static/plotly/widgetbundle.js"


def load_plotly_js_from(url: str) -> None:
    """FigureWidgets made from now on have the page load plotly's widget JavaScript from `url`, instead of carrying
    it in their first message (5 MB). In a browser page (the static site) the kernel runs in the page itself, and
    passing the bundle through it took about a second of the page's start; as a file of the site, the browser also
    keeps it in its cache. anywidget loads a module from an address when `_esm` is one (http or https)."""
    FigureWidget._esm = url


def binary_rows(z, dtype=np.float32, decimals: int | None = None) -> list:
    """A heatmap's z for fast_update, as a list of 1-D numpy rows of `dtype`: each row goes to the browser as
    a binary typed array (plotly.js takes a heatmap's rows as typed arrays). A 2-D array or nested lists
    would go as JSON text, after plotly converted and compared them value by value in Python."""
    z = np.asarray(z)
    if decimals is not None:
        z = z.round(decimals)
    return list(z.astype(dtype))


def colour_image(values: np.ndarray, colorscale: list) -> np.ndarray:
    """Values from 0 to 1 as RGB pixels (uint8) of a plotly colour scale [[stop, "#rrggbb"], ...], the colour
    of each value interpolated linearly between the stops (as plotly.js colours a heatmap)."""
    stops = [stop for stop, _ in colorscale]
    channels = [[int(colour[1 + 2 * c:3 + 2 * c], 16) for _, colour in colorscale] for c in range(3)]
    values = np.clip(np.asarray(values, dtype=float), 0, 1)
    return np.stack([np.interp(values, stops, channel) for channel in channels], axis=-1).round().astype(np.uint8)


def png_uri(pixels: np.ndarray) -> str:
    """An RGB picture (rows from top to bottom, uint8) as a PNG data URI, the `source` of a layout image.

    A PNG (RFC 2083) is a signature and three chunks: IHDR (size, 8 bits per channel, colour type 2 = RGB),
    IDAT (the rows, each after a filter byte 0 = none, deflated by zlib) and IEND; each chunk is its length,
    its type, its data and the CRC-32 of type and data.
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width, _ = pixels.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b""))
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def log_range(values: np.ndarray, decades: float, pad: float = 0.15) -> list[float] | None:
    """A log10 axis range around the positive finite values, at least `decades` tall (None: nothing to show).

    Without a minimum height a flat curve (a plateau, or equal bars) would be zoomed in on rounding noise.
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return None
    low, high = np.log10(values.min()) - pad, np.log10(values.max()) + pad
    if high - low < decades:
        middle = (low + high) / 2
        low, high = middle - decades / 2, middle + decades / 2
    return [float(low), float(high)]


def log_ticks(axis_range: list[float] | None) -> tuple[list[float], list[str]]:
    """Ticks at 1, 2 and 5 times the powers of ten inside a log10 axis range (only the powers over a wide
    range), labelled as plain numbers (0.002, 50) if they all are short that way, else as powers of ten."""
    if axis_range is None:
        return [], []
    low, high = axis_range
    step = max(1, math.ceil((high - low) / 8))  # at most about eight powers of ten labelled
    mantissas = (1, 2, 5) if high - low <= 4 else (1,)
    ticks = [(m, e) for e in range(math.floor(low), math.ceil(high) + 1) for m in mantissas
             if (m > 1 or e % step == 0) and low <= math.log10(m) + e <= high]
    values = [m * 10.0**e for m, e in ticks]
    if all(-3 <= e <= 3 for _, e in ticks):
        return values, [f"{v:g}" for v in values]
    powers = [f"10<sup>{e}</sup>".replace("-", "−") for _, e in ticks]
    return values, [p if m == 1 else f"{m}×{p}" for (m, _), p in zip(ticks, powers, strict=True)]


def steady_range(current: list[float] | None, values: np.ndarray, decades: float) -> list[float] | None:
    """A log10 axis range for `values` (see log_range) that changes only when it must, as a new range makes the
    browser redraw the whole figure.

    The current range stays while the values fit in it and it is at most 1.5 times (plus two decades) as tall
    as they need. When they leave it, it widens to take them, a quarter of their height further on the side
    they left by (a gradient shrinking a decade every few hundred steps moves the axis a few times, not at
    every decade); if that would be too tall, it becomes a range around the values alone. Its ends are
    rounded outwards to whole decades.
    """
    wanted = log_range(values, decades)
    if wanted is None:
        return current
    tallest = 1.5 * (wanted[1] - wanted[0]) + 2
    if current is not None:
        if current[0] <= wanted[0] and wanted[1] <= current[1] and current[1] - current[0] <= tallest:
            return current
        margin = (wanted[1] - wanted[0]) / 4
        wider = [wanted[0] - margin if wanted[0] < current[0] else current[0],
                 wanted[1] + margin if wanted[1] > current[1] else current[1]]
        if math.ceil(wider[1]) - math.floor(wider[0]) <= tallest:
            wanted = wider
    return [float(math.floor(wanted[0])), float(math.ceil(wanted[1]))]


def axis_end(steps: float, stop_at: int) -> int:
    """The right end of the iteration axis: 100, 1,000, then where the run stops (or the last step shown, if
    later), so the axis changes (a full redraw) twice in a run, and the curve grows into it in between."""
    return next((end for end in (100, 1000) if steps <= end and end < stop_at), max(steps, stop_at))
