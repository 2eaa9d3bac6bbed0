"""Where this Python runs: natively (Voila, JupyterLab, a script) or in a web page (Pyodide, as in voici and
JupyterLite: CPython compiled to WebAssembly, in the page's Web Worker).

    from explorer import runtime
    if runtime.IN_BROWSER: ...                         # the one test of "we are in the browser"

What differs in the browser: no threads and no subprocesses (so no process pools, no Dask, no kaleido), files
in the worker's memory only (gone when the page closes), and every package is downloaded by the page. The page
starts with numpy, threadpoolctl, ipywidgets and plotly, and loads nothing later: every demo builds and trains
with them, the 8x8 digits ship with the package (explorer/data), scipy's BLAS axpy gives way to numpy's path
(explorer.training), and many runs go one after another in the page instead of through joblib (workers below).
"""

from __future__ import annotations

import sys
from typing import Any

#: True in a browser page (Pyodide reports the platform "emscripten"); False natively.
IN_BROWSER: bool = sys.platform == "emscripten"


def workers(n_jobs: int, client: Any = None) -> tuple[int, Any, str]:
    """(n_jobs, client, note) for spreading independent jobs here: natively as given; in a browser page, which can
    start no worker process and has no network socket for a Dask scheduler, (1, None) and a note saying that the
    jobs run one after another in the page ("" when nothing else was asked for). The numbers are the same."""
    if not IN_BROWSER or (n_jobs == 1 and client is None):
        return n_jobs, client, ""
    asked = "a Dask client" if client is not None else f"n_jobs={n_jobs}"
    return 1, None, (f"In the browser the jobs run one after another in this page ({asked} was asked for: a browser "
                     "page can start no worker processes and reach no Dask cluster); the numbers are the same.")

