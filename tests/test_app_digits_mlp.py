"""The digits MLP demo: four starts of one network, trained as one stack; its figure follows the engine."""

import asyncio
import math

import numpy as np
import pytest
from test_live_figure import capture_messages, check_redraws_are_animates, train_to

from explorer import datasets, initializers
from explorer.apps import digits_mlp
from explorer.apps.digits_mlp import CURVES, STARTS, DigitsMLPApp
from explorer.network import Network
from explorer.training import Trainer

TRACES_PER_START = len(CURVES)
ACC_TRAIN, ACC_TEST, COST_TRAIN, COST_TEST, STD_1, STD_2 = range(TRACES_PER_START)
TWELVE_EPOCHS = 24  # snapshots: one per half epoch (7 steps) on the digits, 168 steps in all


@pytest.fixture
def app(monkeypatch, tmp_path):
    monkeypatch.setenv("EXPLORER_MNIST", str(tmp_path / "no-mnist-here"))
    app = DigitsMLPApp()
    app.use_ack_gate = False
    return app


@pytest.fixture(scope="module")
def shared_app():
    """One app with all five starts, for the read-only checks of step 0."""
    app = DigitsMLPApp()
    app.typo.value = True
    return app


def trace(app, start, which):
    """The trace of start `start` (a key of STARTS) drawing curve `which` (ACC_TRAIN ... STD_2)."""
    return app.figure.trace(f"{start} {CURVES[which]}")


def ys(app, start, which):
    return np.asarray(trace(app, start, which).y, dtype=float)


def train_epochs(app, snapshots):
    app.pull(snapshots)
    app.draw()


def test_starts_with_four_models_at_step_zero(app):
    assert app.trainer.net.K == 4
    assert app.trainer.net.sizes == [64, 100, 100, 10]
    assert [repr(i) for i in app.trainer.net.inits] == [
        repr(initializers.he_normal()), repr(initializers.xavier_normal()),
        repr(initializers.normal(0.01)), repr(initializers.zeros()),
    ]
    assert app.every == 7 and app.trainer.batch_size == 100
    for key in ("he", "xavier", "small", "zeros"):
        for which in range(TRACES_PER_START):
            assert len(ys(app, key, which)) == 1 and trace(app, key, which).visible
    assert not any(trace(app, "typo", which).visible for which in range(TRACES_PER_START))
    assert app.message.value == ""


def test_training_grows_the_curves_of_every_start(app):
    train_to(app, 3)
    snap = app.snapshot
    assert app.trainer.step == 3 * app.every
    for key in ("he", "xavier", "small", "zeros"):
        for which in range(TRACES_PER_START):
            x = np.asarray(trace(app, key, which).x, dtype=float)
            assert len(x) >= 2 and len(ys(app, key, which)) == len(x)
            assert np.all(np.diff(x) > 0) and x[-1] == pytest.approx(snap.epoch)  # epochs on the x axis
    assert ys(app, "he", ACC_TEST)[-1] == pytest.approx(snap.evaluation["test"][1][0])
    assert ys(app, "xavier", COST_TRAIN)[-1] == pytest.approx(snap.evaluation["train"][0][1])
    assert ys(app, "he", COST_TEST)[-1] < ys(app, "he", COST_TEST)[0]
    assert f"epoch {snap.epoch:.1f}" in app.status.value


def test_he_learns_the_digits_and_zeros_stays_at_chance(digits_run):
    app = digits_run.app  # the typo on, trained TWELVE_EPOCHS snapshots (tests/conftest.py)
    assert len(digits_run.snapshots) == TWELVE_EPOCHS + 1
    assert app.trainer.step == 168 and app.snapshot.epoch == 12.0  # 14 steps an epoch on 1,348 digits
    assert trace(app, "he", ACC_TEST).x[-1] == 12.0 and "epoch 12.0 " in app.status.value  # axis and status
    he, xavier, typo = ys(app, "he", ACC_TEST), ys(app, "xavier", ACC_TEST), ys(app, "typo", ACC_TEST)
    assert he[-1] >= 0.95
    # Quoted in the notebook: He ahead after one epoch (snapshot 2, step 14), level after four, both about
    # 97% after 12 like the typo, and the train curve above the test curve.
    assert he[2] == pytest.approx(0.84, abs=0.01) and xavier[2] == pytest.approx(0.79, abs=0.01)
    assert he[-1] == pytest.approx(0.97, abs=0.01) and xavier[-1] == pytest.approx(0.97, abs=0.01)
    assert abs(he[8] - xavier[8]) < 0.01  # level after about four epochs (step 56)
    assert typo[-1] == pytest.approx(0.97, abs=0.01)
    assert ys(app, "he", ACC_TRAIN)[-1] > he[-1] + 0.01
    test = app.digit_data().y_test
    most_common = np.bincount(test).max() / len(test)  # the best a constant guess can do
    zeros = ys(app, "zeros", ACC_TEST)
    assert len(zeros) == TWELVE_EPOCHS + 1 and np.all(zeros <= most_common + 1e-12)
    assert ys(app, "zeros", COST_TEST) == pytest.approx(math.log(10), abs=0.02)
    # Quoted in the notebook: nothing moves but the output biases, which learn that 3 is the most common
    # training digit; always guessing 3 is right on 8.5% of the test images.
    assert all(np.all(w[3] == 0) for w in app.trainer.net.W)
    assert np.all(app.snapshot.grad_norm[:, 3] == 0)
    assert np.bincount(app.digit_data().y).argmax() == 3
    assert zeros[-1] == pytest.approx(np.mean(test == 3))
    assert zeros[-1] == pytest.approx(0.085, abs=0.001)
    assert ys(app, "zeros", STD_1) == pytest.approx(digits_mlp.STD_FLOOR)  # exactly 0, drawn at the floor
    # 0.01·randn: still near chance, and its hidden layers still more than ten times narrower than He's.
    assert ys(app, "small", ACC_TEST)[-1] < 0.2
    assert np.all(10 * app.snapshot.a_std[:2, 2] < app.snapshot.a_std[:2, 0])


def test_activation_std_traces_per_layer_and_start(shared_app):
    app, snap = shared_app, shared_app.snapshot
    assert snap.step == 0
    for k, key in enumerate(("he", "xavier", "small", "zeros", "typo")):
        for layer, which in ((0, STD_1), (1, STD_2)):
            expected = snap.a_std[layer, k] if key != "zeros" else digits_mlp.STD_FLOOR  # 0 drawn at the floor
            assert ys(app, key, which) == pytest.approx([expected])
            assert trace(app, key, which).yaxis == "y3"
    assert trace(app, "he", STD_1).line.dash == "solid" and trace(app, "he", STD_2).line.dash == "dot"
    assert app.figure.layout.yaxis3.type == "log"


@pytest.mark.parametrize("start, spreads", [  # hidden layers 1 and 2 at step 0, as quoted in the notebook
    ("he", [0.82, 0.87]),
    ("xavier", [0.51, 0.38]),
    ("small", [0.046, 0.0035]),
    ("typo", [1.16, 1.74]),
])
def test_step_zero_spreads_quoted_in_the_notebook(shared_app, start, spreads):
    app = shared_app
    assert [ys(app, start, STD_1)[0], ys(app, start, STD_2)[0]] == pytest.approx(spreads, rel=0.02)


def test_quoted_ratios_between_layers(shared_app):
    snap = shared_app.snapshot
    he, xavier, small = (snap.a_std[1, k] / snap.a_std[0, k] for k in range(3))
    assert he**2 == pytest.approx(1.13, abs=0.01)  # He: the variance holds (even grows a little)
    assert xavier**2 == pytest.approx(0.57, abs=0.01)  # Xavier: about half of it is lost in one layer
    assert small == pytest.approx(0.075, abs=0.001)  # 0.01·randn: 0.01·√100·(1/√2) ≈ 0.07 per layer
    assert snap.z_std[2, 2] == pytest.approx(4.1e-4, rel=0.02)  # its logits: a flat guess
    assert snap.cost == pytest.approx([3.05, 2.39, 2.30, 2.30, 6.61], abs=0.01)  # first batch's cost
    assert snap.z_std[2, [0, 4]] == pytest.approx([1.45, 4.1], abs=0.01)  # logits: He, the typo
    assert snap.grad_norm[0, 0] / snap.grad_norm[0, 2] == pytest.approx(240, rel=0.02)  # layer 1's gradient


def test_typo_checkbox_adds_a_fifth_model(app):
    app.typo.value = True
    assert app.trainer.net.K == 5
    assert repr(app.trainer.net.inits[4]) == repr(initializers.variance_scaling(4.0, "fan_in", "normal"))
    assert trace(app, "typo", ACC_TEST).name == "the typo 2/√n_in·randn: N(0, 4/n_in)"
    assert all(trace(app, "typo", which).visible for which in range(TRACES_PER_START))
    # Same draws as He with √2 times the std: ReLU passes the factor on, so √2 in layer 1 and 2 in layer 2.
    assert ys(app, "typo", STD_1)[0] == pytest.approx(math.sqrt(2) * ys(app, "he", STD_1)[0])
    assert ys(app, "typo", STD_2)[0] == pytest.approx(2 * ys(app, "he", STD_2)[0])
    assert "5 starts" in app.figure.layout.title.text
    train_to(app, 1)
    assert len(ys(app, "typo", ACC_TEST)) == 2
    app.typo.value = False
    assert app.trainer.net.K == 4 and not trace(app, "typo", ACC_TEST).visible


def test_large_learning_rate_claims(app):
    """Quoted in the notebook: at learning rate 1, after 12 epochs."""
    app.typo.value = True
    app.learning_rate.value = 1.0
    train_epochs(app, TWELVE_EPOCHS)
    assert ys(app, "he", ACC_TEST)[-1] >= 0.975
    assert ys(app, "small", ACC_TEST)[-1] >= 0.97  # a large step rescues the tiny start
    assert ys(app, "typo", ACC_TEST)[-1] < 0.5  # the typo's large start does not survive it


def test_changing_the_learning_rate_resets(app):
    train_to(app, 1)
    assert app.trainer.step > 0
    app.learning_rate.value = 0.3
    assert app.trainer.step == 0 and app.snapshot.step == 0
    assert np.all(app.trainer.lr == 0.3)
    assert len(ys(app, "he", ACC_TEST)) == 1
    assert "learning rate 0.3" in app.figure.layout.title.text


def test_bad_learning_rate_shows_a_message_and_the_app_recovers(app):
    app.learning_rate.value = 0
    assert "learning rate" in app.message.value
    assert app.train_button.disabled
    app.learning_rate.value = 0.1
    assert app.message.value == "" and not app.train_button.disabled
    train_to(app, 1)
    assert app.trainer.step == app.every


def test_mnist_unavailable_says_so(app):
    labels = dict((value, label) for label, value in app.dataset.options)
    assert labels["mnist"] == "MNIST (not found)"
    assert "EXPLORER_MNIST" in app.note.value
    app.dataset.value = "mnist"
    assert "EXPLORER_MNIST" in app.message.value
    assert app.train_button.disabled
    app.dataset.value = "digits"
    assert app.message.value == "" and app.trainer.net.sizes[0] == 64


def test_mnist_with_files(monkeypatch, tmp_path):
    rng = np.random.default_rng(0)
    for name, count in (("train", 300), ("t10k", 100)):
        datasets.write_idx(tmp_path / f"{name}-images-idx3-ubyte", rng.integers(0, 256, (count, 28, 28)))
        datasets.write_idx(tmp_path / f"{name}-labels-idx1-ubyte", rng.integers(0, 10, count))
    monkeypatch.setenv("EXPLORER_MNIST", str(tmp_path))
    app = DigitsMLPApp()
    assert dict((v, label) for label, v in app.dataset.options)["mnist"] == "MNIST, 784 inputs"
    app.dataset.value = "mnist"
    assert app.message.value == ""
    assert app.trainer.net.sizes == [784, 100, 100, 10]
    assert app.every == 3  # a snapshot per epoch: 300 images in batches of 100
    assert "MNIST" in app.figure.layout.title.text


def test_claims_about_other_runs_quoted_in_the_notebook():
    train, test = datasets.train_test_split(datasets.digits(), 0.25, seed=0)
    x_train, x_test = datasets.standardize(train.X, test.X)
    # Ten hidden layers: He holds the spread near 1, Xavier loses it, the typo blows it up to about 32.
    starts = [initializers.he_normal(), initializers.xavier_normal(), initializers.variance_scaling(4.0, "fan_in")]
    deep = Network([64] + [100] * 10 + [10], hidden="relu", output="softmax", init=starts, seed=0)
    tenth = deep.forward(x_train[:100]).A[10]
    assert [tenth[k].std() for k in range(3)] == pytest.approx([1.0, 0.0275, 32], rel=0.05)
    # 0.01·randn alone (a model trains the same alone as in the stack, on the same batches): right on about
    # a quarter of the test images after the first press of Train (20 epochs), on more than 90% after the second.
    net = Network([64, 100, 100, 10], hidden="relu", output="softmax", init=initializers.normal(0.01), seed=0)
    trainer = Trainer(net, x_train, train.y, lr=0.1, batch_size=100, seed=0, evaluate={"test": (x_test, test.y)})
    accuracy = [s.evaluation["test"][1][0] for s in trainer.snapshots(every=280, steps=560)]
    assert accuracy[1] == pytest.approx(0.25, abs=0.03) and accuracy[2] > 0.9
    # A constant start that is not zero does move, but all the hidden units of a layer move as one.
    net = Network([64, 100, 100, 10], hidden="relu", output="softmax", init=initializers.constant(0.05), seed=0)
    Trainer(net, x_train, train.y, lr=0.1, batch_size=100, seed=0).run(168)
    W1 = net.W[0][0]
    assert np.ptp(W1, axis=0).max() == 0 and np.ptp(W1) > 0  # every row (unit) identical, and changed


# -- quick redraws --------------------------------------------------------------------------------


def test_a_redraw_while_training_is_one_animate_and_no_update(app):
    """While training, a redraw is one Plotly.animate of the curves (quick_update); a Plotly.update (a full
    redraw in the browser) only when an axis range changes, which is rare."""
    sent = check_redraws_are_animates(app)
    # One more snapshot in the middle of a press: nothing in the layout changes, so no full redraw. (Not after the
    # run above: it may have reached the end of the press, and the next snapshot past the press then drops the
    # markers, one full redraw.)
    app.reset()
    app.pull(5)
    app.draw()
    ranges = app.ranges
    sent.clear()
    app.pull(1)
    app.draw()
    assert app.ranges == ranges and len(app.history.y) <= digits_mlp.MARKERS_UP_TO
    assert sent == ["animate"]
    app.typo.value = True  # a control at rest: the fifth start's traces appear, a full redraw may come too
    assert sent[-1] == "animate" and all(trace(app, "typo", which).visible for which in range(TRACES_PER_START))


def test_curves_are_the_accuracy_and_cross_entropy_computed_with_numpy(app):
    """At step 0 each start's points are its accuracy and mean cross-entropy on the train and test sets, from
    the network's forward pass (same seed, same starts) and numpy."""
    data = app.digit_data()
    net = Network([64, 100, 100, 10], hidden="relu", output="softmax", seed=0,
                  init=[STARTS[key].recipe() for key in ("he", "xavier", "small", "zeros")])
    for X, y, accuracy, cost in ((data.X_eval, data.y_eval, ACC_TRAIN, COST_TRAIN),
                                 (data.X_test, data.y_test, ACC_TEST, COST_TEST)):
        probabilities = net.forward(X).output  # (K, m, 10)
        for k, key in enumerate(("he", "xavier", "small", "zeros")):
            p = probabilities[k]
            assert ys(app, key, accuracy) == pytest.approx([np.mean(p.argmax(axis=1) == y)], abs=1e-6)
            assert ys(app, key, cost) == pytest.approx([-np.mean(np.log(p[np.arange(len(y)), y]))], rel=1e-5)
            assert list(trace(app, key, accuracy).x) == [0]


def test_curves_lie_inside_their_axes(app):
    """A quick redraw does not autorange: every point drawn lies inside the ranges the app gave, and the epoch
    axis spans the whole press of Train."""
    asyncio.run(app.train())  # the whole press
    assert app.trainer.step == app.stop_at
    layout = app.figure.layout
    end = app.stop_at * app.trainer.batch_size / app.trainer.m
    for axis in ("xaxis", "xaxis2", "xaxis3"):
        assert layout[axis].range[0] < 0 and end < layout[axis].range[1] < end * 1.02
    for axis, curves in (("yaxis2", (COST_TRAIN, COST_TEST)), ("yaxis3", (STD_1, STD_2))):
        low, high = layout[axis].range
        logs = np.log10(np.concatenate([ys(app, key, which) for key in digits_mlp.FOUR for which in curves]))
        assert low <= logs.min() and logs.max() <= high
    assert layout.yaxis.range == (0, 1.02)


def test_markers_only_while_the_curves_are_short(app):
    """A press of Train's snapshots are markers on the solid curves (test accuracy, test cost, layer 1's spread);
    past them, lines alone (the browser restyles every marker at every redraw)."""
    for key in digits_mlp.FOUR:
        assert [trace(app, key, which).mode for which in range(6)] == [
            "lines", "lines+markers", "lines", "lines+markers", "lines+markers", "lines"]
    assert [(ACC_TEST, COST_TEST, STD_1)] == [digits_mlp.MARKED]
    assert all(trace(app, "typo", which).mode == ("lines+markers" if which in digits_mlp.MARKED else "lines")
               for which in range(6))  # hidden until asked for, drawn the same way then
    train_epochs(app, digits_mlp.MARKERS_UP_TO - 1)
    assert len(trace(app, "he", ACC_TEST).x) == digits_mlp.MARKERS_UP_TO
    assert trace(app, "he", ACC_TEST).mode == "lines+markers"
    sent = capture_messages(app.figure)
    train_epochs(app, 1)
    assert sent == ["update", "animate"]  # the new mode: one full redraw, once
    assert all(trace(app, key, which).mode == "lines" for key in digits_mlp.FOUR for which in range(6))
    sent.clear()
    train_epochs(app, 1)
    assert sent == ["animate"]
