"""The three-layer demo: its controls change the figure as the engine predicts."""

import asyncio
import base64
import struct
import zlib

import numpy as np
import pytest
from test_live_figure import train_to

from explorer import datasets
from explorer.apps import three_layer
from explorer.apps.three_layer import ThreeLayerApp


@pytest.fixture
def app():
    app = ThreeLayerApp()
    app.use_ack_gate = False
    return app


def drawn_links(app):
    """(layer, unit, input unit) -> (width, colour) of every link as drawn in the figure: each line segment
    of the link traces, found by where it starts and ends (unit j of layer l sits at x = l, y = unit_y)."""
    sizes = app.trainer.net.sizes
    where = {((l - 1, three_layer.unit_y(sizes, l - 1, i)), (l, three_layer.unit_y(sizes, l, j))): (l, j, i)
             for l, j, i in app.links}
    drawn = {}
    for trace in app.figure.data:
        if trace.type == "scatter" and trace.mode == "lines" and trace.xaxis == "x" + three_layer.NETWORK_AXIS:
            x, y = list(trace.x), list(trace.y)
            assert x[2::3] == y[2::3] == [None] * (len(x) // 3)  # segments apart, not joined
            for k in range(0, len(x), 3):
                link = where[((x[k], y[k]), (x[k + 1], y[k + 1]))]
                assert link not in drawn
                drawn[link] = (trace.line.width, trace.line.color)
    assert len(drawn) == len(app.links)
    return drawn


def boundary_pixels(app, k=0):
    """The decision boundary picture of panel k as RGB pixels, decoded from its PNG (rows from the top)."""
    png = base64.b64decode(app.figure.layout.images[k].source.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(png):
        size, kind = struct.unpack(">I4s", png[at:at + 8])
        data = png[at + 8:at + 8 + size]
        assert struct.unpack(">I", png[at + 8 + size:at + 12 + size])[0] == zlib.crc32(kind + data)
        chunks[kind] = chunks.get(kind, b"") + data
        at += 12 + size
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour_type) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, 1 + 3 * width)
    assert (rows[:, 0] == 0).all()  # no filter
    return rows[:, 1:].reshape(height, width, 3)


def hidden_unit_looks(app):
    """For each hidden layer, each unit's drawn links: its incoming ones, then its outgoing ones."""
    links, sizes = drawn_links(app), app.trainer.net.sizes
    looks = []
    for l in range(1, len(sizes) - 1):
        looks.append([tuple(links[(l, j, i)] for i in range(sizes[l - 1]))
                      + tuple(links[(l + 1, o, j)] for o in range(sizes[l + 1])) for j in range(sizes[l])])
    return looks


def all_units_alike(app):
    return all(len(set(layer)) == 1 for layer in hidden_unit_looks(app))


def cost_curve(app, k=0):
    trace = app.figure.trace(f"cost {k}")
    return np.asarray(trace.x), np.asarray(trace.y, dtype=float)


def test_zero_init_draws_every_hidden_unit_alike_before_and_after_training(app):
    assert app.init.value == "zero"
    assert all_units_alike(app)
    assert {width for width, _ in drawn_links(app).values()} == {three_layer.THINNEST}
    train_to(app, 5)
    assert app.trainer.step == 5 * app.every
    assert all_units_alike(app)
    low, high = app.figure.layout.yaxis.range  # the flat cost gets a readable axis, not a sliver of 1e-16
    assert high - low >= 1 and low < np.log10(np.log(2)) < high
    app.links_show.value = "gradients"
    assert all_units_alike(app)


def test_constant_init_moves_the_weights_but_keeps_the_units_alike(app):
    app.init.value = "constant"
    before = drawn_links(app)
    assert all_units_alike(app)
    for _ in range(10):
        app.step()
    assert app.trainer.step == 10 * app.every
    assert drawn_links(app) != before  # the weights changed...
    assert all_units_alike(app)  # ...in the same way for every unit of a layer


def test_he_init_draws_the_hidden_units_differently(app):
    app.init.value = "he"
    looks = hidden_unit_looks(app)
    assert all(len(set(layer)) == len(layer) for layer in looks)  # no two units alike
    widths = [width for width, _ in drawn_links(app).values()]
    assert max(widths) == three_layer.THICKEST and min(widths) < 2
    colors = {color for _, color in drawn_links(app).values()}
    assert colors == {three_layer.POSITIVE, three_layer.NEGATIVE}
    hover = app.figure.trace("link hover").hovertext
    w = app.snapshot.weights[0][0, 0, 0]
    assert hover[0].endswith(f"w = {w:+.4g}")


def test_the_boundary_picture_shows_the_probability_of_class_1(app):
    app.init.value = "he"
    for _ in range(5):
        app.step()
    probability = app.grid.as_image(app.snapshot.probe[0, :, 0])  # rows follow the grid's y, upwards
    pixels = boundary_pixels(app).astype(float)
    assert pixels.shape == (len(app.grid.ys), len(app.grid.xs), 3)
    # the colour scale: orange #f9c89b at 0, grey #ececec at 0.5, blue #a9c8ea at 1, straight lines between
    low, middle, high = np.array([249, 200, 155]), np.array([236, 236, 236]), np.array([169, 200, 234])
    p = probability[::-1, :, None]  # the picture's top row is the grid's highest y
    expected = np.where(p < 0.5, low + (middle - low) * 2 * p, middle + (high - middle) * (2 * p - 1))
    assert np.abs(pixels - expected).max() <= 0.5 + 1e-9  # rounded to whole levels
    assert pixels.std(axis=(0, 1)).max() > 5  # He: not one flat colour
    image = app.figure.layout.images[0]  # the picture covers the grid's cells, centred on its points
    step = app.grid.xs[1] - app.grid.xs[0]
    assert image.x == pytest.approx(app.grid.xs[0] - step / 2, abs=1e-3)
    assert image.sizex == pytest.approx(len(app.grid.xs) * step, abs=2e-3)
    assert image.y == pytest.approx(app.grid.ys[-1] + (app.grid.ys[1] - app.grid.ys[0]) / 2, abs=1e-3)


def test_gradient_toggle_draws_the_gradients(app):
    app.init.value = "he"
    weights = drawn_links(app)
    app.links_show.value = "gradients"
    assert drawn_links(app) != weights
    hover = app.figure.trace("link hover").hovertext
    assert hover[0].startswith("dCost/dw") and hover[0].endswith(f"{app.snapshot.weight_grads[0][0, 0, 0]:+.4g}")
    assert "dCost/dw" in app.figure.layout.annotations[-1].text


def test_dataset_dropdown_changes_the_scatter(app):
    points = app.figure.trace("points 0")
    circles = np.asarray(points.x).copy()
    app.dataset.value = "moons"
    points = app.figure.trace("points 0")
    moons = datasets.toy("moons", 300, 0.1, seed=0)
    assert not np.allclose(points.x, circles)
    assert np.asarray(points.x) == pytest.approx(moons.X[:, 0], abs=1e-3)
    assert list(points.marker.color) == list(moons.y)
    app.points.value = 500
    assert len(app.figure.trace("points 0").x) == 500


def test_compare_mode_trains_four_stacked_models_with_four_growing_curves(app):
    figure = app.figure
    app.mode.value = "compare"
    assert app.figure is figure  # the same widget, new traces
    net = app.trainer.net
    assert net.K == 4 and app.snapshot.cost.shape == (4,)
    assert [repr(i) for i in net.inits] == [
        "zeros()",
        "variance_scaling(scale=0.01, mode='fan_in', distribution='normal')",
        "variance_scaling(scale=1.0, mode='fan_in', distribution='normal')",
        "variance_scaling(scale=100.0, mode='fan_in', distribution='normal')",
    ]
    names = [app.figure.trace(f"cost {k}").name for k in range(4)]
    assert names == [label for label, _, _ in three_layer.CLASSIC.values()]
    assert len(app.figure.layout.images) == 4  # four boundaries
    assert app.init.disabled and app.drawn.layout.display is None

    app.stop_at = 300  # the live loop, run to a fixed step so that the test does not depend on the machine's speed
    asyncio.run(app.train())
    assert app.trainer.step == 300
    for k in range(4):
        x, y = cost_curve(app, k)
        assert len(x) == 31 and x[-1] == 300
        assert y[-1] == pytest.approx(app.snapshot.cost[k])
    assert cost_curve(app, 0)[1] == pytest.approx(np.log(2))  # zero: the output stays 0.5 everywhere
    assert cost_curve(app, 2)[1][-1] < cost_curve(app, 1)[1][-1]  # appropriate beats too small

    zero_links = drawn_links(app)
    app.drawn.value = "appropriate"
    assert drawn_links(app) != zero_links
    assert "appropriate" in app.figure.layout.annotations[-1].text

    app.mode.value = "single"
    assert app.trainer.net.K == 1 and len(app.figure.layout.images) == 1
    assert app.drawn.layout.display == "none"


def test_classic_architecture_sets_its_learning_rate_and_run_length(app):
    app.architecture.value = "2-10-5-1 (classic)"
    assert app.trainer.net.sizes == [2, 10, 5, 1]
    assert app.learning_rate.value == pytest.approx(0.01)
    assert app.run_steps == 15_000 and app.progress.max == 15_000
    assert len(app.links) == 2 * 10 + 10 * 5 + 5
    assert app.trainer.lr[0, 0] == pytest.approx(0.01)
    app.architecture.value = "2-6-3-1"
    assert app.learning_rate.value == pytest.approx(0.1) and app.run_steps == 5_000
    assert len(app.links) == 2 * 6 + 6 * 3 + 3


def test_free_scale_slider_is_used_only_by_the_free_scale(app):
    assert app.scale.disabled
    app.init.value = "scale"
    assert not app.scale.disabled
    app.scale.value = 100.0
    assert app.snapshot.cost[0] == pytest.approx(8.13, abs=0.01)  # the same draw as "too large"
    assert "v = 1e+02" in app.status.value


def test_bad_seed_shows_a_message_and_the_app_recovers(app):
    app.seed.value = -1
    assert "seed" in app.message.value and "explorer-error" in app.message.value
    assert app.train_button.disabled
    app.seed.value = 4
    assert app.message.value == ""
    assert not app.train_button.disabled
    app.step()
    assert app.trainer.step == app.every
    # The learning rate is a log slider: values out of its range are clamped, never passed on.
    app.learning_rate.value = 0
    assert app.learning_rate.value == pytest.approx(1e-4) and app.message.value == ""


def test_a_diverging_model_is_marked_and_its_curve_ends_without_nan(app):
    # A free scale of 10,000 on this data set: the first update overshoots and the cost passes a million.
    app.dataset.value = "gaussians"
    app.seed.value = 2
    app.init.value = "scale"
    app.scale.value = 1e4
    assert app.snapshot.cost[0] == pytest.approx(119_000, rel=0.01)
    asyncio.run(app.train())  # ends when every model has diverged (or after the press's 5,000 steps)
    assert app.finished and not app.running and app.train_button.disabled
    assert app.snapshot.diverged_at[0] == 2
    assert "DIVERGED at step 2" in app.status.value
    x, y = cost_curve(app)
    assert len(y) >= 1 and np.isfinite(y).all()  # the curve stops at the divergence: no NaN, no None
    cross = app.figure.trace("diverged")
    assert list(cross.x) == [2] and cross.text == ("diverged",)
    assert boundary_pixels(app).shape == (three_layer.GRID, three_layer.GRID, 3)  # the last finite state


def test_numbers_quoted_in_the_notebook(app):
    app.mode.value = "compare"
    grads = app.snapshot.weight_grads
    for g in grads:  # too small vs appropriate: gradients about a hundred times smaller at the start
        assert 70 < np.abs(g[2]).max() / np.abs(g[1]).max() < 130
    assert app.snapshot.cost[3] == pytest.approx(8.13, abs=0.01)
    app.pull(45)
    app.draw()
    first_below = []
    for k in range(4):
        x, y = cost_curve(app, k)
        first_below.append(int(x[np.argmax(y < 0.5)]) if (y < 0.5).any() else None)
    assert first_below == [None, None, 440, None]  # too large at 1,420, too small at 3,770: not yet
    assert not app.snapshot.diverged.any()


def test_redraw_payload_stays_small(app):
    app.mode.value = "compare"
    train_to(app, 30)
    import json

    size = len(json.dumps(app.figure.to_plotly_json(), default=lambda a: np.asarray(a).tolist()))
    assert size < 200_000


def test_runs_on_the_same_data_share_a_cost_axis_that_only_grows(app):
    app.init.value = "he"
    app.stop_at = 2_000
    asyncio.run(app.train())
    low, high = app.figure.layout.yaxis.range
    assert low <= np.log10(app.snapshot.cost[0]) < -1 and high >= 0  # the trained run, and where runs begin
    app.init.value = "xavier"  # a new run starts high again: the axis keeps the lower end
    assert list(app.figure.layout.yaxis.range) == [low, high]
    app.dataset.value = "moons"  # other data: the axis starts afresh
    fresh = three_layer.log_range(app.snapshot.cost[0], app.snapshot.cost[0])
    assert list(app.figure.layout.yaxis.range) == fresh
