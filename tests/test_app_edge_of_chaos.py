"""The edge-of-chaos app without a browser: its figure holds the theory's numbers and the engine's measurements,
and the trainability button computes the map once, stores it, and reads it back on the next request."""

import dataclasses

import numpy as np
import pytest

from explorer import sweep, theory
from explorer.apps.edge_of_chaos import C0, GRID_SIGMA_B2, GRID_SIGMA_W2, MEASURED_SIGMA_W2, EdgeOfChaosApp

SMALL_MAP = sweep.TrainabilityConfig(depths=(1, 4), sigma_w2=(0.5, 1.75, 4.0), width=8, steps=10, examples=64,
                                     batch_size=32)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def app(cache):
    return EdgeOfChaosApp(cache_dir=cache, trainability=SMALL_MAP, depth=6)


def trace(app, key):
    return app.figure.trace(key)


def test_phase_diagram_holds_the_theory(app):
    heat = trace(app, "xi")
    assert np.allclose(heat.x, GRID_SIGMA_W2) and np.allclose(heat.y, GRID_SIGMA_B2)
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (len(GRID_SIGMA_B2), len(GRID_SIGMA_W2))
    edge = trace(app, "edge")
    assert np.allclose(edge.x, theory.critical_sigma_w2(np.asarray(edge.y), "tanh", points=40), atol=1e-6)
    # xi_c is largest next to the edge on every row with a bias
    for i in range(1, len(GRID_SIGMA_B2)):
        j = int(np.nanargmax(z[i]))
        assert abs(GRID_SIGMA_W2[j] - edge.x[i]) < 0.2


def test_measured_markers_follow_the_prediction_where_it_is_ordered(app):
    """One network of width 300: in the ordered phase the correlation converges and the measurement is tight
    (error about (1 - c^2)/sqrt(300) per layer); in the chaotic phase it only has to stay below 1."""
    measured = np.asarray(trace(app, "measured").marker.color, dtype=float)
    assert measured.shape == (len(MEASURED_SIGMA_W2),)
    predicted = app.predicted
    for sw, m, p in zip(MEASURED_SIGMA_W2, measured, predicted, strict=True):
        if theory.chi_1(sw, app.sigma_b2.value) < 0.9:
            assert abs(m - p) < 0.05
        else:
            assert m < 0.95 and p < 0.95


def test_maps_hold_the_trajectories(app):
    depth = app.depth.value
    sw, sb = app.sigma_w2.value, app.sigma_b2.value
    _, c_pred = theory.propagate_correlation(1.0, C0, depth, sw, sb, "tanh")
    for i in range(len(C0)):
        assert np.allclose(trace(app, f"c_pred_{i}").y, c_pred[:, i])
        assert len(trace(app, f"c_meas_{i}").y) == depth
    assert trace(app, "c_star").y[0] == pytest.approx(float(theory.mean_field(sw, sb).c_star))
    app.sigma_w2.value = 1.2  # ordered: every correlation climbs toward 1
    assert all(trace(app, f"c_pred_{i}").y[-1] > trace(app, f"c_pred_{i}").y[0] for i in range(len(C0)))
    assert trace(app, "c_star").y[0] == 1.0
    app.sigma_w2.value = sw


def test_relu_moves_the_edge_to_two(app):
    app.activation.value = "relu"
    try:
        assert np.allclose(trace(app, "edge").x, 2.0)
    finally:
        app.activation.value = "tanh"
    assert not np.allclose(trace(app, "edge").x, 2.0)


def test_button_computes_then_the_cache_answers(app, cache):
    config = app.config()
    assert sweep.cached_trainability_map(config, cache) is None
    assert len(trace(app, "train").z) == 0 and "Not computed" in app.map_status.value
    app.compute_button.click()
    stored = sweep.cached_trainability_map(config, cache)
    assert stored is not None and not app.map.from_cache
    z = np.asarray(trace(app, "train").z, dtype=float)
    assert np.array_equal(z, np.round(stored.accuracy, 3), equal_nan=True)
    assert app.progress.value == app.progress.max == 6
    stamp = stored.path.stat().st_mtime_ns
    app.compute_button.click()  # the second time: read back, not trained again
    assert app.map.from_cache and stored.path.stat().st_mtime_ns == stamp
    assert "cache" in app.map_status.value
    assert len(list(cache.glob("trainability-*.npz"))) == 1
    # a new view of the same settings shows the stored map at once, with no click
    again = EdgeOfChaosApp(cache_dir=cache, trainability=SMALL_MAP, depth=6)
    assert again.map is not None and again.map.from_cache
    assert np.array_equal(np.asarray(trace(again, "train").z, dtype=float), z, equal_nan=True)


def test_six_xi_c_line_is_drawn_for_the_current_settings(app):
    line = trace(app, "six_xi")
    sw = np.asarray(line.x)
    expected = 6 * theory.mean_field(sw, app.sigma_b2.value, "tanh").xi_c
    deepest = max(SMALL_MAP.depths)
    assert np.allclose(line.y, np.minimum(np.where(np.isfinite(expected), expected, 2 * deepest), 2 * deepest),
                       rtol=1e-3)


def test_a_failing_sweep_shows_a_message(app, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sweep, "trainability_map", broken)
    app.sigma_b2.value = 0.1
    app.compute_button.click()
    assert "disk full" in app.message.value and not app.compute_button.disabled
    app.sigma_b2.value = 0.05


def test_config_follows_the_controls(app):
    assert app.config() == dataclasses.replace(SMALL_MAP, activation="tanh", sigma_b2=0.05)


def test_in_the_browser_a_client_gives_way_to_this_page_and_the_app_says_so(tmp_path, monkeypatch):
    from explorer import runtime

    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    browser_app = EdgeOfChaosApp(cache_dir=tmp_path, trainability=SMALL_MAP, depth=6, client=object(), n_jobs=4)
    assert (browser_app.n_jobs, browser_app.client) == (1, None)
    browser_app.compute_button.click()
    assert browser_app.map is not None and not browser_app.map.from_cache
    assert "one after another in this page" in browser_app.message.value
    assert "explorer-error" not in browser_app.message.value
