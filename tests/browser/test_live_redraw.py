"""Live redraw in the browser: during training, Pause and a control change take effect with no backlog.

The three-layer demo of the dashboard in Voila, in headless Chromium. The redraws of the figure are counted
in the page (plotly's update, restyle and relayout events). A backlog of redraws queued in the page would
keep the figure moving long after Pause (hundreds of redraws were seen before the ack gate): here at most
MAX_LATE redraws may come after the click, Pause's own redraw of the step reached and the one in flight.

Timings are printed (run pytest with -s), not asserted: speed is measured by benchmarks/bench_live.py.
"""

from __future__ import annotations

import time

import dashkit as dk
import pytest

DASHBOARD = "notebooks/dashboard.ipynb"
LOAD_TIMEOUT = 180_000  # ms
TIMEOUT = 45.0  # s
# Redraws after the click: Pause's own, the three in flight (LiveApp.in_flight), and those the kernel sends while
# the click travels to it (the demo redraws every ~90 ms; the click takes a round trip, longer under load).
# A backlog, as before the ack gate, is hundreds.
MAX_LATE = 7
COST = 0  # the cost curve's trace

pytestmark = pytest.mark.browser

def cost_steps(page) -> list:
    return dk.trace_values(page, COST, "x") or []


def last_step(page) -> float:
    """The step of the cost curve's last point (-1: no curve)."""
    steps = cost_steps(page)
    return steps[-1] if steps else -1


def train_until_redrawing(page, redraws: int = 3) -> bool:
    """Press Train and wait until the cost curve has reached further over `redraws` redraws; return whether the
    run is still going (a press trains 15,000 steps, which a fast engine may finish in a few seconds).
    The curve's last step, not its length: a long curve is thinned (History), so its length goes down too."""
    dk.wait_until(lambda: dk.can_train(page), TIMEOUT, message="Train to be enabled")
    drawn, reached = dk.draws(page)[0], last_step(page)
    dk.button(page, "Train").click()
    dk.wait_until(lambda: dk.draws(page)[0] >= drawn + redraws and last_step(page) > reached, TIMEOUT,
                  message="the figure to follow training")
    return dk.training(page)


def test_pause_and_a_control_change_during_training_take_effect_without_backlog(
        voila_server, browser_page, page_errors):
    server = voila_server(DASHBOARD)
    page = browser_page
    page.goto(server.url, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    dk.wait_until(lambda: len(cost_steps(page)) >= 1, TIMEOUT, message="the first state in the figure")
    dk.select(page, "Network", "2-10-5-1 (classic)")  # 15,000 steps a press: long enough to be caught training
    dk.wait_until(lambda: cost_steps(page) == [0] and dk.can_train(page), TIMEOUT, message="the classic network")
    dk.wait_until_static(page, quiet=1.0)
    assert dk.install_draw_counters(page) == 1

    # Pause: the figure stops within a bounded number of redraws and shows where training stopped.
    for _ in range(3):  # catch a run going (train again if it ended on its own)
        if train_until_redrawing(page):
            break
    drawn = dk.draws(page)[0]
    paused_at = time.monotonic()
    dk.button(page, "Pause").click(timeout=5_000)
    still_after = dk.wait_until_static(page, since=paused_at, quiet=2.0)
    late = dk.draws(page)[0] - drawn
    dk.wait_until(lambda: not dk.training(page) and dk.can_train(page), TIMEOUT, message="Pause to take effect")
    step = dk.shown_step(page)
    print(f"\n[pause] last change seen {still_after * 1000:.0f} ms after the click (0: before the first look), "
          f"{late} redraws after it, step {step:,}")
    assert late <= MAX_LATE, f"{late} redraws came after Pause: a backlog"
    assert step > 0 and cost_steps(page)[-1] == step  # the figure shows the step reached, not an older one
    time.sleep(1.0)
    assert dk.shown_step(page) == step and dk.draws(page)[0] == drawn + late  # nothing trains behind the scenes

    # Train goes on from there.
    train_until_redrawing(page)
    assert cost_steps(page)[-1] > step
    assert dk.shown_step(page) > step

    # A control change during training stops the run and starts a new one cleanly, at step 0.
    for _ in range(3):  # catch a run going (train again if it ended on its own)
        if dk.training(page) or train_until_redrawing(page, redraws=1):
            break
    assert dk.training(page), "no run in progress to change a control during"
    drawn = dk.draws(page)[0]
    flat = dk.image_sources(page)[0]  # the zero start's boundary: P(class 1) = 0.5 everywhere
    changed_at = time.monotonic()
    dk.select(page, "Initialization", "He N(0, 2/n_in)")
    dk.wait_until(lambda: cost_steps(page) == [0], TIMEOUT, message="the new run's step 0 in the figure")
    new_run_after = time.monotonic() - changed_at
    still_after = dk.wait_until_static(page, since=changed_at, quiet=2.0)
    late = dk.draws(page)[0] - drawn
    print(f"[control] new run shown {new_run_after * 1000:.0f} ms after the change, last change seen "
          f"{still_after * 1000:.0f} ms after it, {late} redraws after it")
    assert not dk.training(page) and dk.can_train(page)
    assert dk.shown_step(page) == 0 and cost_steps(page) == [0]
    assert late <= MAX_LATE, f"{late} redraws came after the change: a backlog"
    assert dk.image_sources(page)[0] != flat  # He: a boundary, not the flat picture of the zero start

    # The new run trains from step 0, and Pause still works.
    train_until_redrawing(page)
    steps = cost_steps(page)
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] > 0
    dk.pause(page)
    dk.wait_until(lambda: not dk.training(page), TIMEOUT, message="Pause to take effect")
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    page_errors.assert_none()


# The nine-layer demo's bars are filled rectangles of scatter traces: the number of rectangles each panel
# draws (closed pieces of its fills' SVG paths), and the full redraws and the animations the graph made.
NINE_LAYER_PANELS = """() => {""" + dk._VISIBLE + """
    const g = visiblePlots()[0];
    const rectangles = panel => [...g.querySelectorAll(`.subplot.${panel} path.js-fill`)]
        .map(p => ((p.getAttribute('d') || '').match(/Z/g) || []).length).reduce((a, b) => a + b, 0);
    return {bars: ['xy', 'x2y2', 'x3y3'].map(rectangles), full: g.__full || 0, quick: g.__quick || 0};
}"""
COUNT_REDRAWS = """() => {""" + dk._VISIBLE + """
    const g = visiblePlots()[0];
    g.on('plotly_afterplot', () => { g.__full = (g.__full || 0) + 1; });
    g.on('plotly_animatingframe', () => { g.__quick = (g.__quick || 0) + 1; });
}"""


def open_demo(voila_server, page, demo: str, cost_trace: int) -> None:
    """Open the dashboard on one demo's tab (?demo=...) and wait until its first state is drawn, at rest: the
    trace `cost_trace` has its first point and Train is enabled."""
    server = voila_server(DASHBOARD)
    page.goto(server.url + f"?demo={demo}", timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    dk.wait_until(lambda: len(dk.trace_values(page, cost_trace, "x") or []) >= 1 and dk.can_train(page), TIMEOUT,
                  message="the first state")
    dk.wait_until_static(page, quiet=1.0)


def step_redraws(page, panels: str, presses: int) -> dict:
    """Press Step `presses` times, each one more snapshot and one quick redraw of it (LiveApp.step), waiting for
    each to be drawn: the redraws come at fixed points, however fast the machine (a count of the redraws made
    while training depends on its speed). Return what the page script `panels` reads once the figure is still."""
    for press in range(presses):
        dk.wait_until(lambda: dk.button(page, "Step").is_enabled(), TIMEOUT, message="Step to be enabled")
        drawn = page.evaluate(panels)["quick"]
        dk.button(page, "Step").click()
        dk.wait_until(lambda drawn=drawn: page.evaluate(panels)["quick"] > drawn, TIMEOUT,
                      message=f"Step {press + 1}'s redraw")
    dk.wait_until_static(page, quiet=1.0)
    return page.evaluate(panels)


def train_then_pause(page, panels: str) -> tuple[dict, int]:
    """Train until at least one more quick redraw came (or the run ended), press Pause and wait for the figure to
    be still; return what the page script `panels` reads then, and the step in the status line."""
    quick = page.evaluate(panels)["quick"]
    dk.button(page, "Train").click()
    dk.wait_until(lambda: page.evaluate(panels)["quick"] > quick or not dk.training(page), TIMEOUT,
                  message="a quick redraw while training")
    dk.pause(page)
    dk.wait_until(lambda: not dk.training(page), TIMEOUT, message="Pause to take effect")
    dk.wait_until_static(page, quiet=1.0)
    return page.evaluate(panels), dk.shown_step(page)


def test_nine_layer_bars_stay_drawn_through_quick_redraws(voila_server, browser_page, page_errors):
    """The nine-layer demo redraws with Plotly.animate (LiveApp.quick_update), which redraws scatter traces
    alone: its bars (rectangles of scatter traces, not bar traces) stay drawn in every panel through twelve
    Steps and through training, and full redraws of the figure (a new axis range) are few."""
    page = browser_page
    open_demo(voila_server, page, "nine-layer", cost_trace=COST)
    assert page.evaluate(NINE_LAYER_PANELS)["bars"] == [0, 9, 19]  # 9 activations; 9 dA and 10 dW
    page.evaluate(COUNT_REDRAWS)

    panels = step_redraws(page, NINE_LAYER_PANELS, 12)
    print(f"\n[nine-layer] 12 Steps: {panels['quick']} quick redraws, {panels['full']} full ones")
    assert panels["bars"] == [0, 9, 19]
    assert dk.shown_step(page) == 12 and cost_steps(page)[-1] == 12  # a snapshot every step
    assert panels["quick"] == 12 and panels["full"] <= panels["quick"] / 2

    panels, step = train_then_pause(page, NINE_LAYER_PANELS)
    print(f"[nine-layer] trained to step {step:,}: {panels['quick']} quick redraws, {panels['full']} full ones")
    assert panels["bars"] == [0, 9, 19]
    assert step > 12 and cost_steps(page)[-1] == step
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    page_errors.assert_none()


# The histograms demo: what each panel draws. The four histograms are filled step lines of scatter traces
# (the filled area of each: one closed path), their titles text traces; the batch is a layout image with its
# frames and labels (text) on top.
HISTOGRAM_PANELS = """() => {""" + dk._VISIBLE + """
    const g = visiblePlots()[0];
    const panel = name => g.querySelector(`.subplot.${name}`);
    const filled = name => [...panel(name).querySelectorAll('path.js-fill')]
        .filter(p => (p.getAttribute('d') || '').length > 20).length;
    const texts = name => [...panel(name).querySelectorAll('.textpoint text')].map(t => t.textContent);
    const lines = name => [...panel(name).querySelectorAll('path.js-line')]
        .filter(p => (p.getAttribute('d') || '').length > 20).length;
    const histograms = ['xy', 'x2y2', 'x3y3', 'x4y4'];
    const picture = g.querySelector('.layer-subplot image, .imagelayer image, image');
    const box = e => { const r = e.getBoundingClientRect(); return [Math.round(r.width), Math.round(r.height)]; };
    return {filled: histograms.map(filled), titles: histograms.map(name => texts(name).join('|')),
            batch: texts('x7y7'), frames: lines('x7y7'), picture: picture ? picture.getAttribute('href') : null,
            picture_box: picture ? box(picture) : null, panel_box: box(g.querySelector('.draglayer .x7y7 .nsewdrag')),
            full: g.__full || 0, quick: g.__quick || 0};
}"""


def test_histograms_stay_drawn_through_quick_redraws(voila_server, browser_page, page_errors):
    """The histograms demo redraws with Plotly.animate (LiveApp.quick_update): the histograms (filled scatter
    step lines, not bar traces), their titles, the batch's picture, frames and labels stay drawn in every panel
    through twelve Steps and through training, the picture follows the batch, and full redraws are few."""
    page = browser_page
    open_demo(voila_server, page, "histograms", cost_trace=4)
    before = page.evaluate(HISTOGRAM_PANELS)
    page.evaluate(COUNT_REDRAWS)

    stepped = step_redraws(page, HISTOGRAM_PANELS, 12)
    print(f"\n[histograms] 12 Steps: {stepped['quick']} quick redraws, {stepped['full']} full ones")
    assert dk.shown_step(page) == 120 and dk.trace_values(page, 4, "x")[-1] == 120  # a snapshot every 10 steps
    assert stepped["quick"] == 12 and stepped["full"] <= stepped["quick"] / 2

    after, step = train_then_pause(page, HISTOGRAM_PANELS)
    print(f"[histograms] trained to step {step:,}: {after['quick']} quick redraws, {after['full']} full ones")
    for panels in (before, stepped, after):
        assert panels["filled"] == [1, 1, 1, 1]
        assert [title.split(" · ")[0] for title in panels["titles"]] == [f"layer {l}" for l in range(1, 5)]
        assert len(panels["batch"]) == 16 + 1 and panels["batch"][-1].startswith("batch: ")  # labels, title
        assert panels["frames"] >= 1 and panels["picture"].startswith("data:image/png;base64,")
        # the picture fills its panel: plotly shrinks the panel to keep the pixels square, not widens a range
        assert all(abs(a - b) <= 2 for a, b in zip(panels["picture_box"], panels["panel_box"], strict=True))
    assert stepped["picture"] != before["picture"]  # the batch of the step reached, not the first one
    assert after["picture"] != stepped["picture"]
    assert step > 120 and dk.trace_values(page, 4, "x")[-1] == step
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    page_errors.assert_none()


# The digits demo: the lines each of its three panels draws (two per start: train and test, or layer 1 and 2).
DIGITS_PANELS = """() => {""" + dk._VISIBLE + """
    const g = visiblePlots()[0];
    const lines = name => [...g.querySelectorAll(`.subplot.${name} path.js-line`)]
        .filter(p => (p.getAttribute('d') || '').length > 0).length;
    return {lines: ['xy', 'x2y2', 'x3y3'].map(lines), full: g.__full || 0, quick: g.__quick || 0};
}"""


def test_digits_curves_stay_drawn_through_quick_redraws(voila_server, browser_page, page_errors):
    """The digits demo redraws with Plotly.animate (LiveApp.quick_update): the curves of the four starts stay
    drawn in every panel through fifteen Steps (half an epoch each) and through training, reach the epoch
    trained, and full redraws of the figure are few."""
    page = browser_page
    open_demo(voila_server, page, "digits-mlp", cost_trace=0)
    assert page.evaluate(DIGITS_PANELS)["lines"] == [8, 8, 8]
    page.evaluate(COUNT_REDRAWS)

    stepped = step_redraws(page, DIGITS_PANELS, 15)
    print(f"\n[digits] 15 Steps: {stepped['quick']} quick redraws, {stepped['full']} full ones")
    assert stepped["lines"] == [8, 8, 8] and len(dk.trace_values(page, 0, "x")) == 16
    assert stepped["quick"] == 15 and stepped["full"] <= stepped["quick"] / 2

    train_then_pause(page, DIGITS_PANELS)
    panels = page.evaluate(DIGITS_PANELS)
    epochs = dk.trace_values(page, 0, "x")
    status = page.evaluate("""() => [...document.querySelectorAll('.widget-html-content')]
        .filter(e => e.offsetParent !== null).map(e => e.innerText).find(t => /^epoch [0-9.]+/.test(t))""")
    print(f"\n[digits] {status.split(' ·')[0]}: {panels['quick']} quick redraws, {panels['full']} full ones")
    assert panels["lines"] == [8, 8, 8]
    assert len(epochs) > 16 and status.startswith(f"epoch {epochs[-1]:.1f} ")
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    page_errors.assert_none()
