"""Fixtures for browser tests (put browser tests in tests/browser/ to get them).

    voila_server(notebook, pool=0) -> browserkit.Server   factory; fresh Voila per call, stopped after
    jupyter_lab             -> browserkit.Server   one JupyterLab per session; kernels shut
                                                   down after every test that uses it
    browser_page            -> playwright Page     headless Debian Chromium, fresh profile
    page_errors             -> browserkit.PageErrors   errors of browser_page (CDN noise ignored)
    screenshot(name=None)   -> Path                saves browser_page to test-artifacts/
                                                   (automatic FAILED-<test>.png on failure)

Mark browser tests with @pytest.mark.browser. If Chromium is missing they FAIL (the test
command installs it); run `python3 tasks.py test --no-browser` to leave them out.
"""

from __future__ import annotations

import os
from pathlib import Path

import browserkit
import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict]()


def _failed(request) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = browserkit.CHROMIUM
    if not os.path.exists(path):
        pytest.fail(
            f"Chromium not found at {path}. `python3 tasks.py test` installs Debian's chromium "
            "when run as root; otherwise: sudo apt-get install -y chromium "
            "(or set EXPLORER_CHROMIUM, or run `python3 tasks.py test --no-browser`).",
            pytrace=False,
        )
    return path


@pytest.fixture
def playwright_instance():
    """Per test, not per session: while sync_playwright() is active, the main thread counts
    as running an asyncio loop, and other tests' asyncio.run() fails ("cannot be called from
    a running event loop")."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def browser_page(playwright_instance, chromium_path, tmp_path, request):
    """A Playwright page in headless Chromium with a throwaway profile (1280x900).
    When the test fails, test-artifacts/FAILED-<test name>.png shows the page."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=chromium_path,
        headless=True,
        args=browserkit.CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 900},
    )
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
        if _failed(request):  # a picture of the page at the moment the test failed
            browserkit.save_screenshot(page, f"FAILED-{request.node.name}")
    finally:
        context.close()


@pytest.fixture
def page_errors(browser_page) -> browserkit.PageErrors:
    """Collects page errors and console errors of browser_page; attach before page.goto."""
    return browserkit.PageErrors().attach(browser_page)


@pytest.fixture
def screenshot(browser_page, request):
    """screenshot(name=None) saves browser_page to test-artifacts/<name or test name>.png."""

    def save(name: str | None = None, full_page: bool = True) -> Path:
        return browserkit.save_screenshot(browser_page, name or request.node.name, full_page)

    return save


@pytest.fixture
def voila_server(tmp_path):
    """voila_server("notebooks/x.ipynb", pool=0) starts Voila on 127.0.0.1:<free port>; .url is its
    page; `pool` pre-warmed kernels (voila.json's pool is replaced: none unless asked). Every server
    started is stopped (with its kernels) when the test ends."""
    servers: list[browserkit.Server] = []

    def start(notebook: str | Path, pool: int = 0) -> browserkit.Server:
        server = browserkit.voila_server(notebook, tmp_path, pool=pool)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def _lab_session(tmp_path_factory):
    server = browserkit.lab_server(tmp_path_factory.mktemp("jupyterlab"))
    yield server
    server.stop()


@pytest.fixture
def jupyter_lab(_lab_session):
    """The session's JupyterLab server (root dir = repo root); use with
    browserkit.lab_open_notebook / lab_run_all. Kernels are shut down after each test."""
    yield _lab_session
    _lab_session.shutdown_kernels()
