"""The nine-layer demo: the bars follow alpha^l as the engine predicts, and the controls and buttons work."""


import numpy as np
import plotly.graph_objects as go
import pytest
from test_live_figure import train_to

from explorer.apps.figure import log_ticks
from explorer.apps.nine_layer import L, NineLayerApp

# the figure's traces, in order
COST, PREVIOUS = 0, 1
ACTIVATIONS, ACTIVATIONS_PREDICTED = 2, 3
BACKPROP, BACKPROP_PREDICTED, WEIGHT_GRADS, WEIGHT_GRADS_PREDICTED = 4, 5, 6, 7


@pytest.fixture
def app():
    app = NineLayerApp()
    app.use_ack_gate = False
    return app


def ys(app, trace):
    """A trace's y values; for the bars (scatter traces of five points a bar), each bar's height."""
    y = np.asarray(app.figure.data[trace].y, dtype=float)
    return y.reshape(-1, 5)[:, 1] if trace in (ACTIVATIONS, BACKPROP, WEIGHT_GRADS) else y


def assert_chain(app, alpha):
    """Bars and prediction lines of a linear W = alpha * I network at step 0."""
    layers = np.arange(1, L)
    activations = ys(app, ACTIVATIONS)
    assert activations / activations[0] == pytest.approx(alpha ** (layers - 1), rel=1e-9)
    assert ys(app, ACTIVATIONS_PREDICTED) == pytest.approx(activations, rel=1e-9)
    backprop = ys(app, BACKPROP)
    assert backprop / backprop[-1] == pytest.approx(alpha ** (L - 1 - layers), rel=1e-9)
    assert ys(app, BACKPROP_PREDICTED) == pytest.approx(backprop, rel=1e-9)
    weight_grads = ys(app, WEIGHT_GRADS)
    assert len(weight_grads) == L and weight_grads == pytest.approx(np.full(L, weight_grads[0]), rel=1e-9)
    assert ys(app, WEIGHT_GRADS_PREDICTED) == pytest.approx(weight_grads, rel=1e-9)


def test_too_large_bars_follow_1_5_to_the_l(app):
    assert app.init.value == "large" and app.trainer.step == 0
    assert_chain(app, 1.5)
    # the inputs are standardized (rms 1), so a^[l] is exactly 1.5^l x: 38.4 in layer 9
    assert ys(app, ACTIVATIONS) == pytest.approx(1.5 ** np.arange(1, L), rel=1e-9)
    assert "1.5<sup>l</sup>" in app.figure.data[ACTIVATIONS_PREDICTED].name


def test_too_small_bars_follow_0_5_to_the_l(app):
    app.init.value = "small"
    assert_chain(app, 0.5)
    assert ys(app, ACTIVATIONS)[-1] == pytest.approx(0.5**9, rel=1e-9)
    assert "0.5<sup>10−l</sup>" in app.figure.data[BACKPROP_PREDICTED].name


def test_alpha_slider_changes_the_bars_as_predicted(app):
    assert app.alpha.disabled
    before = ys(app, ACTIVATIONS)
    app.init.value = "alpha"
    assert not app.alpha.disabled
    assert_chain(app, 1.0)  # the slider starts at 1: nothing grows, nothing shrinks
    app.alpha.value = 0.8
    assert_chain(app, 0.8)
    assert not np.allclose(ys(app, ACTIVATIONS), before)
    assert "0.8" in app.figure.data[ACTIVATIONS_PREDICTED].name and "0.8·I" in app.figure.data[COST].name
    app.alpha.value = 1.9
    assert_chain(app, 1.9)
    assert ys(app, ACTIVATIONS)[-1] == pytest.approx(1.9**9, rel=1e-9)


def test_xavier_and_tanh_label_their_predictions_for_what_they_are(app):
    app.init.value = "xavier"
    assert app.figure.data[ACTIVATIONS_PREDICTED].name.startswith("expected: flat")
    assert np.ptp(ys(app, ACTIVATIONS_PREDICTED)) == 0  # n Var(w) = 2 * 1/2 = 1 per layer
    app.init.value = "large"
    app.activation.value = "tanh"
    assert app.figure.data[ACTIVATIONS_PREDICTED].name.endswith("if linear")
    assert ys(app, ACTIVATIONS).max() < 1  # tanh saturates instead of exploding


def test_training_grows_the_cost_curve(app):
    assert len(ys(app, COST)) == 1
    train_to(app, 20)
    assert app.trainer.step == 20
    cost = ys(app, COST)
    assert len(cost) == 21 and cost[-1] < cost[0]
    assert np.asarray(app.figure.data[COST].x)[-1] == app.trainer.step
    assert f"step {app.trainer.step:,}" in app.status.value
    assert not np.allclose(ys(app, ACTIVATIONS), 1.5 ** np.arange(1, L))  # training moved the weights


def test_one_figure_with_three_log_panels(app):
    assert isinstance(app.figure, go.FigureWidget)
    layout = app.figure.layout
    assert (layout.yaxis.type, layout.yaxis2.type, layout.yaxis3.type) == ("log", "log", "log")
    assert [trace.xaxis for trace in app.figure.data] == ["x", "x", "x2", "x2", "x3", "x3", "x3", "x3"]
    assert "iteration" in layout.xaxis.title.text and "cost" in layout.yaxis.title.text
    low, high = layout.yaxis2.range  # the bars, 1.5 to 38.4, and their prediction lie inside the axis
    assert low < np.log10(1.5) and np.log10(1.5**9) < high
    assert list(layout.yaxis2.tickvals) == pytest.approx([0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100])  # whole decades


def test_bars_are_rectangles_from_below_the_axis_up_to_their_height(app):
    for trace, layers in ((ACTIVATIONS, L - 1), (BACKPROP, L - 1), (WEIGHT_GRADS, L)):
        x = np.asarray(app.figure.data[trace].x, dtype=float).reshape(-1, 5)
        y = np.asarray(app.figure.data[trace].y, dtype=float).reshape(-1, 5)
        assert len(x) == layers and np.isnan(x[:, 4]).all() and np.isnan(y[:, 4]).all()  # a gap ends each bar
        centres = (x[:, 0] + x[:, 2]) / 2
        assert (x[:, 0] == x[:, 1]).all() and (x[:, 2] == x[:, 3]).all() and (x[:, 2] > x[:, 0]).all()
        assert np.abs(centres - np.arange(1, layers + 1)).max() < 0.5  # each bar inside its layer's slot
        low = app.figure.layout["yaxis" + ("2" if trace == ACTIVATIONS else "3")].range[0]
        assert (y[:, 0] == y[:, 3]).all() and (np.log10(y[:, 0]) < low).all()  # the base is off the axis
        assert (y[:, 1] == y[:, 2]).all() and (np.log10(y[:, 1]) > low).all()
    assert app.figure.data[WEIGHT_GRADS].text[2 * 5 + 1] == "dW, layer 3"  # the hover text of its top


def test_redraws_while_training_are_quick_animations(app):
    """Each redraw is one Plotly.animate of scatter traces (which plotly.js redraws alone), and a full update
    only when an axis range or a name changes: a few times in a run, not at every redraw."""
    assert {trace.type for trace in app.figure.data} == {"scatter"}
    sent = {"_py2js_update": 0, "_py2js_animate": 0}

    def count(change):
        if change["new"]:
            sent[change["name"]] += 1

    app.figure.observe(count, names=list(sent))
    for _ in range(100):
        app.run(1)
    assert sent["_py2js_animate"] == 100
    assert sent["_py2js_update"] <= 10
    assert np.asarray(app.figure.data[COST].x)[-1] == 100


def test_flat_cost_gets_a_decade_of_axis(app):
    app.init.value = "small"
    app.run(100)
    cost = ys(app, COST)
    assert np.ptp(cost) < 1e-3  # on the plateau
    low, high = app.figure.layout.yaxis.range
    assert high - low >= 1 and low < np.log10(cost.min()) and np.log10(cost.max()) < high


def test_previous_run_stays_drawn_for_comparison(app):
    app.run(50)
    old = ys(app, COST).copy()
    assert app.figure.data[PREVIOUS].visible is False
    app.init.value = "xavier"
    previous = app.figure.data[PREVIOUS]
    assert previous.visible and "1.5·I" in previous.name
    assert ys(app, PREVIOUS) == pytest.approx(old)
    assert len(ys(app, COST)) == 1


def test_bad_input_shows_a_message_and_the_app_recovers(app):
    app.learning_rate.value = 0.0
    assert "learning rate" in app.message.value and app.train_button.disabled
    app.learning_rate.value = 0.02
    assert app.message.value == "" and not app.train_button.disabled
    app.seed.value = -1
    assert "seed" in app.message.value
    app.seed.value = 3
    assert app.message.value == ""
    assert_chain(app, 1.5)


def test_blow_up_stops_training_and_keeps_the_bars(app):
    """The notebook's claim: at lr 0.5, 1.5 I blows up within a few steps; Xavier at the same rate does not."""
    app.learning_rate.value = 0.5
    app.run(50)
    assert app.finished and app.trainer.step < 10
    assert "blew up" in app.status.value and app.train_button.disabled
    activations = ys(app, ACTIVATIONS)
    assert np.isfinite(activations).all() and activations[-1] > 1e20  # the step it blew up
    app.init.value = "xavier"
    app.run(300)
    assert not app.finished and ys(app, COST)[-1] < 0.34


def test_the_numbers_the_notebook_quotes(app):
    """Default settings (moons, noise 0.3, seed 0, linear, lr 0.02); measured on this engine."""
    app.run(300)
    cost = ys(app, COST)  # one point per step so far
    assert cost[0] == pytest.approx(7.0, abs=0.01)
    assert cost[60] < 0.34 and cost[60:120].max() > 0.9  # down near the minimum, then a bounce at step ~85
    assert cost[-1] == pytest.approx(0.331, abs=0.002)

    app.init.value = "small"
    assert ys(app, WEIGHT_GRADS)[0] == pytest.approx(8.5e-4, rel=0.01)
    trainer = app.trainer  # the engine built from the controls: run it fast, without snapshots
    assert trainer.run(3000)[0] > 0.69  # still on the plateau at step 3,000
    assert trainer.run(1500)[0] < 0.34  # off it by step 4,500 (at about 4,060)

    app.init.value = "xavier"
    assert app.trainer.run(400)[0] < 0.34

    app.init.value = "alpha"  # the slider starts at 1
    assert app.trainer.run(40)[0] < 0.34
    app.alpha.value = 1.9
    app.learning_rate.value = 0.05
    app.run(20)
    assert app.finished and "blew up" in app.status.value


def test_log_ticks_read_as_plain_numbers_or_powers_of_ten():
    assert log_ticks([-1.2, -0.1])[1] == ["0.1", "0.2", "0.5"]
    values, texts = log_ticks([-6.5, -2.3])
    assert values == pytest.approx([1e-6, 1e-5, 1e-4, 1e-3]) and texts[0] == "10<sup>−6</sup>"
    assert log_ticks(None) == ([], [])
