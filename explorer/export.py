"""Save a run and its figures: history and configuration to CSV and JSON, figures to PNG and standalone HTML.

    record = run_record(trainer.config(), histories={"cost": history}, snapshot=snap, labels=["He", "Xavier"])
    save_run("runs/he-vs-xavier", record)          # runs/he-vs-xavier.json and runs/he-vs-xavier.csv
    save_figure(fig, "figures/cost.html")          # the whole page, plotly.js included: opens offline
    save_figure(fig, "figures/cost.png")           # needs kaleido and a Chrome or Chromium (see figure_png)

The CSV is "long": one row per value, with the columns series, step, column, value. Every history fits
that shape whatever its width, and a spreadsheet's pivot table or pandas' `pivot` turns it wide.
The JSON holds the configuration (seeds included), the histories, the latest snapshot's statistics
and any extra settings the caller adds; NaN and infinity become null, so any JSON reader takes it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from explorer import __version__, runtime
from explorer.training import History, Snapshot

# The per-model and per-layer statistics of a snapshot that a record keeps (not the weights themselves).
SNAPSHOT_FIELDS = ("step", "epoch", "cost", "accuracy", "status", "diverged_at", "z_mean", "z_std", "a_mean",
                   "a_std", "grad_std", "weight_norm", "grad_norm")


class ExportError(RuntimeError):
    """An export that cannot be made here (for a PNG: no kaleido, or no browser for it to drive)."""


def _check_mapping(name: str, value: Any, optional: bool = False) -> None:
    if not (isinstance(value, Mapping) or (optional and value is None)):
        allowed = "a mapping (dict) or None" if optional else "a mapping (dict)"
        raise TypeError(f"{name}={value!r} must be {allowed}, not {type(value).__name__}")


def _check_path(path: Any) -> None:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path={path!r} must be a str or a path (os.PathLike), not {type(path).__name__}")


def _check_figure(figure: Any) -> None:
    if not (hasattr(figure, "to_html") and hasattr(figure, "to_image") and hasattr(figure, "layout")):
        raise TypeError(f"figure={figure!r} must be a plotly figure (go.Figure or go.FigureWidget), "
                        f"not {type(figure).__name__}")


def plain(value: Any) -> Any:
    """`value` with numpy arrays and numbers made into lists, ints and floats, and NaN/inf into None."""
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int)):  # bool is an int
        return value
    raise TypeError(f"value={value!r} has no JSON form ({type(value).__name__}): give numbers, texts, lists, "
                    "dicts or numpy arrays")


def column_names(width: int, labels: Sequence[str] | None) -> list[str]:
    """Names of a history's columns: the labels when there is one per column, else 0, 1, 2, ..."""
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 0:
        raise ValueError(f"width={width!r} must be a non-negative integer (a history's columns)")
    if labels is not None and len(labels) == width:
        return [str(label) for label in labels]
    return [str(j) for j in range(width)]


def history_csv(histories: Mapping[str, History], labels: Sequence[str] | None = None) -> str:
    """The histories as CSV text: columns series, step, column, value (an empty cell for NaN)."""
    return records_csv(run_record(histories=histories, labels=labels))


def snapshot_summary(snapshot: Snapshot) -> dict:
    """The statistics of a snapshot (per model, and per layer and model), without weights or batches."""
    if not isinstance(snapshot, Snapshot):
        raise TypeError(f"snapshot={snapshot!r} must be an explorer.training.Snapshot, not {type(snapshot).__name__}")
    return {name: plain(getattr(snapshot, name)) for name in SNAPSHOT_FIELDS}


def run_record(
    config: Mapping[str, Any] | None = None,
    histories: Mapping[str, History] | None = None,
    snapshot: Snapshot | None = None,
    labels: Sequence[str] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict:
    """Everything a run leaves to save, as plain JSON-ready data.

    config: a Trainer's ``config()`` (sizes, initializers, seeds, learning rate, ...).
    histories: named History objects (their kept steps and values).
    snapshot: the latest Snapshot, summarised by ``snapshot_summary``.
    labels: one name per model (the columns of a history as wide as the stack).
    settings: anything else worth keeping, e.g. an app's control values.
    """
    _check_mapping("config", config, optional=True)
    _check_mapping("histories", histories, optional=True)
    _check_mapping("settings", settings, optional=True)
    if labels is not None and (isinstance(labels, str) or not isinstance(labels, Sequence)):
        raise TypeError(f"labels={labels!r} must be a list of names, one per model, or None")
    histories = dict(histories or {})
    record: dict[str, Any] = {"explorer_version": __version__}
    record["config"] = plain(dict(config)) if config is not None else None
    record["models"] = list(labels) if labels is not None else None
    record["settings"] = plain(dict(settings)) if settings is not None else None
    record["histories"] = {}
    for name, history in histories.items():
        if not isinstance(history, History):
            raise TypeError(f"histories[{name!r}] must be an explorer.training.History, got {type(history).__name__}")
        values = history.y
        record["histories"][name] = {"columns": column_names(values.shape[1], labels),
                                     "steps": plain(history.x), "values": plain(values)}
    record["snapshot"] = snapshot_summary(snapshot) if snapshot is not None else None
    return record


def record_json(record: Mapping[str, Any]) -> str:
    """A run record as JSON text (strict JSON: NaN and infinity were made null by ``plain``)."""
    _check_mapping("record", record)
    return json.dumps(plain(dict(record)), indent=1, allow_nan=False)


def save_run(path: str | os.PathLike, record: Mapping[str, Any]) -> dict[str, Path]:
    """Write PATH.json (the whole record) and PATH.csv (its histories, long format); return both paths."""
    _check_path(path)
    _check_mapping("record", record)
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = base.with_name(base.name + ".json"), base.with_name(base.name + ".csv")
    json_path.write_text(record_json(record), encoding="utf-8")
    csv_path.write_text(records_csv(record), encoding="utf-8")
    return {"json": json_path, "csv": csv_path}


def records_csv(record: Mapping[str, Any]) -> str:
    """The histories of a run record as CSV text, like ``history_csv``."""
    _check_mapping("record", record)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["series", "step", "column", "value"])
    for name, history in (record.get("histories") or {}).items():
        for step, row in zip(history["steps"], history["values"], strict=True):
            for column, value in zip(history["columns"], row, strict=True):
                writer.writerow([name, step, column, "" if value is None else repr(value)])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Figures


def figure_html(figure: Any) -> str:
    """The figure as one standalone HTML page, plotly.js included (about 4.8 MB): opens without a network."""
    _check_figure(figure)
    return figure.to_html(include_plotlyjs=True, full_html=True)


def figure_png(figure: Any, width: int | None = None, height: int | None = None, scale: float = 2.0) -> bytes:
    """The figure as a PNG image, drawn by kaleido in a headless Chrome or Chromium.

    kaleido (1.x) drives a browser through choreographer: it finds Chrome or Chromium on the PATH
    (Debian's /usr/bin/chromium included), or takes the one named by the environment variable
    BROWSER_PATH. Each call starts the browser anew: a few seconds. Raises ExportError when kaleido
    or a browser is missing, saying what to install.
    """
    _check_figure(figure)
    for name, pixels in (("width", width), ("height", height)):
        if pixels is not None and (isinstance(pixels, bool) or not isinstance(pixels, (int, np.integer))
                                   or not 10 <= pixels <= 10_000):
            raise ValueError(f"{name}={pixels!r} must be None or a whole number of pixels from 10 to 10,000")
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.integer, np.floating)) \
            or not 0 < scale <= 10:
        raise ValueError(f"scale={scale!r} must be a number above 0 and at most 10")
    if runtime.IN_BROWSER:  # Pyodide: kaleido cannot start the browser process it draws in
        raise ExportError("PNG export cannot run in a browser page: use the camera icon at the top right of the "
                          "figure (plotly's own PNG export), or save the figure as HTML")
    try:
        import kaleido  # noqa: F401  (plotly.io.to_image imports it itself; checked here for a clear message)
    except ImportError:
        raise ExportError("PNG export needs the package kaleido: pip install kaleido") from None
    if width is None:
        width = figure.layout.width or 1100
    if height is None:
        height = figure.layout.height or 500
    try:
        return figure.to_image(format="png", width=width, height=height, scale=scale)
    except Exception as error:  # kaleido's errors for a missing or failing browser are of several types
        raise ExportError(f"PNG export failed ({type(error).__name__}: {error}). kaleido needs Chrome or "
                          "Chromium: install one, or set BROWSER_PATH to its executable") from error


def save_figure(figure: Any, path: str | os.PathLike) -> Path:
    """Write the figure to PATH: .html (standalone) or .png, chosen by the suffix."""
    _check_figure(figure)
    _check_path(path)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".png"):
        raise ValueError(f"path={str(path)!r} must end in .html or .png")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".html":
        path.write_text(figure_html(figure), encoding="utf-8")
    else:
        path.write_bytes(figure_png(figure))
    return path
