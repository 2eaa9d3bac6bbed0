"""The reproductions notebook's experiments run from a button: nothing is computed before the press, and after it
the text and the figure show the run's own numbers; a bad setting is a message, not a traceback."""

import html

import numpy as np
import pytest

from explorer import reproductions as rep
from explorer.apps.reproductions import EXPERIMENTS, ReproductionApp

SMALL = {  # quick versions of the notebook's settings
    "glorot": dict(hidden_layers=3, width=32, m=64, seeds=(0, 1)),
    "he": dict(depth=6, width=16, steps=40, seeds=(0,)),
    "cs231n": dict(layers=4, width=40, m=60),
}


def test_every_experiment_has_a_quick_setting_here():
    assert set(SMALL) == set(EXPERIMENTS)


@pytest.mark.parametrize("name", sorted(EXPERIMENTS))
def test_nothing_runs_until_the_button_is_pressed(name, monkeypatch):
    calls = []
    experiment = EXPERIMENTS[name]
    monkeypatch.setitem(EXPERIMENTS, name, type(experiment)(
        experiment.title, lambda **kw: calls.append(kw), experiment.options, experiment.text, experiment.figure,
        experiment.seconds))
    app = ReproductionApp(name)
    assert calls == [] and app.result is None and app.figure is None and app.figure_box.children == ()
    assert "Run" in app.status.value
    assert app.options == experiment.options  # the notebook's own settings, unless told otherwise


def test_cs231n_run_shows_its_own_numbers():
    app = ReproductionApp("cs231n", **SMALL["cs231n"])
    app.run_button.click()
    result = app.result
    assert isinstance(result, rep.TanhStack) and result.layers == 4 and result.width == 40
    expected = rep.cs231n_tanh(**SMALL["cs231n"])
    np.testing.assert_array_equal(result.std, expected.std)  # seeded: the same numbers again
    # one trace per start and panel: mean, std, saturated share, each the result's values
    traces = app.figure.data
    assert len(traces) == 3 * len(result.inits)
    for i, name in enumerate(result.inits):
        mine = [t for t in traces if t.legendgroup == name]
        for trace, values in zip(mine, (result.mean[i], result.std[i], result.saturated[i]), strict=True):
            np.testing.assert_allclose(trace.y, values)
    for i, name in enumerate(result.inits):
        assert html.escape(rep.CS231N_INITS[name]) in app.text.value
        assert np.array2string(result.std[i], precision=2) in app.text.value
    assert "Done in" in app.status.value and not app.run_button.disabled
    assert app.figure_box.children == (app.figure,)


def test_he_run_shows_one_curve_per_start_and_seed():
    app = ReproductionApp("he", **SMALL["he"])
    app.run()
    result = app.result
    assert len(app.figure.data) == len(result.inits) * len(result.seeds)
    np.testing.assert_allclose(app.figure.data[0].y, result.cost[0, 0])
    assert f"fall after {result.steps[-1]} steps" in app.text.value


def test_glorot_run_shows_a_histogram_per_layer_start_and_kind():
    app = ReproductionApp("glorot", **SMALL["glorot"])
    app.run()
    result = app.result
    assert len(app.figure.data) == 2 * len(result.inits) * 3  # activations and gradients, each start, 3 layers
    np.testing.assert_allclose(app.figure.data[0].y, result.act_hist[0, 0])
    assert f"{result.gradient_shrink()[0].mean():.3f}" in app.text.value


def test_a_bad_setting_is_a_message_and_the_button_works_again():
    app = ReproductionApp("he", **{**SMALL["he"], "seeds": (0, -1)})
    app.run()
    assert app.result is None and app.figure is None
    assert "explorer-error" in app.status.value and "Traceback" not in app.status.value
    assert not app.run_button.disabled


def test_an_unknown_experiment_is_refused_clearly():
    with pytest.raises(ValueError, match="valid: glorot, he, cs231n"):
        ReproductionApp("lecun")
