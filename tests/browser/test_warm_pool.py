"""Pre-warmed kernels: a page served from Voila's pool shows its first plot, a share link's settings are
applied in a kernel that ran the notebook before the request, the pool refills for the next page, and a
closing page's request to shut its kernel down is obeyed.

Voila (voila.json: `preheat_kernel`, `default_pool_size`) keeps kernels that have run the dashboard's
notebook; the dashboard there waits for its page's request to read the link (explorer.apps.voila)."""

from __future__ import annotations

import json
import re
import time

import dashkit as dk
import pytest
import test_load
from test_share_url import share_link

pytestmark = pytest.mark.browser

DASHBOARD = "notebooks/dashboard.ipynb"
LOAD_TIMEOUT = 120_000  # ms
USED = "Using pre-heated kernel"
# The request Voila's page sends on beforeunload (voila's widgets-manager: navigator.sendBeacon), as a fetch.
SHUTDOWN = """async (kernel) => {
    const match = document.cookie.match('\\b_xsrf=([^;]*)\\b');
    const form = new FormData();
    form.append('_xsrf', match && match[1] || '');
    return (await fetch('voila/api/shutdown/' + kernel, {method: 'POST', body: form})).status;
}"""


def trains(page) -> None:
    """Train: the visible figure's cost curve (trace 0 in both demos used here) grows; then Pause."""
    dk.wait_until(lambda: dk.can_train(page), 60, message="Train enabled")
    steps = len(dk.trace_values(page, 0, "x") or [])
    dk.button(page, "Train").click()
    dk.wait_until(lambda: len(dk.trace_values(page, 0, "x") or []) > steps, 60, message="the cost curve to grow")
    dk.pause(page)


def test_pages_from_the_pool(voila_server, browser_page, page_errors):
    server = voila_server(DASHBOARD, pool=1)
    waited = test_load.wait_for_pool(server, 1)
    page = browser_page
    started = time.monotonic()
    page.goto(server.url + "?demo=nine-layer&init=small&bogus=1", timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(page, LOAD_TIMEOUT)
    linked = time.monotonic() - started
    assert len(re.findall(USED, server.log(200_000))) == 1, "the page did not get the pre-warmed kernel"
    assert page.locator(".lm-TabBar-tab.lm-mod-current").inner_text().strip() == "Exploding and vanishing"
    assert dk.dropdown_text(page, "Initialization") == "too small: W = 0.5·I"
    assert "'bogus' is not a setting" in page.locator(".explorer-share-notice").inner_text()
    assert share_link(page) == "?demo=nine-layer&init=small"
    trains(page)  # the only figure of the page (the first tab's, built while waiting, was closed) follows training

    test_load.wait_for_pool(server, 2)  # the page's kernel and the one that refilled the pool
    second = page.context.new_page()
    started = time.monotonic()
    second.goto(server.url, timeout=LOAD_TIMEOUT)
    dk.wait_for_visible_plot(second, LOAD_TIMEOUT)
    plain = time.monotonic() - started
    assert len(re.findall(USED, server.log(200_000))) == 2, "the second page did not get a kernel from the pool"
    assert second.locator(".lm-TabBar-tab.lm-mod-current").inner_text().strip() == "Why initialization matters"
    assert second.locator(".explorer-share-notice").count() == 0
    trains(second)
    assert not dk.page_text_problems(page) and not dk.page_text_problems(second)
    page_errors.assert_none()

    # What a page sends as it closes (on beforeunload): its kernel's shutdown, with the page's _xsrf cookie, which
    # Voila's pages do not get; voila.json lets the request through so that the kernel goes at once.
    kernel = json.loads(second.evaluate("() => document.getElementById('jupyter-config-data').textContent"))["kernelId"]
    status = second.evaluate(SHUTDOWN, kernel)
    assert status == 204, f"the page's shutdown request was refused ({status})"
    dk.wait_until(lambda: not test_load.kernel_known(server, kernel), 30, message="the closed page's kernel to go")
    print(f"\n[pool] pool ready after {waited:.1f} s; first plot: a share link {linked:.1f} s, "
          f"a plain page from the refilled pool {plain:.1f} s")
