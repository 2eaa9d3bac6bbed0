"""The figures' layout as the browser draws it: nothing overlaps, nothing is cut off, and the figures follow
the window's width, in Voila (the dashboard, every tab) and in JupyterLab (one demo's notebook).

What is checked (dashkit.layout_problems): legends, colour bars, axis titles and panel titles do not overlap,
a legend or colour bar does not cover part of a panel, no text runs past the figure's edge. At 1280 px every
tab is checked by test_browser_dashboard.py; here the window is narrowed to 800 px (the figures keep their
minimum width and scroll sideways) and widened again, and a disabled button must look disabled.
Pictures: test-artifacts/layout-<demo>-800.png; `python tests/browser/screenshots.py` takes them all.
"""

from __future__ import annotations

import browserkit
import dashkit as dk
import pytest

from explorer.apps.dashboard import DEMOS, FIGURE_MIN_WIDTH

DASHBOARD = "notebooks/dashboard.ipynb"
LOAD_TIMEOUT = 180_000  # ms
MIN_WIDTH = int(FIGURE_MIN_WIDTH.removesuffix("px"))

pytestmark = pytest.mark.browser


def assert_looks_disabled(page) -> None:
    """A disabled Pause is grey and faded, plainly unlike the enabled Train (ipywidgets alone: opacity 0.6)."""
    pause, train = dk.button_look(page, "Pause"), dk.button_look(page, "Train")
    assert pause["disabled"] and not train["disabled"], (pause, train)
    assert pause["opacity"] <= 0.5 and "grayscale(1)" in pause["filter"], pause
    assert train["opacity"] == 1 and train["filter"] == "none", train


def resize(page, width: int) -> list[tuple[float, float]]:
    """Set the window's width, wait until the page has laid the figures out anew (their place changes width a
    moment after the window does) and then until they are drawn that wide; return (drawn, available) widths."""
    before = dk.plot_widths(page)
    page.set_viewport_size({"width": width, "height": 900})
    dk.wait_until(lambda: [room for _, room in dk.plot_widths(page)] != [room for _, room in before], 30,
                  message=f"the figures' place to change width in a {width} px window")
    return dk.wait_for_fitted_plots(page)


def test_dashboard_follows_the_window_and_nothing_overlaps(voila_server, browser_page, page_errors):
    page = browser_page
    server = voila_server(DASHBOARD)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server.url, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    (wide, _), = dk.wait_for_fitted_plots(page)
    assert_looks_disabled(page)

    (narrow, room), = resize(page, 800)  # no tab change: only the resize can fit the figure
    assert narrow == room == MIN_WIDTH < wide, (narrow, room, wide)

    failures = []
    for title, module, _ in DEMOS:
        dk.open_tab(page, title)
        dk.wait_for_fitted_plots(page)
        page.mouse.move(0, 0)
        browserkit.save_screenshot(page, f"layout-{module}-800", full_page=False)
        failures += [f"{module} at 800 px: {problem}" for problem in dk.layout_problems(page)]

    (again, _), = resize(page, 1280)  # the last tab shown follows a wider window too
    assert again == wide
    assert not failures, "\n".join(failures)
    page_errors.assert_none()


def test_lab_notebook_figure_fits_and_follows_the_window(jupyter_lab, browser_page, page_errors, screenshot):
    """One demo in JupyterLab: the figure takes the width of the notebook (plotly alone draws it 700 px wide),
    its panels' titles and labels are inside it, and it follows the window."""
    page = browser_page
    browserkit.lab_open_notebook(page, jupyter_lab, "notebooks/three_layer.ipynb")
    browserkit.lab_run_all(page)
    page.wait_for_selector(f".jp-OutputArea {dk.PLOT}", timeout=90_000)
    page.locator(".jp-OutputArea .js-plotly-plot").first.scroll_into_view_if_needed()
    (drawn, room), = dk.wait_for_fitted_plots(page)
    assert drawn > 800, f"the figure is {drawn} px wide in a notebook of {room} px"
    assert not dk.layout_problems(page), dk.layout_problems(page)
    assert_looks_disabled(page)

    (narrower, _), = resize(page, 1100)
    assert narrower < drawn - 100, (narrower, drawn)
    page.mouse.move(0, 0)
    screenshot("lab-layout-three-layer")
    page_errors.assert_none()
