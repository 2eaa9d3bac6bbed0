"""The dynamical-isometry app without a browser: its panels hold the engine's spectra and the theory's lines, the
spectra follow the controls (at once without an event loop, as a paced task with one), and the training race is a
stack of a Gaussian and an orthogonal start."""

import asyncio

import numpy as np
import pytest
from test_live_figure import train_to

from explorer import isometry
from explorer.apps.isometry import BINS, VARIANCE_FLOOR, IsometryApp, q_value


@pytest.fixture
def app():
    app = IsometryApp(depth="8", width="32")
    app.use_ack_gate = False
    return app


def ys(app, name):
    return np.asarray(app.figure.trace(name).y, dtype=float)


def test_the_first_state_holds_every_spectrum_and_the_theory(app):
    assert app.message.value == ""
    depths = isometry.scan_depths(8)
    assert depths == [1, 2, 4, 8]
    for activation in isometry.ACTIVATIONS:
        for weights in isometry.WEIGHTS:
            found = isometry.spectra(activation, weights, 32, depths, 1 / 64, seed=0)
            measured = [max(isometry.spectrum_variance(found[d]), VARIANCE_FLOOR) for d in depths]
            np.testing.assert_allclose(ys(app, f"meas {activation} {weights}"), measured, rtol=1e-12)
            predicted = np.maximum(isometry.predicted_variance(activation, weights, np.array(depths), 1 / 64),
                                   VARIANCE_FLOOR)
            np.testing.assert_allclose(ys(app, f"pred {activation} {weights}"), predicted, rtol=1e-12)
            assert list(app.figure.trace(f"meas {activation} {weights}").x) == depths
    # The histogram shows tanh (the default) at depth 8, both weights; its density integrates to the fraction inside.
    for weights in isometry.WEIGHTS:
        values = isometry.spectra("tanh", weights, 32, [8], 1 / 64, seed=0)[8]
        density = ys(app, f"hist {weights}")
        np.testing.assert_allclose(density, isometry.log_density(values, BINS))
        inside = np.mean((values >= 10 ** BINS[0]) & (values <= 10 ** BINS[-1]))
        assert np.sum(density * np.diff(BINS)) == pytest.approx(inside)
    assert "σ_w²" in app.note.value and "computed in" in app.note.value


def test_controls_move_the_spectra_without_an_event_loop(app):
    app.activation.value = "relu"
    values = isometry.spectra("relu", "gaussian", 32, [8], seed=0)[8]
    np.testing.assert_allclose(ys(app, "hist gaussian"), isometry.log_density(values, BINS))
    app.weights.value = "gaussian"
    assert len(ys(app, "hist orthogonal")) == 0 and len(ys(app, "hist gaussian")) == len(BINS) - 1
    app.depth.value = "16"
    assert list(app.figure.trace("meas relu orthogonal").x) == [1, 2, 4, 8, 16]


def test_with_an_event_loop_the_spectra_are_a_task_that_a_newer_change_replaces(app):
    async def change_twice():
        app.depth.value = "4"
        first = app.spectra_task
        app.width.value = "64"
        second = app.spectra_task
        assert first is not second and app.spectra_running
        await second
        return first

    first = asyncio.run(change_twice())
    assert first.done()
    values = isometry.spectra("tanh", "orthogonal", 64, [4], seed=0)[4]
    np.testing.assert_allclose(ys(app, "hist orthogonal"), isometry.log_density(values, BINS))
    assert app.spectra_progress.value == app.spectra_progress.max == 6 * 4


def test_the_race_is_gaussian_against_orthogonal_at_the_same_critical_point(app):
    net = app.trainer.net
    assert net.K == 2 and net.sizes == [64] + [32] * 8 + [10] and net.hidden == ["tanh"] * 8
    point = isometry.critical_point("tanh", q_value("1/64"))
    W = net.W[3]  # a square hidden layer: Gaussian of variance sigma_w^2 / N, and sigma_w times an orthogonal matrix
    np.testing.assert_allclose(W[1] @ W[1].T, point.sigma_w2 * np.eye(32), atol=1e-12)
    assert np.var(W[0]) * 32 == pytest.approx(point.sigma_w2, rel=0.2)  # 1,024 draws: a 4.4% standard error
    train_to(app, 4)
    steps = np.asarray(app.figure.trace("cost gaussian").x)
    assert steps[-1] == app.trainer.step == 4 * app.every
    np.testing.assert_allclose(ys(app, "cost orthogonal"), app.costs.y[:, 1].astype(np.float32))


def test_deep_choices_train_a_capped_network_and_bad_seeds_are_messages(app):
    app.depth.value = "256"
    assert app.train_shape() == (128, 32) and app.trainer.net.L == 129
    app.seed.value = -1
    assert "seed=-1" in app.message.value
