"""The variance app: every panel's markers (measured) follow its lines (predicted) where the theory is exact."""

import numpy as np
import pytest

from explorer.apps.variance import VarianceApp, parse_widths


@pytest.fixture(scope="module")
def app():
    a = VarianceApp()
    a.depth.value = 6  # quick to recompute
    return a


def trace(app, key):
    data = app.figure.trace(key)
    return np.asarray(data.x), np.asarray(data.y)


def test_product_rule_panel_follows_factor_to_the_l(app):
    for factor in (0.8, 1.0, 1.25):
        x, predicted = trace(app, f"prod_pred_{factor}")
        assert np.allclose(predicted, factor**x)
        _, measured = trace(app, f"prod_meas_{factor}")
        assert np.all(np.abs(np.log(measured / predicted)) < 0.25)


def test_relu_panel_separates_he_xavier_and_the_typo(app):
    _, he = trace(app, "relu_meas_he_relu")
    _, xavier = trace(app, "relu_meas_lecun_relu")
    _, typo = trace(app, "relu_meas_typo_relu")
    assert xavier[-1] < he[-1] / 20 < typo[-1] / 1000  # after 6 layers: 0.5^6 and 2^6 apart from He's 1


def test_changing_the_initializer_and_depth_redraws(app):
    app.activation.value = "relu"
    app.init.value = "xavier_in"
    _, halving = trace(app, "fwd_pred")
    assert np.allclose(halving[1:] / halving[:-1], 0.5)
    app.init.value = "he"
    _, steady = trace(app, "fwd_pred")
    assert np.allclose(steady, steady[0])
    app.depth.value = 9
    assert len(trace(app, "fwd_meas")[1]) == 9 and len(trace(app, "prod_meas_1.0")[1]) == 9
    app.depth.value = 6


def test_changing_widths_fan_in_keeps_forward_fan_out_keeps_backward(app):
    app.widths.value = "300, 600, 100, 10"
    _, forward = trace(app, "w_fwd_pred_fan_in")
    _, backward = trace(app, "w_bwd_pred_fan_out")
    assert np.allclose(forward, 1) and np.allclose(backward, 1)
    _, measured = trace(app, "w_fwd_meas_fan_in")
    assert len(measured) == 3 and np.all(np.abs(np.log(measured)) < 0.4)


def test_bad_widths_show_a_message_and_the_app_recovers(app):
    before = trace(app, "w_fwd_pred_fan_in")[1].copy()
    app.widths.value = "784, lots, 10"
    assert "whole numbers" in app.message.value
    assert np.array_equal(trace(app, "w_fwd_pred_fan_in")[1], before)
    app.widths.value = "50, 40, 30"
    assert app.message.value == "" and len(trace(app, "w_fwd_pred_fan_in")[1]) == 2


def test_parse_widths():
    assert parse_widths("784; 100 10") == [784, 100, 10]
    for bad in ("5", "0, 3", "3, 99999", "a, b"):
        with pytest.raises(ValueError, match="widths="):
            parse_widths(bad)
