"""Where this Python runs: natively (Voila, JupyterLab, a script) or in a web page (Pyodide, as in voici and
JupyterLite: CPython compiled to WebAssembly, in the page's Web Worker).

    from explorer import runtime
    if runtime.IN_BROWSER: ...                       # the one test of "we are in the browser"
    await runtime.load_packages(["scikit-learn"])    # fetch a package into the page's Python, once

What differs in the browser: no threads, no subprocesses (so no process pools and no kaleido), files in the
worker's memory only, and every package is downloaded by the page. The page starts with numpy alone; scipy and
scikit-learn (about 20 MB together) are loaded only by the demo that needs them, when its tab is opened.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

#: True in a browser page (Pyodide reports the platform "emscripten"); False natively.
IN_BROWSER: bool = sys.platform == "emscripten"


async def load_packages(names: Sequence[str]) -> None:
    """Load these Pyodide packages (e.g. ["scikit-learn"]) into the browser's Python, with their dependencies;
    a package already loaded costs nothing. Natively this does nothing: pip installed them with the project."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)) \
            or not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"names={names!r} must be a list or tuple of package names, e.g. ['scikit-learn']")
    if not IN_BROWSER or not names:
        return
    import pyodide_js  # Pyodide's own JavaScript module, importable only in Pyodide

    await pyodide_js.loadPackage(list(names))
