"""The dashboard notebook renders its plot in Voila and in JupyterLab, in headless Chromium."""

import browserkit
import pytest

DASHBOARD = "notebooks/dashboard.ipynb"
PLOT = ".js-plotly-plot .main-svg"

pytestmark = pytest.mark.browser


def test_dashboard_renders_in_voila(voila_server, browser_page, page_errors, screenshot):
    server = voila_server(DASHBOARD)
    page = browser_page
    page.goto(server.url, timeout=90_000)
    page.wait_for_selector(PLOT, timeout=90_000)
    page.wait_for_function("() => document.querySelector('.js-plotly-plot').data?.[0]?.y?.length === 3")
    shot = screenshot("voila-dashboard")
    assert shot.exists()
    text = page.inner_text("body")
    assert "explorer" in text
    assert "Traceback" not in text and "Error" not in text, text[-2000:]
    page_errors.assert_none()


def test_dashboard_runs_in_jupyterlab(jupyter_lab, browser_page, page_errors, screenshot):
    page = browser_page
    browserkit.lab_open_notebook(page, jupyter_lab, DASHBOARD)
    browserkit.lab_run_all(page)
    page.wait_for_selector(f".jp-OutputArea {PLOT}", timeout=90_000)
    screenshot("lab-dashboard")
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    tracebacks = page.locator(".jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert tracebacks.count() == 0, tracebacks.first.inner_text()
    assert errors.count() == 0, errors.first.inner_text()
    page_errors.assert_none()
