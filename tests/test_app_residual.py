"""The residual-network app: seven starts as one stack, the variance panels against the engine's snapshot and the
theory, the depth sweep with progress and cancellation."""

import asyncio
import itertools

import numpy as np
import pytest
from test_live_figure import train_to

from explorer import residual
from explorer.apps.residual import ResidualApp, positive
from explorer.theory.residual import predict_residual


@pytest.fixture
def app(tmp_path):
    app = ResidualApp(cache_dir=tmp_path, sweep_depths=(2, 4))
    app.use_ack_gate = False
    app.depth.value = 10  # quick; the slider's least
    return app


def ys(app, name):
    return np.asarray(app.figure.trace(name).y, dtype=float)


def test_seven_starts_at_step_zero_show_the_snapshot_and_the_theory(app):
    net = app.trainer.net
    assert net.K == 7 and app.keys == tuple(residual.STARTS) and net.depth == 10 and net.width == 32
    snap = app.snapshot
    for k, key in enumerate(app.keys):
        np.testing.assert_allclose(ys(app, f"{key} stream"), snap.stream_var[:, k], rtol=1e-12)
        np.testing.assert_allclose(ys(app, f"{key} gradient"), positive(snap.grad_var[:, k]), rtol=1e-12)
        assert len(ys(app, f"{key} cost")) == 1
    assert np.isnan(ys(app, "fixup gradient")).all()  # its zero output layer sends no gradient at step 0
    he = app.keys.index("resnet_he")
    expected = predict_residual(10, 1.0, 1.0, q0=float(snap.stream_var[0, he])).stream
    np.testing.assert_allclose(ys(app, "resnet_he stream predicted"), expected, rtol=1e-12)
    # He doubles the stream per block (1,024x over 10, measured within a factor 4 at width 32); Fixup keeps it.
    assert 256 < ys(app, "resnet_he stream")[-1] / ys(app, "resnet_he stream")[0] < 4096
    fixup = ys(app, "fixup stream")
    np.testing.assert_allclose(fixup, fixup[0], rtol=1e-12)


def test_the_cost_curves_follow_an_independent_run(app):
    app.pull(4)
    app.draw()
    seeds = [int(s) for s in np.random.SeedSequence(0).generate_state(7)]
    net = residual.ResidualNet(64, 32, 10, 10, starts=list(residual.STARTS), seed=seeds)
    trainer = residual.ResidualTrainer(net, app.X, app.y, lr=0.05, batch_size=64, seed=0)
    costs = np.array([s.cost for s in itertools.islice(trainer.snapshots(every=app.every), 5)])  # as app.pull(4)
    for k, key in enumerate(app.keys):
        np.testing.assert_allclose(ys(app, f"{key} cost"), costs[:, k], rtol=1e-12)


def test_a_control_rebuilds_the_stack(app):
    app.branch.value = "one"
    app.width.value = 16
    net = app.trainer.net
    assert net.branch_layers == 1 and net.width == 16 and "W2" not in net.p
    assert len(ys(app, "fixup stream")) == 11


def test_bad_input_is_a_message_not_a_traceback(app):
    app.learning_rate.value = -1.0
    assert "lr" in app.message.value and "explorer-error" in app.message.value
    assert app.train_button.disabled
    app.learning_rate.value = 0.05
    assert app.message.value == "" and not app.train_button.disabled


def test_training_in_the_background_grows_the_curves(app):
    train_to(app, 2)
    assert app.trainer.step == 2 * app.every
    assert len(ys(app, "fixup cost")) >= 3  # and one more where resnet_he diverged


def test_the_sweep_runs_with_progress_is_stored_and_can_be_cancelled(app, tmp_path):
    assert "Not computed" in app.sweep_status.value

    async def run_then_cancel():
        app.start_sweep()
        await asyncio.sleep(0.05)
        app.cancel_sweep()
        await asyncio.gather(app.sweep_task, return_exceptions=True)

    asyncio.run(run_then_cancel())
    assert residual.cached_depth_sweep(app.sweep_config(), tmp_path) is None
    assert not app.sweep_button.disabled and app.cancel_button.disabled

    async def run():
        app.start_sweep()
        await app.sweep_task

    asyncio.run(run())
    assert app.sweep_progress.value == app.sweep_progress.max
    stored = residual.cached_depth_sweep(app.sweep_config(), tmp_path)
    assert stored is not None and stored.cost.shape == (2, 7)
    fixup = app.keys.index("fixup")
    np.testing.assert_allclose(ys(app, "fixup sweep"), stored.cost[:, fixup])
    fresh = ResidualApp(cache_dir=tmp_path, sweep_depths=(2, 4))  # a new app reads it back
    assert "read from the cache" in fresh.sweep_status.value


def test_train_pause_and_reset_leave_no_loop(app):
    """LiveApp's contract with this app's trainer: Train runs in the background, Pause ends the task, Reset starts
    again at step 0."""

    async def train_then_pause():
        app.start()
        await asyncio.sleep(0.3)
        assert app.running
        app.stop()
        await asyncio.sleep(0.05)

    asyncio.run(train_then_pause())
    assert not app.running and app.trainer.step > 0
    app.reset()
    assert app.trainer.step == 0 and app.snapshot.step == 0 and not app.train_button.disabled
