"""explorer.runtime: the one test of "we are in the browser", and how a page spreads independent jobs.

Natively there is no Pyodide: IN_BROWSER is set by hand to pretend to be a page."""

from __future__ import annotations

import sys

from explorer import runtime


def test_natively_we_are_not_in_the_browser():
    assert runtime.IN_BROWSER is (sys.platform == "emscripten") is False
    assert runtime.workers(4) == (4, None, "")  # natively the jobs spread as asked


def test_in_the_browser_the_jobs_run_in_the_page_with_a_note(monkeypatch):
    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    assert runtime.workers(1) == (1, None, "")  # nothing else was asked for: nothing to say
    n_jobs, client, note = runtime.workers(-1, object())
    assert (n_jobs, client) == (1, None)
    assert "a Dask client was asked for" in note and "one after another in this page" in note
    assert "n_jobs=3 was asked for" in runtime.workers(3)[2]

