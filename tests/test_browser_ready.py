"""What a browser page (Pyodide, as voici runs the dashboard) needs of the package, checked natively:

- nothing that a page cannot have or would have to download is imported when a module is: scipy, scikit-learn,
  joblib and the rest come inside the functions that use them;
- every demo builds and trains with neither scipy nor scikit-learn nor joblib: a page starts with numpy and
  threadpoolctl (and the widgets and plotly) and loads nothing later; the 8x8 digits ship with the package.

The same was run in Pyodide 0.27.7 under Node.js (see explorer.runtime); the dashboard's handling of the page's
own query is in tests/test_dashboard.py."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import explorer
from explorer.apps.dashboard import DEMOS

PACKAGE = Path(explorer.__file__).parent
# Not in a page (scipy, scikit-learn, joblib: the site does not load them), or impossible there.
NOT_AT_IMPORT = {"scipy", "sklearn", "joblib", "dask", "distributed", "kaleido", "choreographer", "websockets",
                 "threading", "subprocess", "multiprocessing", "concurrent", "pyodide_js", "torch", "pandas"}
DIGITS_DEMOS = {"histograms", "digits_mlp", "zoo", "edge_of_chaos", "residual", "isometry", "mup"}


def imported_at_the_top(path: Path) -> set[str]:
    """The top-level packages a module imports when it is itself imported (not inside a function or class)."""
    names = set()
    body = list(ast.parse(path.read_text(), filename=str(path)).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):  # their bodies run at import too
            for field in ("body", "orelse", "finalbody", "handlers"):
                body += getattr(node, field, [])
        elif isinstance(node, ast.ExceptHandler):
            body += node.body
    return names


def test_no_module_imports_what_a_page_loads_late_or_cannot_have():
    found = {str(path.relative_to(PACKAGE)): imported_at_the_top(path) & NOT_AT_IMPORT
             for path in PACKAGE.rglob("*.py")}
    assert {name: sorted(bad) for name, bad in found.items() if bad} == {}
    assert "numpy" in imported_at_the_top(PACKAGE / "network.py")  # the reader sees imports


# Run in a fresh Python, as a page would: scipy, scikit-learn and joblib made unimportable before anything is
# imported, and runtime.IN_BROWSER set (many runs then go one after another in this process). Each demo is built
# as its tab is opened and trains: a live demo one snapshot interval, the edge of chaos a small trainability map
# through its own button, width transfer its coordinate check (at build) and a slice of its sweep.
WITHOUT = """
import json, sys, tempfile
from dataclasses import replace
for name in ("scipy", "sklearn", "joblib"):
    sys.modules[name] = None
import numpy as np
from explorer import mup, runtime, sweep
runtime.IN_BROWSER = True
from explorer.apps.dashboard import DEMOS, Dashboard
board = Dashboard(query="")
trained = {}
for i, (_, module, _) in enumerate(DEMOS):
    board.tabs.selected_index = i
    app = board.apps[i]
    if hasattr(app, "step"):  # a live demo: one snapshot interval of training
        before = app.trainer.step
        app.step()
        trained[module] = app.trainer.step - before
    elif module == "edge_of_chaos":  # 9 networks of 8 units, 12 steps each, on 64 digits
        app.cache_dir = tempfile.mkdtemp()
        app.base_config = sweep.TrainabilityConfig(depths=(1, 3, 6), sigma_w2=(0.5, 1.76, 4.0), width=8, steps=12,
                                                   examples=64, batch_size=32)
        app.compute_map()
        trained[module] = int(np.isfinite(app.map.cost).sum()) if app.map is not None else 0
    elif module == "mup":
        (check,) = app.checks.values()  # trained at build: how far each layer moved in its first steps
        work = mup.TransferSweep(app.config(), cache=False, chunk_steps=1)
        work.advance()
        trained[module] = work.done if np.all(check.change[:, -1] > 0) else 0
    message = getattr(getattr(app, "message", None), "value", "")
    if message:
        trained[module] = message
print(json.dumps({"errors": {DEMOS[i][1]: e for i, e in board.errors.items()}, "trained": trained,
                  "built": [DEMOS[i][1] for i, app in board.apps.items() if app is not None],
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "sklearn", "joblib")
                                   and sys.modules[m] is not None)}))
"""


def test_every_demo_builds_and_trains_without_scipy_scikit_learn_or_joblib():
    done = subprocess.run([sys.executable, "-c", WITHOUT], capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    demos = [module for _, module, _ in DEMOS]
    assert result["errors"] == {} and result["loaded"] == [] and result["built"] == demos
    # Every demo but the static variance one trains; a message instead of a count would be why one did not.
    assert sorted(result["trained"]) == sorted(set(demos) - {"variance"}), result["trained"]
    assert all(isinstance(steps, int) and steps > 0 for steps in result["trained"].values()), result["trained"]
    assert DIGITS_DEMOS <= set(result["trained"])  # the seven demos on the 8x8 digits among them
