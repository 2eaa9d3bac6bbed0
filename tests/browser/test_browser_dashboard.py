"""The dashboard in Voila (and a demo notebook in JupyterLab), driven in headless Chromium.

Every demo tab: its figure draws at the width of the page, a control changes the figure's data, Train
grows the cost curve and redraws every visible figure, Pause leaves the figures still. Over several
fresh page loads, the first tab's figure follows training every time (a FigureWidget that draws its first
state and then ignores every update is the failure to catch: with anywidget 0.9.17 and later a widget model has
2 s to start in the browser, and a slow load left figures frozen that way).

Timings are printed (run pytest with -s to see them), not asserted: the machine is shared and loaded.
Screenshots go to test-artifacts/: dashboard-<demo>.png, the 1280x800 window after training, and
dashboard-<demo>-figure.png, its whole figure; dashboard-narrow.png, the window 700 px wide.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import browserkit
import dashkit as dk
import pytest

from explorer.apps.dashboard import DEMOS, FIGURE_MIN_WIDTH

DASHBOARD = "notebooks/dashboard.ipynb"
LOAD_TIMEOUT = 180_000  # ms: page with an executed notebook, on a loaded 2-core machine
REDRAW_TIMEOUT = 45.0  # s
RELOADS = 3

pytestmark = pytest.mark.browser


@dataclass
class Spec:
    """How the test works one demo: a control to change and the trace that must change with it."""

    control: str | None  # label of a dropdown, or the start of a checkbox's description; None: no such check
    option: str | None  # the dropdown option to choose; None: tick the checkbox
    trace: int  # index of a trace whose `key` must change
    key: str
    cost: int  # index of a cost-curve trace that must grow during training
    before_train: list[tuple[str, str]] = field(default_factory=list)  # (dropdown, option) set before Train


SPECS = {
    # trace 4: the grey links of zero weights (every link for the zero start, none for He); the classic network
    # trains 15,000 steps a press, long enough to be caught training.
    "three_layer": Spec("Initialization", "He N(0, 2/n_in)", trace=4, key="x", cost=0,
                        before_train=[("Network", "2-10-5-1 (classic)")]),
    # trace 2: the bars of the activations' size per layer; trace 0: the cost.
    "nine_layer": Spec("Initialization", "too small: W = 0.5·I", trace=2, key="y", cost=0),
    # trace 3: the histogram of hidden layer 4; trace 4: the batch cost.
    "histograms": Spec("Initialization", "standard normal N(0, 1)", trace=3, key="y", cost=4),
    # Its only dropdown is the data set (MNIST is usually absent): the checkbox adds the fifth start,
    # whose test-accuracy curve is trace 25 (6 traces per start); trace 2: He's train cost.
    "digits_mlp": Spec("add a 5th start", None, trace=25, key="y", cost=2),
    # No training: trace 0 is the predicted forward variance, which halves per layer for ReLU under Xavier.
    "variance": Spec("Activation", "ReLU", trace=0, key="y", cost=0),
    # trace 1: orthogonal's activation std per layer; trace 0: its cost.
    "zoo": Spec("Activation", "tanh", trace=1, key="y", cost=0),
    # No training: trace 0 is the phase diagram (xi_c), which moves with the activation.
    "edge_of_chaos": Spec("Activation", "ReLU", trace=0, key="z", cost=0),
    # trace 0: the plain net's stream variance per block, which the branch's form changes; trace 4: its cost.
    "residual": Spec("Branch F", "one layer: ReLU, linear", trace=0, key="y", cost=4),
    # trace 0: the Gaussian weights' spectrum, which moves with the activation; trace 14: the Gaussian start's cost.
    "isometry": Spec("Activation", "ReLU", trace=0, key="y", cost=14),
    # No Train button (its sweep runs from "Run sweep"): trace 16 is the coordinate check's input layer, whose
    # widths follow the Widths dropdown.
    "mup": Spec("Widths", "64 … 1,024 (5 widths)", trace=16, key="x", cost=0),
}
# A demo added to DEMOS without a spec here: every check but the control's, with trace 0 as its cost curve.
DEFAULT_SPEC = Spec(None, None, trace=0, key="y", cost=0)


def load(page, url: str, width: int = 1280, height: int = 800) -> float:
    """Open the dashboard; return the seconds from navigation to the first tab's figure on screen."""
    page.set_viewport_size({"width": width, "height": height})
    start = time.monotonic()
    page.goto(url, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    return time.monotonic() - start


def first_state_arrived(page, spec: Spec) -> None:
    """The figure shows the run's step 0 (its cost curve has a point), not the empty traces it was built
    with: changes made to a FigureWidget after it was made and before the page connects never reach the page."""
    dk.wait_until(lambda: len(dk.trace_values(page, spec.cost, "x") or []) >= 1, REDRAW_TIMEOUT,
                  message=f"the first state in the figure (trace {spec.cost} has no point)")


def change_control(page, spec: Spec) -> None:
    """Change the spec's control and wait until its trace's data changes in the page."""
    before = dk.trace_values(page, spec.trace, spec.key)
    if spec.option is None:
        dk.check(page, spec.control)
    else:
        dk.select(page, spec.control, spec.option)
    dk.wait_until(lambda: dk.trace_values(page, spec.trace, spec.key) not in (before, None), REDRAW_TIMEOUT,
                  message=f"trace {spec.trace} to change after changing {spec.control!r}")


def train_and_pause(page, spec: Spec, name: str, window: float = 2.5) -> dict:
    """Train: the cost curve grows and every visible figure redraws; Pause: the figures stop changing.
    Returns the measured times."""
    for dropdown, option in spec.before_train:
        before = dk.fingerprints(page)
        dk.select(page, dropdown, option)
        dk.wait_until(lambda before=before: dk.fingerprints(page) != before, REDRAW_TIMEOUT,
                      message=f"a redraw after {dropdown!r}")
        dk.wait_until_static(page, quiet=1.0)  # the figure may be rebuilt in several messages
    dk.wait_until(lambda: dk.can_train(page), REDRAW_TIMEOUT, message="Train to be enabled")
    figures = dk.install_draw_counters(page)
    cost_before = len(dk.trace_values(page, spec.cost, "x") or [])
    prints_before = dk.fingerprints(page)
    started = time.monotonic()
    dk.button(page, "Train").click()
    dk.wait_until(lambda: all(a != b for a, b in zip(dk.fingerprints(page), prints_before, strict=True)),
                  REDRAW_TIMEOUT, message=f"all {figures} visible figures to redraw after Train")
    first_redraw = time.monotonic() - started
    dk.wait_until(lambda: len(dk.trace_values(page, spec.cost, "x") or []) > cost_before, REDRAW_TIMEOUT,
                  message="the cost curve to grow")
    draws_before, window_start = dk.draws(page), time.monotonic()
    time.sleep(window)  # a measuring window, not a wait for a condition
    rates = [(b - a) / (time.monotonic() - window_start) for a, b in zip(draws_before, dk.draws(page), strict=True)]
    paused_at = dk.pause(page)
    static_after = dk.wait_until_static(page, since=paused_at)
    dk.wait_until(lambda: not dk.training(page), REDRAW_TIMEOUT, message="Pause to be disabled after Pause")
    result = {"figures": figures, "first redraw s": round(first_redraw, 2),
              "redraws/s": [round(r, 1) for r in rates], "Pause to static s": round(static_after, 2)}
    print(f"[{name}] {result}")
    return result


def pictures(page, name: str, figure: bool = True) -> None:
    """test-artifacts/NAME.png: the window as it is (scrolled to the top); NAME-figure.png: the whole figure."""
    page.mouse.move(0, 0)  # no hover label in the pictures
    page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    browserkit.save_screenshot(page, name, full_page=False)
    if figure:
        path = browserkit.ARTIFACTS / f"{name}-figure.png"
        page.locator(".js-plotly-plot:visible").first.screenshot(path=str(path))


@contextmanager
def collect(failures: list[str], name: str):
    """Record a failed check of one demo and carry on with the next."""
    try:
        yield
    except Exception as error:  # failed checks and playwright's timeouts
        failures.append(f"{name}: {type(error).__name__}: {str(error)[:1500]}")


def test_every_demo_tab(voila_server, browser_page, page_errors):
    server = voila_server(DASHBOARD)
    page = browser_page
    first_plot = load(page, server.url)
    print(f"\n[dashboard] page load to first plot: {first_plot:.1f} s")
    titles = page.locator(".lm-TabBar-tab").all_inner_texts()
    assert [t.strip() for t in titles] == [title for title, _, _ in DEMOS]

    failures: list[str] = []
    for index, (title, module, _) in enumerate(DEMOS):
        spec = SPECS.get(module, DEFAULT_SPEC)
        with collect(failures, title):
            opened = time.monotonic()
            if index:
                dk.open_tab(page, title)
            widths = dk.wait_for_fitted_plots(page)
            print(f"[{module}] tab to fitted figure: {time.monotonic() - opened:.1f} s, widths {widths}")
            assert not dk.layout_problems(page), dk.layout_problems(page)  # overlaps, texts cut off
            assert not dk.page_text_problems(page), dk.page_text_problems(page)
            if dk.has_train_button(page):
                first_state_arrived(page, spec)
            if spec.control is None:
                print(f"[{module}] no spec in SPECS: no control changed")
            else:
                change_control(page, spec)
            if dk.has_train_button(page):
                train_and_pause(page, spec, module)
            else:
                print(f"[{module}] no Train button: nothing to train")
            assert not dk.page_text_problems(page), dk.page_text_problems(page)
            pictures(page, f"dashboard-{module}")

    with collect(failures, "back to the first tab"):  # its size after a tab switch
        dk.open_tab(page, DEMOS[0][0])
        dk.wait_for_fitted_plots(page)
    page_errors.assert_none()
    assert not failures, "\n".join(failures)


def test_first_tab_follows_training_on_every_load(voila_server, playwright_instance, chromium_path, tmp_path):
    """Fresh browser profile per load (cold cache, like a new visitor); the last load in a narrow window."""
    server = voila_server(DASHBOARD)
    spec = SPECS.get(DEMOS[0][1], DEFAULT_SPEC)
    failures = []
    for n in range(RELOADS):
        narrow = n == RELOADS - 1
        context = playwright_instance.chromium.launch_persistent_context(
            str(tmp_path / f"profile-{n}"), executable_path=chromium_path, headless=True,
            args=browserkit.CHROMIUM_ARGS)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(60_000)
            errors = browserkit.PageErrors().attach(page)
            with collect(failures, f"load {n + 1}"):
                first_plot = load(page, server.url, width=700 if narrow else 1280, height=800)
                print(f"\n[load {n + 1}] page load to first plot: {first_plot:.1f} s")
                widths = dk.wait_for_fitted_plots(page)
                first_state_arrived(page, spec)
                train_and_pause(page, spec, f"load {n + 1}")
                if narrow:  # the figure keeps its minimum width in a strip of its own that scrolls sideways
                    assert widths[0][0] >= int(FIGURE_MIN_WIDTH.removesuffix("px")), widths
                    page_width, window = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
                    assert page_width <= window, f"the page is {page_width} px wide in a {window} px window"
                    pictures(page, "dashboard-narrow", figure=False)
                assert not dk.page_text_problems(page), dk.page_text_problems(page)
                errors.assert_none()
            if failures and failures[-1].startswith(f"load {n + 1}:"):
                browserkit.save_screenshot(page, f"FAILED-load-{n + 1}")
        finally:
            context.close()
    assert not failures, "\n".join(failures)


def test_three_layer_notebook_runs_in_jupyterlab(jupyter_lab, browser_page, page_errors, screenshot):
    page = browser_page
    browserkit.lab_open_notebook(page, jupyter_lab, "notebooks/three_layer.ipynb")
    browserkit.lab_run_all(page)
    page.wait_for_selector(f".jp-OutputArea {dk.PLOT}", timeout=90_000)
    page.wait_for_selector(".jp-OutputArea .widget-dropdown select", timeout=60_000)
    figure = page.locator(".jp-OutputArea .js-plotly-plot").first
    figure.scroll_into_view_if_needed()
    dk.wait_for_visible_plot(page)
    spec = SPECS["three_layer"]
    first_state_arrived(page, spec)
    steps = len(dk.trace_values(page, spec.cost, "x"))
    dk.button(page, "Train").click()
    dk.wait_until(lambda: len(dk.trace_values(page, spec.cost, "x") or []) > steps, REDRAW_TIMEOUT,
                  message="the cost curve to grow in JupyterLab")
    dk.pause(page)  # catches a run in progress: the engine may finish a press before the click
    dk.wait_until(lambda: not dk.training(page), REDRAW_TIMEOUT, message="Pause to take effect")
    page.mouse.move(0, 0)
    screenshot("lab-three-layer")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    assert errors.count() == 0, errors.first.inner_text()
    page_errors.assert_none()
