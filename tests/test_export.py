"""Export: a run's history and configuration to CSV and JSON, figures to standalone HTML and PNG, and the
export buttons a demo can show."""

import asyncio
import base64
import csv
import io
import json
import math
import re
import struct

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer import datasets, export
from explorer.apps import export_controls
from explorer.apps.export_controls import ExportControls
from explorer.network import Network
from explorer.training import History, Trainer


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def run():
    data = datasets.toy("circles", 120, 0.1, seed=1)
    net = Network([2, 5, 1], hidden="relu", output="sigmoid", init=["he_normal", "xavier_normal"], seed=[3, 4])
    trainer = Trainer(net, data.X, data.y, lr=0.1)
    history = History(2, max_points=8)
    snap = None
    for snap in trainer.snapshots(every=5, steps=60):
        history.append(snap.step, snap.cost)
    return trainer, history, snap


def test_plain_makes_numpy_and_nan_json_ready():
    value = {"a": np.array([1.0, np.nan, np.inf]), "b": np.int64(3), 4: (np.float32(0.5), True)}
    assert export.plain(value) == {"a": [1.0, None, None], "b": 3, "4": [0.5, True]}


def test_history_csv_holds_every_kept_value_exactly(run):
    _, history, _ = run
    text = export.history_csv({"cost": history}, labels=["He", "Xavier"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == history.y.size
    for row in rows:
        i = list(history.x).index(int(row["step"]))
        k = ["He", "Xavier"].index(row["column"])
        assert row["series"] == "cost" and float(row["value"]) == history.y[i, k]  # repr round-trips exactly


def test_nan_is_an_empty_cell_and_unlabelled_columns_are_numbered():
    history = History(3, max_points=4)
    history.append(0, [1.0, np.nan, 2.5])
    rows = list(csv.DictReader(io.StringIO(export.history_csv({"h": history}))))
    assert [(r["column"], r["value"]) for r in rows] == [("0", "1.0"), ("1", ""), ("2", "2.5")]


def test_run_record_keeps_config_histories_and_the_latest_snapshot(run):
    trainer, history, snap = run
    record = export.run_record(trainer.config(), {"cost": history}, snap, labels=["He", "Xavier"],
                               settings={"lr": 0.1})
    again = strict_json(export.record_json(record))
    assert again["config"] == json.loads(json.dumps(trainer.config()))
    assert again["config"]["seeds"] == [3, 4] and again["models"] == ["He", "Xavier"]
    assert again["histories"]["cost"]["steps"] == history.x.tolist()
    np.testing.assert_array_equal(again["histories"]["cost"]["values"], history.y)
    assert again["snapshot"]["step"] == snap.step == 60
    np.testing.assert_array_equal(again["snapshot"]["a_std"], snap.a_std)
    assert again["settings"] == {"lr": 0.1}


def test_save_run_writes_json_and_csv(run, tmp_path):
    trainer, history, snap = run
    paths = export.save_run(tmp_path / "runs" / "circles", export.run_record(trainer.config(), {"cost": history}))
    assert paths["json"].name == "circles.json" and paths["csv"].name == "circles.csv"
    assert strict_json(paths["json"].read_text())["config"]["lr"] == [0.1, 0.1]
    assert paths["csv"].read_text() == export.history_csv({"cost": history})


def test_a_diverged_run_gives_strict_json():
    history = History(1, max_points=4)
    history.append(0, [math.inf])
    history.append(1, [math.nan])
    again = strict_json(export.record_json(export.run_record(histories={"cost": history})))
    assert again["histories"]["cost"]["values"] == [[None], [None]]


def figure():
    return go.Figure(go.Scatter(x=[0, 1, 2], y=[3.0, 1.0, 2.0], name="marker-trace-7"),
                     layout=dict(width=300, height=200))


def test_html_is_standalone(tmp_path):
    path = export.save_figure(figure(), tmp_path / "fig.html")
    text = path.read_text()
    assert text.lstrip().lower().startswith("<!doctype html>") and "marker-trace-7" in text
    assert not re.search(r"<script[^>]*src=", text) and len(text) > 1_000_000  # plotly.js itself is inside


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_through_kaleido(tmp_path):
    path = export.save_figure(figure(), tmp_path / "fig.png")
    assert png_size(path.read_bytes()) == (600, 400)  # 300 x 200 at scale 2


def test_save_figure_refuses_other_formats(tmp_path):
    with pytest.raises(ValueError, match="html or .png"):
        export.save_figure(figure(), tmp_path / "fig.svg")


# -- the buttons ---------------------------------------------------------------------------------------------


class FakeApp:
    """A demo as the export buttons see it: a trainer, histories, a snapshot, a figure and controls."""

    def __init__(self, run):
        import ipywidgets as widgets

        self.trainer, self.costs, self.snapshot = run
        self.keys = ("he", "xavier")
        self.figure = go.FigureWidget(figure())
        self.seed = widgets.IntText(value=3)
        self.init = widgets.Dropdown(options=["he", "zero"], value="zero")

    def settings(self):
        return {"seed": self.seed, "init": self.init}


def offered(controls) -> tuple[str, bytes]:
    match = re.search(r'download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', controls.link.value)
    assert match, controls.link.value
    return match.group(1), base64.b64decode(match.group(2))


def test_csv_and_json_buttons_offer_the_run(run):
    controls = ExportControls(FakeApp(run), name="circles")
    controls.buttons["CSV"].click()
    name, data = offered(controls)
    assert name == "circles-step60.csv"
    assert data.decode() == export.history_csv({"costs": run[1]}, labels=["he", "xavier"])
    controls.buttons["JSON"].click()
    name, data = offered(controls)
    record = strict_json(data.decode())
    assert name == "circles-step60.json" and record["config"]["seeds"] == [3, 4]
    assert record["settings"]["controls"] == {"seed": 3, "init": "zero"}


def sent_files(controls) -> list:
    """Record what the export buttons' downloader sends to the page, as it goes over the widget's comm."""
    sent = []
    controls.downloader.comm.send = lambda data=None, metadata=None, buffers=None: sent.append((data, buffers))
    return sent


def test_one_press_sends_the_file_to_the_page_to_save(run):
    controls = ExportControls(FakeApp(run), name="circles")
    sent = sent_files(controls)
    for label, mime in (("CSV", "text/csv"), ("JSON", "application/json"), ("HTML", "text/html")):
        controls.buttons[label].click()
        name, data = offered(controls)  # the link beside the buttons offers the same file
        message, buffers = sent.pop()
        assert message == {"method": "custom", "content": {"filename": name, "mime": mime}}
        assert buffers == [data] and isinstance(buffers[0], bytes)
    assert name == "circles-step60.html" and not sent  # one message a press


def test_an_export_that_fails_sends_nothing(run, monkeypatch):
    def broken(fig, *args, **kwargs):
        raise export.ExportError("PNG export needs the package kaleido")

    monkeypatch.setattr(export, "figure_png", broken)
    controls = ExportControls(FakeApp(run))
    sent = sent_files(controls)
    controls.buttons["PNG"].click()
    assert "explorer-error" in controls.link.value and sent == []


def test_html_button_offers_the_figure_and_can_also_save_it(run, tmp_path):
    controls = ExportControls(FakeApp(run), name="circles", directory=tmp_path)
    controls.buttons["HTML"].click()
    name, data = offered(controls)
    assert b"marker-trace-7" in data and (tmp_path / name).read_bytes() == data


def test_png_is_made_in_a_worker_thread_inside_a_running_loop(run, monkeypatch):
    threads = []

    def fake_png(fig, *args, **kwargs):
        import threading

        threads.append(threading.current_thread().name)
        assert not isinstance(fig, go.FigureWidget)  # a plain copy crosses to the thread, not the widget
        return b"\x89PNG fake"

    monkeypatch.setattr(export, "figure_png", fake_png)
    controls = ExportControls(FakeApp(run))

    async def press():
        controls.buttons["PNG"].click()
        making = controls.link.value
        await controls.task
        return making

    sent = sent_files(controls)
    assert "making" in asyncio.run(press())
    assert offered(controls) == ("fake-step60.png", b"\x89PNG fake")
    assert sent == [({"method": "custom", "content": {"filename": "fake-step60.png", "mime": "image/png"}},
                     [b"\x89PNG fake"])]
    assert threads and threads[0] != "MainThread"


def test_an_export_that_fails_shows_a_message(run, monkeypatch):
    def broken(fig, *args, **kwargs):
        raise export.ExportError("PNG export needs the package kaleido")

    monkeypatch.setattr(export, "figure_png", broken)
    controls = ExportControls(FakeApp(run))
    controls.buttons["PNG"].click()
    assert "explorer-error" in controls.link.value and "kaleido" in controls.link.value


def test_a_demo_without_a_run_says_so():
    class NoRun:
        figure = None

    controls = ExportControls(NoRun())
    controls.buttons["CSV"].click()
    assert "no training run" in controls.link.value
    controls.buttons["HTML"].click()
    assert "no figure" in controls.link.value
    assert export_controls.model_labels(NoRun()) is None


def test_in_the_browser_png_is_left_to_plotly_in_the_page_with_no_kaleido_and_no_thread(run, monkeypatch):
    """A browser page (Pyodide) has neither kaleido nor threads: the PNG button asks the page's plotly.js to save
    the figure (the downloader's figure_png message), says how to do it by hand, and starts nothing."""
    import threading

    from explorer import runtime

    def refused(*args, **kwargs):
        raise AssertionError("nothing may draw a PNG in the kernel or start a thread here")

    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    monkeypatch.setattr(export, "figure_png", refused)
    monkeypatch.setattr(threading.Thread, "start", refused)
    controls = ExportControls(FakeApp(run))
    sent = sent_files(controls)

    async def press():
        controls.buttons["PNG"].click()

    asyncio.run(press())  # inside a running loop, where natively the PNG goes to a worker thread
    assert controls.task is None
    assert sent == [({"method": "custom", "content": {"figure_png": "fake-step60.png"}}, None)]
    assert "camera icon at the top right of the figure" in controls.link.value
    assert "explorer-error" not in controls.link.value

    class NoFigure:
        figure = None

    bare = ExportControls(NoFigure())
    bare_sent = sent_files(bare)
    bare.buttons["PNG"].click()
    assert "no figure" in bare.link.value and bare_sent == []


def test_in_the_browser_a_png_in_the_kernel_is_refused_with_what_to_do_instead(monkeypatch):
    from explorer import runtime

    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    with pytest.raises(export.ExportError, match="cannot run in a browser page: use the camera icon"):
        export.figure_png(figure())
