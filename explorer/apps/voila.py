"""What the dashboard needs from the Voila kernel it runs in: the page's query, and a lighter start.

The query. Voila hands the page's query to the kernel in the environment variable QUERY_STRING. A kernel
started for the page has it from its start. A pre-warmed kernel (voila.json: `preheat_kernel` and
`default_pool_size`) ran the notebook before anyone asked for the page, so its query arrives later: Voila's
`voila.utils.wait_for_request()` waits for the request that takes the kernel from the pool and copies the
request's variables into `os.environ`. Outside Voila (JupyterLab, tests) and in a kernel started for its
page, it returns at once.

A lighter start. Importing plotly's FigureWidget imports plotly's renderers module, which imports nbformat
for `fig.show()`; nbformat imports jsonschema, whose format checkers compile an IRI grammar: about 1.1 s of
a kernel's start and some memory, for a `fig.show()` that a Voila page cannot use anyway (it needs
JupyterLab's plotly renderer; the dashboard draws only FigureWidgets). In a Voila kernel the dashboard has
plotly load its renderers with nbformat looking absent; nbformat itself stays importable afterwards.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

RETRY = 120  # s


def in_voila() -> bool:
    """Whether this Python is a kernel that Voila started (Voila sets VOILA_KERNEL_ID in every kernel)."""
    return "VOILA_KERNEL_ID" in os.environ or "VOILA_PREHEAT" in os.environ


def prewarmed() -> bool:
    """Whether this kernel is a pre-warmed one from Voila's pool (it ran the notebook before its request)."""
    return os.environ.get("VOILA_PREHEAT", "False") != "False"


def request_query() -> str:
    """The query of the page's request ("demo=...&seed=3", without "?"; "" if none or outside Voila).

    In a pre-warmed kernel this waits until a page takes the kernel from the pool. Voila's wait returns
    without the request if it cannot reach the server (a kernel that finished its start before the server
    listened): it is tried again, for up to `RETRY` seconds."""
    if prewarmed() and "QUERY_STRING" not in os.environ:
        from voila.utils import wait_for_request

        deadline = time.monotonic() + RETRY
        while "QUERY_STRING" not in os.environ and time.monotonic() < deadline:
            with warnings.catch_warnings():  # "Failed to connect to ...": retried here, not shown in the page
                warnings.simplefilter("ignore")
                wait_for_request()
            if "QUERY_STRING" not in os.environ:
                time.sleep(1)
    return os.environ.get("QUERY_STRING", "")


def leave_out_notebook_validation() -> None:
    """In a Voila kernel, load plotly's renderers without nbformat (see the module's docstring). Does
    nothing outside Voila, or once plotly's renderers or nbformat are loaded."""
    if not in_voila() or "plotly.io._renderers" in sys.modules or "nbformat" in sys.modules:
        return
    sys.modules["nbformat"] = None  # Python's own way to make `import nbformat` fail for now
    try:
        import plotly.io

        plotly.io.renderers  # noqa: B018 (loads the renderers module, which looks for nbformat)
    finally:
        del sys.modules["nbformat"]
