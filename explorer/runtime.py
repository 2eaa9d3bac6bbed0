"""Where this Python runs: natively (Voila, JupyterLab, a script) or in a web page (Pyodide, as in voici and
JupyterLite: CPython compiled to WebAssembly, in the page's Web Worker).

    from explorer import runtime
    if runtime.IN_BROWSER: ...                         # the one test of "we are in the browser"
    await runtime.load_packages(["scikit-learn"])      # fetch a package into the page's Python, once

What differs in the browser: no threads and no subprocesses (so no process pools, no Dask, no kaleido), files
in the worker's memory only (gone when the page closes), and every package is downloaded by the page. The page
starts with numpy: scikit-learn (the 8x8 digits) and the scipy it needs are loaded only by a demo that uses
them, when its tab is first opened (each demo class names them in BROWSER_PACKAGES).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

#: True in a browser page (Pyodide reports the platform "emscripten"); False natively.
IN_BROWSER: bool = sys.platform == "emscripten"

#: What a page downloads for a package with the dependencies it does not have yet (Pyodide 0.27.7's files).
DOWNLOAD_MB = {"scikit-learn": 26, "scipy": 20}

_loaded: set[str] = set()  # the packages load_packages has loaded in this page


def _check_names(names: Sequence[str]) -> list[str]:
    if isinstance(names, str) or not isinstance(names, (list, tuple)) \
            or not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"names={names!r} must be a list or tuple of package names, e.g. ['scikit-learn']")
    return list(names)


def missing_packages(names: Sequence[str]) -> list[str]:
    """Those of these packages that load_packages would still have to load here: none natively (pip installed
    them with the project); in the browser, those not loaded yet by load_packages."""
    names = _check_names(names)
    return [name for name in names if name not in _loaded] if IN_BROWSER else []


def loading_message(names: Sequence[str]) -> str:
    """What a page says while it loads these packages, e.g. "Loading scikit-learn into your browser (about
    26 MB, once)"."""
    names = _check_names(names)
    size = sum(DOWNLOAD_MB.get(name, 0) for name in names)
    return f"Loading {', '.join(names)} into your browser" + (f" (about {size} MB, once)" if size else " (once)")


def workers(n_jobs: int, client: Any = None) -> tuple[int, Any, str]:
    """(n_jobs, client, note) for spreading independent jobs here: natively as given; in a browser page, which can
    start no worker process and has no network socket for a Dask scheduler, (1, None) and a note saying that the
    jobs run one after another in the page ("" when nothing else was asked for). The numbers are the same."""
    if not IN_BROWSER or (n_jobs == 1 and client is None):
        return n_jobs, client, ""
    asked = "a Dask client" if client is not None else f"n_jobs={n_jobs}"
    return 1, None, (f"In the browser the jobs run one after another in this page ({asked} was asked for: a browser "
                     "page can start no worker processes and reach no Dask cluster); the numbers are the same.")


async def load_packages(names: Sequence[str]) -> None:
    """Load these Pyodide packages (e.g. ["scikit-learn"]) into the browser's Python, with their dependencies;
    a package already loaded costs nothing. Natively this does nothing: pip installed them with the project."""
    names = missing_packages(names)
    if not names:
        return
    import pyodide_js  # Pyodide's own JavaScript module, importable only in Pyodide

    await pyodide_js.loadPackage(names)
    _loaded.update(names)
