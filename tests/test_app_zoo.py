"""The initializer zoo app: seven starts of one network as one stack; its figure follows the engine."""


import numpy as np
import pytest
from test_live_figure import train_to

from explorer import initializers
from explorer.apps.zoo import PANELS, ZooApp, load_digits
from explorer.reproductions import ZOO, zoo_network
from explorer.training import Trainer

COST, ACT, GRAD = range(len(PANELS))


@pytest.fixture
def app():
    app = ZooApp()
    app.use_ack_gate = False
    return app


def ys(app, key, which):
    return np.asarray(app.figure.trace(f"{key} {PANELS[which]}").y, dtype=float)


def test_seven_starts_at_step_zero(app):
    net = app.trainer.net
    assert net.K == len(ZOO) == 7 and app.keys == tuple(ZOO)
    assert net.sizes == [64] + [32] * 20 + [10] and net.hidden == ["relu"] * 20
    for key in ZOO:
        assert len(ys(app, key, COST)) == 1
        assert len(ys(app, key, ACT)) == 20 and len(ys(app, key, GRAD)) == 20
    assert "LSUV" in app.note.value and app.message.value == ""
    snap = app.snapshot
    for k, key in enumerate(ZOO):  # the per-layer panels show the engine's snapshot, hidden layers only
        np.testing.assert_allclose(ys(app, key, ACT), snap.a_std[:-1, k], rtol=1e-6)
        np.testing.assert_allclose(ys(app, key, GRAD), snap.grad_std[:-1, k], rtol=1e-6)


def test_the_stack_holds_the_zoo_network_and_lsuv_has_unit_variance(app):
    X, _ = load_digits()
    expected, _ = zoo_network(app.sizes(), "relu", "softmax", X, seed=0)
    for W, W_expected in zip(app.trainer.net.W, expected.W, strict=True):
        np.testing.assert_array_equal(W, W_expected)
    k = list(ZOO).index("lsuv")
    fwd = app.trainer.net.forward(X[:500])
    variances = np.array([z[k].var() for z in fwd.Z])
    assert np.all(np.abs(variances - 1) < 0.1)
    # The orthogonal model is the same orthonormal draw as LSUV's, times the ReLU gain instead of LSUV's scales.
    o = list(ZOO).index("orthogonal")
    W = app.trainer.net.W[3]
    ratio = W[k] / W[o]
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-9)


def test_relu_depth_20_xavier_and_lecun_fade_while_he_orthogonal_and_lsuv_keep_their_spread(app):
    """ReLU halves the second moment: Var(W) = 1/n loses a factor 2 per layer, 2^-20 in variance after 20
    layers (std ~1e-3); 2/n (He) and LSUV keep it near 1."""
    for key in ("xavier", "lecun"):
        assert ys(app, key, ACT)[-1] < 1e-2
    for key in ("he", "orthogonal", "lsuv"):
        assert 0.1 < ys(app, key, ACT)[-1] < 10


def test_the_cost_curves_follow_an_independent_run(app):
    app.pull(5)
    app.draw()
    X, y = load_digits()
    net, _ = zoo_network(app.sizes(), "relu", "softmax", X, seed=0)
    trainer = Trainer(net, X, y, lr=0.01, batch_size=64, seed=0)
    costs = np.array([s.cost for s in trainer.snapshots(every=app.every, steps=5 * app.every)])
    for k, key in enumerate(ZOO):
        np.testing.assert_allclose(ys(app, key, COST), costs[:, k].astype(np.float32), rtol=1e-6)


def test_a_control_rebuilds_the_stack(app):
    app.depth.value = 3
    app.activation.value = "tanh"
    assert app.trainer.net.sizes == [64, 32, 32, 32, 10] and app.trainer.net.hidden == ["tanh"] * 3
    assert app.trainer.net.inits[0].params == initializers.orthogonal(5 / 3).params
    for key in ZOO:
        assert len(ys(app, key, ACT)) == 3 and len(ys(app, key, COST)) == 1


def test_bad_learning_rate_is_a_message_not_a_traceback(app):
    app.learning_rate.value = -1.0
    assert "lr" in app.message.value and "explorer-error" in app.message.value
    assert app.train_button.disabled
    app.learning_rate.value = 0.01
    assert app.message.value == "" and not app.train_button.disabled


def test_training_in_the_background_grows_the_curves(app):
    app.depth.value = 2
    train_to(app, 3)
    assert app.trainer.step == 3 * app.every
    assert len(ys(app, "he", COST)) > 1
