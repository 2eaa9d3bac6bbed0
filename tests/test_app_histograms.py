"""The per-layer histograms demo: its controls change the figure as the engine predicts."""

import asyncio
import base64
import struct
import zlib

import numpy as np
import pytest
from test_live_figure import capture_messages, check_redraws_are_animates, train_to

from explorer import datasets
from explorer.apps import histograms
from explorer.apps.histograms import HistogramsApp
from explorer.network import Network


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_MNIST", str(tmp_path / "no-mnist-here"))
    app = HistogramsApp()
    app.use_ack_gate = False
    return app


@pytest.fixture(scope="module")
def shared_app():
    """One app for the read-only checks, which only switch controls and look at step 0."""
    return HistogramsApp()


def bars(app, layer):
    """Bin centres and heights of the histogram of hidden layer `layer` (1..4) as drawn: a step line whose first
    and last points are the outer edges (see histograms.steps_x)."""
    bar = app.figure.data[layer - 1]
    return np.asarray(bar.x)[1:-1], np.asarray(bar.y, dtype=float)[1:-1]


def title(app, layer):
    """The title above the histogram of hidden layer `layer` (a text trace)."""
    return app.figure.trace(f"title {layer}").text[0]


def test_xavier_to_standard_normal_pushes_last_layer_to_the_edges(app):
    x, y = bars(app, 4)
    edges = np.abs(x) > 0.9
    assert app.init.value == "xavier"
    assert y[edges].sum() < 0.05

    app.init.value = "normal"
    x, y = bars(app, 4)
    assert y[edges].sum() > 0.8  # tanh saturates: ~93% of layer 4 beyond |a| = 0.9
    assert y[np.abs(x) < 0.5].sum() < 0.05


def test_zero_init_puts_every_value_in_the_zero_bin(app):
    app.init.value = "zeros"
    for layer in range(1, 5):
        x, y = bars(app, layer)
        assert y[x == 0] == pytest.approx([1.0])
        assert y[x != 0].sum() == 0
    assert "std 0.00" in title(app, 4)


def test_gradient_toggle_plots_gradient_histograms(app):
    before = bars(app, 1)[1].copy()
    app.show.value = "gradients"
    x, y = bars(app, 1)
    snap = app.snapshot
    assert y == pytest.approx((snap.grad_hist[0, 0] / (100 * 300)).round(4))
    assert not np.allclose(y, before)
    assert x[0] == pytest.approx(histograms.GRADIENT_RANGE[0] / histograms.GRADIENT_UNIT)
    assert "gradient" in app.figure.layout.xaxis.title.text
    assert f"{snap.grad_std[0, 0]:.1e}" in title(app, 1)
    app.show.value = "activations"
    assert bars(app, 1)[1] == pytest.approx(before)


def test_training_grows_cost_curve_and_changes_batch_mosaic(app):
    mosaic_before = [row[:] for row in app.figure.data[8].z]
    picture_before = app.figure.layout.images[0].source
    assert len(app.figure.data[4].y) == 1
    train_to(app, 5)
    assert app.trainer.step == 5 * app.every
    cost = app.figure.data[4].y
    assert len(cost) >= 2 and cost[-1] < cost[0]
    assert len(app.figure.data[7].y) == len(cost)  # test accuracy alongside
    assert [list(row) for row in app.figure.data[8].z] != mosaic_before
    assert app.figure.layout.images[0].source != picture_before
    assert f"step {app.trainer.step:,}" in app.status.value


def test_activation_changes_histogram_x_range(app):
    assert app.figure.layout.xaxis.range == pytest.approx((-1.225, 1.225))
    app.activation.value = "relu"
    layout = app.figure.layout
    assert layout.xaxis.range[0] < 0 < layout.xaxis.range[1] and layout.xaxis.range[1] == pytest.approx(3.03125)
    assert layout.xaxis4.range == layout.xaxis.range
    x, y = bars(app, 2)
    assert x[0] == 0 and x[-1] == pytest.approx(3.0)
    assert y[0] > 0.3  # ReLU zeroes about half of its inputs
    assert "ReLU" in layout.xaxis.title.text
    app.activation.value = "sigmoid"
    assert app.figure.layout.xaxis.range == pytest.approx((-0.1125, 1.1125))


def test_free_scale_slider(app):
    assert app.scale.disabled
    xavier = bars(app, 4)[1].copy()
    app.init.value = "scale"
    assert not app.scale.disabled
    assert bars(app, 4)[1] == pytest.approx(xavier)  # v = 1 is Xavier N(0, 1/n), same draws
    app.scale.value = 1e-3
    x, y = bars(app, 4)
    assert y[x == 0] == pytest.approx([1.0], abs=1e-3)  # collapsed onto 0
    assert "v = 0.001" in app.figure.layout.title.text


def test_bad_learning_rate_shows_message_and_app_recovers(app):
    app.learning_rate.value = -1
    assert "learning rate" in app.message.value
    assert app.train_button.disabled
    app.learning_rate.value = 0.05
    assert app.message.value == ""
    assert not app.train_button.disabled
    train_to(app, 1)
    assert app.trainer.step == app.every


def test_mnist_choice_absent_without_files(app):
    assert [value for _, value in app.dataset.options] == ["digits"]
    assert "EXPLORER_MNIST" in app.note.value


def test_mnist_choice_with_files(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    for name, count in (("train", 300), ("t10k", 100)):
        datasets.write_idx(tmp_path / f"{name}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        datasets.write_idx(tmp_path / f"{name}-labels-idx1-ubyte", rng.integers(0, 10, count))
    monkeypatch.setenv("EXPLORER_MNIST", str(tmp_path))
    app = HistogramsApp()
    app.dataset.value = "mnist"
    assert app.message.value == ""
    assert app.trainer.net.sizes == [784, 300, 300, 300, 300, 10]
    assert len(app.figure.data[8].z) == 4 * (14 + 4)  # 14x14 thumbnails in the mosaic
    assert app.figure.data[8].zmax == 255


@pytest.mark.parametrize(
    "activation, init, spreads",
    [  # a_std of hidden layers 1-4 at step 0, as quoted in notebooks/histograms.ipynb
        ("tanh", "xavier", [0.59, 0.47, 0.40, 0.35]),
        ("tanh", "uniform", [0.44, 0.24, 0.13, 0.077]),
        ("tanh", "normal", [0.94, 0.98, 0.98, 0.98]),
        ("relu", "xavier", [0.61, 0.43, 0.31, 0.22]),
        ("relu", "he", [0.86, 0.87, 0.87, 0.90]),
    ],
)
def test_layer_spreads_quoted_in_the_notebook(shared_app, activation, init, spreads):
    app = shared_app
    app.activation.value = activation
    app.init.value = init
    assert app.snapshot.step == 0
    assert app.snapshot.a_std[:4, 0] == pytest.approx(spreads, rel=0.03, abs=0.005)


# -- quick redraws --------------------------------------------------------------------------------


def png_pixels(uri):
    """The RGB pixels of a PNG data URI as png_uri writes them (8-bit RGB, every row after filter byte 0)."""
    png = base64.b64decode(uri.split(",", 1)[1])
    width, height = struct.unpack(">II", png[16:24])
    data, at = b"", 8
    while at < len(png):
        (length,), kind = struct.unpack(">I", png[at:at + 4]), png[at + 4:at + 8]
        if kind == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    rows = np.frombuffer(zlib.decompress(data), dtype=np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(rows[:, 0] == 0)
    return rows[:, 1:].reshape(height, width, 3)


def test_a_redraw_while_training_is_one_animate_and_no_update(app):
    """While training, a redraw is one Plotly.animate of scatter traces and the batch's picture (quick_update);
    a Plotly.update (a full redraw in the browser) only when an axis range changes, which is rare."""
    sent = check_redraws_are_animates(app)
    # One more snapshot early in a run: nothing in the layout changes, so no full redraw. (Not after the run
    # above: its curves may have just reached MARKERS_UP_TO points, and the next snapshot would then drop the
    # markers, one full redraw.)
    app.reset()
    app.pull(10)  # past the first steps, where the cost's range still widens
    app.draw()
    ranges = app.share_top, app.cost_range
    sent.clear()
    app.pull(1)
    app.draw()
    assert (app.share_top, app.cost_range) == ranges and len(app.costs.x) <= histograms.MARKERS_UP_TO
    assert sent == ["animate"]


def test_bars_are_the_histograms_of_the_activations_computed_with_numpy(app):
    """At step 0 the bars of each layer are the shares of its activations on the batch in each bin: the
    network's forward pass on the batch's images, counted by numpy.histogram."""
    snap = app.snapshot
    xavier = histograms.INITIALIZATIONS["xavier"][1](1.0)
    net = Network(app.trainer.net.sizes, hidden="tanh", output="softmax", init=xavier, seed=0, dtype="float32")
    forward = net.forward(app.digit_data().X[snap.batch])
    _, edges = histograms.centred_bins(-1.2, 1.2)
    for layer in range(1, 5):
        counts, _ = np.histogram(forward.A[layer][0], bins=edges)
        x, y = bars(app, layer)
        assert y == pytest.approx(counts / forward.A[layer][0].size, abs=1e-4)
        assert x == pytest.approx((edges[:-1] + edges[1:]) / 2)
        outline = app.figure.data[layer - 1]
        outline_x, outline_y = np.asarray(outline.x, dtype=float), np.asarray(outline.y, dtype=float)
        assert outline_x[[0, -1]] == pytest.approx(edges[[0, -1]])  # the step line spans the outer edges
        assert outline_y[[0, -1]] == pytest.approx(y[[0, -1]])
        assert title(app, layer) == f"layer {layer} · std {forward.A[layer][0].std():.2f}"


def test_curves_and_bars_lie_inside_their_axes(app):
    """A quick redraw does not autorange: every value drawn lies inside the ranges the app gave."""
    train_to(app, 20)
    layout = app.figure.layout
    top = layout.yaxis.range[1]
    assert all(layout[f"yaxis{a}"].range[1] == top for a in ("", "2", "3", "4"))
    assert max(bars(app, layer)[1].max() for layer in range(1, 5)) * 1.05 <= top
    low, high = layout.yaxis5.range
    for index in (4, 5):
        cost = np.log10(np.asarray(app.figure.data[index].y, dtype=float))
        assert low <= cost.min() and cost.max() <= high
    for axis in ("xaxis5", "xaxis6"):
        assert layout[axis].range[0] <= 0 and app.trainer.step <= layout[axis].range[1]
    # the title sits on top of each histogram, in the middle of its x axis
    assert app.figure.trace("title 1").y == (top,) and app.figure.trace("title 1").x == (0.0,)


def test_the_batch_is_a_picture_of_its_pixels_in_greys(app):
    """The mosaic is a layout image: each pixel of the hidden heatmap's z a block of its Greys colour (white 0,
    black the largest value), placed over the mosaic's cells."""
    z = np.asarray(app.figure.data[8].z)
    pixels = png_pixels(app.figure.layout.images[0].source)
    block = pixels.shape[1] // z.shape[1]
    assert block >= 4 and pixels.shape == (z.shape[0] * block, z.shape[1] * block, 3)
    cells = pixels[::block, ::block]
    assert np.all(cells[z == 0] == 255) and np.all(cells[z == 16] == 0)
    greys = []
    for value in np.unique(z):  # one grey for each pixel value, darker for a larger one
        colours = cells[z == value]
        assert np.all(colours == colours[0]) and colours[0, 0] == colours[0, 1] == colours[0, 2]
        greys.append(int(colours[0, 0]))
    assert np.all(np.diff(greys) < 0)
    image, layout = app.figure.layout.images[0], app.figure.layout
    assert (image.x, image.y, image.sizex, image.sizey) == (-0.5, -0.5, z.shape[1], z.shape[0])
    assert layout.xaxis7.range == (-0.5, z.shape[1] - 0.5) and layout.yaxis7.range == (z.shape[0] - 0.5, -0.5)
    right = sum(text_color == histograms.RIGHT_COLOR for text_color in app.figure.data[11].textfont.color)
    assert app.figure.trace("batch title").text == (f"batch: {right} of 16 right (red: wrong)",)


def test_curves_mark_each_snapshot_only_while_they_are_short(app):
    """The cost and accuracy curves mark each snapshot while they have at most MARKERS_UP_TO points; past that,
    lines alone (the browser restyles every marker at each redraw), switched by one full redraw, once."""
    curves = [app.figure.trace(name) for name in ("batch cost", "test cost", "batch accuracy", "test accuracy")]
    while len(curves[0].x) < histograms.MARKERS_UP_TO:
        app.pull(1)
        app.draw()
    assert [curve.mode for curve in curves] == ["lines+markers"] * 4
    sent = capture_messages(app.figure)
    app.pull(1)
    app.draw()
    assert len(curves[0].x) == histograms.MARKERS_UP_TO + 1
    assert [curve.mode for curve in curves] == ["lines"] * 4
    assert sent == ["update", "animate"]
    sent.clear()
    app.pull(1)
    app.draw()
    assert sent == ["animate"]


def test_four_redraws_in_flight_then_the_gate_waits(app):
    """Without a browser's report, training sends HistogramsApp.in_flight (4) redraws, then waits for one."""
    assert HistogramsApp.in_flight == 4
    app.use_ack_gate, app.max_fps, app.ack_timeout = True, 1000.0, 60.0  # only the gate holds redraws back
    app.run_steps = 10**9
    app.reset()
    sent = capture_messages(app.figure)
    app.figure._js2py_traceDeltas = {"trace_deltas": [], "trace_edit_id": app.figure._last_trace_edit_id}

    async def train():
        app.start()
        await asyncio.sleep(1.0)
        app.stop(show=False)

    asyncio.run(train())
    assert sent.count("animate") == 4
