"""The per-layer histograms demo: its controls change the figure as the engine predicts."""

import asyncio

import numpy as np
import pytest

from explorer import datasets
from explorer.apps import histograms
from explorer.apps.histograms import HistogramsApp


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
    """Bin centres and heights of the histogram of hidden layer `layer` (1..4) as drawn."""
    bar = app.figure.data[layer - 1]
    return np.asarray(bar.x), np.asarray(bar.y)


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
    assert "std 0.00" in app.figure.layout.annotations[3].text


def test_gradient_toggle_plots_gradient_histograms(app):
    before = bars(app, 1)[1].copy()
    app.show.value = "gradients"
    x, y = bars(app, 1)
    snap = app.snapshot
    assert y == pytest.approx((snap.grad_hist[0, 0] / (100 * 300)).round(4))
    assert not np.allclose(y, before)
    assert x[0] == pytest.approx(histograms.GRADIENT_RANGE[0] / histograms.GRADIENT_UNIT)
    assert "gradient" in app.figure.layout.xaxis.title.text
    assert f"{snap.grad_std[0, 0]:.1e}" in app.figure.layout.annotations[0].text
    app.show.value = "activations"
    assert bars(app, 1)[1] == pytest.approx(before)


def test_training_grows_cost_curve_and_changes_batch_mosaic(app):
    mosaic_before = [row[:] for row in app.figure.data[8].z]
    assert len(app.figure.data[4].y) == 1
    asyncio.run(app.train(seconds=0.5))
    assert app.trainer.step >= app.every
    cost = app.figure.data[4].y
    assert len(cost) >= 2 and cost[-1] < cost[0]
    assert len(app.figure.data[7].y) == len(cost)  # test accuracy alongside
    assert [list(row) for row in app.figure.data[8].z] != mosaic_before
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
    asyncio.run(app.train(seconds=0.1))
    assert app.trainer.step >= app.every


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
