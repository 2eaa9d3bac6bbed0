"""Export in one press: in the dashboard, served by Voila or run in JupyterLab, one press of JSON or CSV
downloads the file, whose content is the run the page shows; the link beside the buttons offers it again."""

from __future__ import annotations

import csv
import io
import json

import browserkit
import dashkit as dk
import pytest

pytestmark = pytest.mark.browser

DASHBOARD = "notebooks/dashboard.ipynb"
LOAD_TIMEOUT = 180_000  # ms: the executed notebook on a loaded 2-core machine
QUERY = "?demo=three-layer&init=he&seed=3"


def download(page, label: str):
    """Press the export button `label` once; return the download it started (name, text)."""
    with page.expect_download(timeout=60_000) as started:
        dk.button(page, label).click()
    done = started.value
    assert done.failure() is None, done.failure()
    with open(done.path(), encoding="utf-8") as file:
        return done.suggested_filename, file.read()


def test_one_press_of_json_or_csv_downloads_the_run(voila_server, browser_page, page_errors, screenshot):
    server = voila_server(DASHBOARD)
    page = browser_page
    page.goto(server.url + QUERY, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    dk.button(page, "Step").click()  # ten steps of gradient descent from He's start, seed 3
    dk.wait_until(lambda: len(dk.trace_values(page, 0) or []) == 2, 45, message="the cost curve at steps 0 and 10")
    shown_costs = dk.trace_values(page, 0)  # the cost curve as the browser drew it

    name, text = download(page, "JSON")
    record = json.loads(text)
    assert name == "three_layer-step10.json"
    assert record["settings"]["step"] == 10
    assert record["settings"]["controls"]["init"] == "he" and record["settings"]["controls"]["seed"] == 3
    assert record["config"]["seeds"] == [3]
    costs = record["histories"]["costs"]
    assert costs["steps"] == [0, 10]
    assert [row[0] for row in costs["values"]] == pytest.approx(shown_costs, rel=1e-12)
    link = page.locator(".explorer-download").first  # the fallback: a link to the same file
    assert link.get_attribute("download") == name

    name, text = download(page, "CSV")
    assert name == "three_layer-step10.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(row["series"], int(row["step"])) for row in rows] == [("costs", 0), ("costs", 10)]
    assert [float(row["value"]) for row in rows] == pytest.approx(shown_costs, rel=1e-12)
    screenshot("export-download")
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    page_errors.assert_none()


def test_one_press_downloads_in_jupyterlab(jupyter_lab, browser_page, page_errors):
    page = browser_page
    browserkit.lab_open_notebook(page, jupyter_lab, DASHBOARD)
    browserkit.lab_run_all(page)
    page.wait_for_selector(f".jp-OutputArea {dk.PLOT}", timeout=90_000)
    dk.wait_for_visible_plot(page)
    dk.button(page, "Step").click()
    dk.wait_until(lambda: len(dk.trace_values(page, 0) or []) == 2, 45, message="the cost curve at steps 0 and 10")
    shown_costs = dk.trace_values(page, 0)
    dk.button(page, "JSON").scroll_into_view_if_needed()
    name, text = download(page, "JSON")
    record = json.loads(text)
    assert name == "three_layer-step10.json" and record["settings"]["step"] == 10
    assert [row[0] for row in record["histories"]["costs"]["values"]] == pytest.approx(shown_costs, rel=1e-12)
    page_errors.assert_none()
