"""A dashboard link with settings: Voila hands the query to the kernel, the dashboard opens the tab it names,
sets its controls, lists what it could not use, and shows the link to the current settings as they change."""

from __future__ import annotations

import re
import time

import dashkit as dk
import pytest

pytestmark = pytest.mark.browser

DASHBOARD = "notebooks/dashboard.ipynb"
LOAD_TIMEOUT = 180_000  # ms: the executed notebook on a loaded 2-core machine
QUERY = "?demo=nine-layer&init=small&learning_rate=0.05&seed=abc&bogus=1"


def share_link(page) -> str:
    return page.locator(".explorer-share-link a").first.get_attribute("href")


def test_a_link_opens_its_tab_with_its_settings(voila_server, browser_page, page_errors, screenshot):
    server = voila_server(DASHBOARD)
    page = browser_page
    started = time.monotonic()
    page.goto(server.url + QUERY, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    print(f"\n[share] page load with a query to first plot: {time.monotonic() - started:.1f} s")

    current = page.locator(".lm-TabBar-tab.lm-mod-current").inner_text().strip()
    assert current == "Exploding and vanishing"
    assert dk.dropdown_text(page, "Initialization") == "too small: W = 0.5·I"
    assert float(dk.text_input(page, "Learning rate")) == 0.05

    notice = page.locator(".explorer-share-notice").inner_text()
    assert "seed='abc' must be a whole number" in notice and "'bogus' is not a setting" in notice
    assert share_link(page) == "?demo=nine-layer&init=small&learning_rate=0.05"

    dk.select(page, "Initialization", "appropriate: Xavier normal")  # the link follows the controls
    dk.wait_until(lambda: "init=xavier" in (share_link(page) or ""), 45, message="the link to show init=xavier")
    assert re.fullmatch(r"\?demo=nine-layer&init=xavier&learning_rate=0\.05", share_link(page))
    screenshot("share-url")
    assert not dk.page_text_problems(page), dk.page_text_problems(page)
    page_errors.assert_none()
