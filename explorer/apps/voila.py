"""What the dashboard needs from the Voila kernel it runs in: the page's query, and a lighter start.

The query. Voila hands the page's query to the kernel in the environment variable QUERY_STRING. A kernel
started for the page has it from its start. A pre-warmed kernel (voila.json: `preheat_kernel` and
`default_pool_size`) ran the notebook before anyone asked for the page, so its query arrives later: the
kernel opens a websocket to the server, ws://127.0.0.1:VOILA_APP_PORT VOILA_SERVER_URL voila/query/KERNEL_ID,
and Voila sends the request's variables there as one JSON message once a page takes the kernel from the pool.
This is what Voila's own `voila.utils.wait_for_request()` does; it is written out here because importing
`voila.utils` loads Voila's server side (jupyter_server, nbconvert, nbformat): 2.4 s and about 55 MB in every
kernel. Outside Voila (JupyterLab, tests) and in a kernel started for its page, nothing waits.

A lighter start. Importing plotly's FigureWidget imports plotly's renderers module, which imports nbformat
for `fig.show()`; nbformat imports jsonschema, whose format checkers compile an IRI grammar: about 1.1 s of
a kernel's start and 20 MB, for a `fig.show()` that a Voila page cannot use anyway (it needs
JupyterLab's plotly renderer; the dashboard draws only FigureWidgets). In a Voila kernel the dashboard has
plotly load its renderers with nbformat looking absent; nbformat itself stays importable afterwards.
"""

from __future__ import annotations

import json
import os
import sys
import time

RETRY = 120  # s


def in_voila() -> bool:
    """Whether this Python is a kernel that Voila started (Voila sets VOILA_KERNEL_ID in every kernel)."""
    return "VOILA_KERNEL_ID" in os.environ or "VOILA_PREHEAT" in os.environ


def prewarmed() -> bool:
    """Whether this kernel is a pre-warmed one from Voila's pool (it ran the notebook before its request)."""
    return os.environ.get("VOILA_PREHEAT", "False") != "False"


def request_query() -> str:
    """The query of the page's request ("demo=...&seed=3", without "?"; "" if none or outside Voila).

    In a pre-warmed kernel this waits until a page takes the kernel from the pool. If the server cannot be
    reached (a kernel that finished the notebook before the server listened), it is tried again, for up to
    `RETRY` seconds."""
    deadline = time.monotonic() + RETRY
    while prewarmed() and "QUERY_STRING" not in os.environ and time.monotonic() < deadline:
        try:
            os.environ.update(wait_for_request())
        except Exception:  # refused, no answer in time, or the server went away: the page must not break
            time.sleep(1)
    return os.environ.get("QUERY_STRING", "")


def request_url() -> str:
    """Where Voila sends this pre-warmed kernel its request (the address voila.utils.wait_for_request uses)."""
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    ip = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    port = os.environ.get("VOILA_APP_PORT", "8866")
    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    return f"{protocol}://{ip}:{port}{base}voila/query/{os.environ.get('VOILA_KERNEL_ID', '')}"


def wait_for_request() -> dict[str, str]:
    """Wait for the request that takes this kernel from Voila's pool; return its variables (QUERY_STRING,
    SERVER_NAME, ...)."""
    from websockets.sync.client import connect

    with connect(request_url(), open_timeout=5) as websocket:
        return {str(key): str(value) for key, value in json.loads(websocket.recv()).items()}


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
