"""The dashboard in a Voila kernel: a pre-warmed kernel builds the first tab before its page's request and
then applies the request's query; outside Voila nothing waits; a Voila kernel starts without nbformat."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import websockets.exceptions

from explorer.apps import voila as voila_kernel
from explorer.apps.dashboard import Dashboard

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pool_kernel(monkeypatch):
    """This Python as a kernel from Voila's pool: VOILA_PREHEAT set, no QUERY_STRING until a page asks.
    The wait for the request is replaced by one that delivers `request["query"]` and notes what was built."""
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setenv("VOILA_KERNEL_ID", "test-kernel")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    request = {"query": "", "waits": 0, "built before": None, "apps before": None}
    opened = []  # (dashboard, tab index), in the order Dashboard.open was asked for them

    def wait_for_request():
        request["waits"] += 1
        request["built before"] = sorted({index for _, index in opened})
        request["apps before"] = dict(opened[-1][0].apps)
        return {"QUERY_STRING": request["query"], "SERVER_NAME": "127.0.0.1"}

    original_open = Dashboard.open
    monkeypatch.setattr(Dashboard, "open",
                        lambda self, index: opened.append((self, index)) or original_open(self, index))
    monkeypatch.setattr(voila_kernel, "wait_for_request", wait_for_request)
    return request


def test_a_pool_kernel_builds_the_first_tab_then_applies_the_link(pool_kernel):
    pool_kernel["query"] = "demo=nine-layer&init=small&bogus=1"
    board = Dashboard()
    assert pool_kernel["waits"] == 1
    assert pool_kernel["built before"] == [0]  # the first tab was built while waiting for the page
    assert board.tabs.selected_index == 1
    assert board.apps[1].init.value == "small"
    assert "&#x27;bogus&#x27; is not a setting" in board.notice.value
    assert board.current_query() == "?demo=nine-layer&init=small"
    # the first tab's demo, built for nothing, is closed: the page starts with one figure, the link's
    first_app = pool_kernel["apps before"][0]
    assert sorted(board.apps) == [1] and first_app.figure.comm is None and first_app.widget.comm is None
    assert board.apps[1].figure.comm is not None
    assert "Loading Why initialization matters" in board.tabs.children[0].value
    board.tabs.selected_index = 0  # and built anew when its tab is opened
    assert board.apps[0] is not first_app and board.apps[0].figure.comm is not None


def test_a_pool_kernel_with_a_plain_link_shows_the_first_tab(pool_kernel):
    board = Dashboard()
    assert pool_kernel["waits"] == 1
    assert board.tabs.selected_index == 0 and sorted(board.apps) == [0]
    assert board.notice.value == ""


def test_outside_a_pool_nothing_waits(monkeypatch):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    monkeypatch.setenv("QUERY_STRING", "demo=nine-layer&init=small")
    monkeypatch.setattr(voila_kernel, "wait_for_request", lambda: pytest.fail("waited outside a pool"))
    assert voila_kernel.request_query() == "demo=nine-layer&init=small"
    board = Dashboard()
    assert board.tabs.selected_index == 1 and sorted(board.apps) == [1]  # the first tab is not built
    monkeypatch.setenv("VOILA_PREHEAT", "False")  # a kernel Voila started for its page
    assert voila_kernel.request_query() == "demo=nine-layer&init=small"


def test_a_wait_that_could_not_reach_the_server_is_tried_again(monkeypatch):
    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.delenv("QUERY_STRING", raising=False)
    monkeypatch.setattr(voila_kernel.time, "sleep", lambda s: None)
    calls = []

    def wait_for_request():  # the server is not listening yet, then closes the connection, then answers
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionRefusedError
        if len(calls) == 2:
            raise websockets.exceptions.ConnectionClosedError(None, None)
        return {"QUERY_STRING": "seed=4"}

    monkeypatch.setattr(voila_kernel, "wait_for_request", wait_for_request)
    assert voila_kernel.request_query() == "seed=4" and len(calls) == 3


def test_the_request_comes_from_where_voila_sends_it(monkeypatch):
    for name, value in {"VOILA_APP_PORT": "9123", "VOILA_SERVER_URL": "/class/", "VOILA_KERNEL_ID": "abc"}.items():
        monkeypatch.setenv(name, value)
    for name in ("VOILA_WS_PROTOCOL", "VOILA_APP_IP", "VOILA_WS_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert voila_kernel.request_url() == "ws://127.0.0.1:9123/class/voila/query/abc"
    monkeypatch.setenv("VOILA_APP_IP", "10.0.0.5")
    assert voila_kernel.request_url() == "ws://10.0.0.5:9123/class/voila/query/abc"


PROBE = """
import json, sys
from explorer.apps.dashboard import Dashboard
board = Dashboard(query="")
figure = board.apps[0].figure
loaded = {m: m in sys.modules for m in ("nbformat", "jsonschema", "voila")}
import nbformat  # still importable by anything else in the kernel
print(json.dumps({"loaded": loaded, "traces": len(figure.data), "nbformat": nbformat.__name__}))
"""


@pytest.mark.parametrize("in_voila", [True, False])
def test_a_voila_kernel_starts_without_notebook_validation(in_voila):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOILA_")}
    if in_voila:
        env["VOILA_KERNEL_ID"] = "test-kernel"
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["traces"] > 0 and result["nbformat"] == "nbformat"
    # in Voila, plotly's FigureWidget comes without nbformat and jsonschema; elsewhere plotly is left as it is
    assert result["loaded"] == {"nbformat": not in_voila, "jsonschema": not in_voila, "voila": False}
