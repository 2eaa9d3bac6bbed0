"""explorer.runtime: the one test of "we are in the browser", and loading a Pyodide package on demand.

Natively there is no Pyodide: a stub module `pyodide_js` stands in for it, recording what it is asked to load."""

from __future__ import annotations

import asyncio
import sys
import types

import pytest

from explorer import runtime


def test_natively_we_are_not_in_the_browser_and_loading_does_nothing(monkeypatch):
    assert runtime.IN_BROWSER is (sys.platform == "emscripten") is False
    monkeypatch.setitem(sys.modules, "pyodide_js", None)  # an import of it would fail
    asyncio.run(runtime.load_packages(["scikit-learn"]))


def stub_pyodide(monkeypatch) -> list:
    """A stand-in for Pyodide's JavaScript module: its loadPackage records the names and awaits a little."""
    asked = []

    async def load_package(names):
        await asyncio.sleep(0)
        asked.append(list(names))

    monkeypatch.setitem(sys.modules, "pyodide_js", types.SimpleNamespace(loadPackage=load_package))
    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    monkeypatch.setattr(runtime, "_loaded", set())  # a new page
    return asked


def test_in_the_browser_the_packages_are_loaded_through_pyodide(monkeypatch):
    asked = stub_pyodide(monkeypatch)
    asyncio.run(runtime.load_packages(("scikit-learn", "scipy")))
    asyncio.run(runtime.load_packages([]))  # nothing to load: Pyodide is not asked
    assert asked == [["scikit-learn", "scipy"]]


@pytest.mark.parametrize("names", ["scikit-learn", [""], [3], None])
def test_names_must_be_a_list_of_package_names(monkeypatch, names):
    asked = stub_pyodide(monkeypatch)
    with pytest.raises(TypeError, match="list or tuple of package names"):
        asyncio.run(runtime.load_packages(names))
    assert asked == []


def test_a_package_is_loaded_once_per_page(monkeypatch):
    asked = stub_pyodide(monkeypatch)
    assert runtime.missing_packages(["scikit-learn"]) == ["scikit-learn"]
    asyncio.run(runtime.load_packages(["scikit-learn"]))
    asyncio.run(runtime.load_packages(["scikit-learn", "scipy"]))
    assert asked == [["scikit-learn"], ["scipy"]] and runtime.missing_packages(["scipy"]) == []


def test_natively_nothing_is_missing():
    assert runtime.missing_packages(["scikit-learn", "no-such-package"]) == []


def test_the_loading_message_says_what_and_how_much():
    assert runtime.loading_message(["scikit-learn"]) == "Loading scikit-learn into your browser (about 26 MB, once)"
    assert runtime.loading_message(["pandas"]) == "Loading pandas into your browser (once)"
