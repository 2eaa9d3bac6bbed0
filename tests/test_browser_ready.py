"""What a browser page (Pyodide, as voici runs the dashboard) needs of the package, checked natively:

- nothing that a page cannot have or would have to download is imported when a module is: scipy, scikit-learn,
  joblib and the rest come inside the functions that use them;
- the demos that do not name BROWSER_PACKAGES build and train with neither scipy nor scikit-learn nor joblib
  (a page loads only numpy and threadpoolctl before the first tab); those that need scikit-learn name it.

The same was run in Pyodide 0.27.7 under Node.js (see explorer.runtime); the dashboard's handling of
BROWSER_PACKAGES and of the page's own query is in tests/test_dashboard.py."""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
from pathlib import Path

import explorer
from explorer.apps.dashboard import DEMOS

PACKAGE = Path(explorer.__file__).parent
# Not for a page's first load (scipy, scikit-learn, joblib: downloaded on demand), or never in a page at all.
NOT_AT_IMPORT = {"scipy", "sklearn", "joblib", "dask", "distributed", "kaleido", "choreographer", "websockets",
                 "threading", "subprocess", "multiprocessing", "concurrent", "pyodide_js", "torch", "pandas"}
NEEDS_SCIKIT_LEARN = {"histograms", "digits_mlp", "zoo", "edge_of_chaos", "residual", "isometry", "mup"}


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


def test_the_demos_that_need_scikit_learn_say_so():
    for _, module, name in DEMOS:
        demo = getattr(importlib.import_module(f"explorer.apps.{module}"), name)
        assert tuple(getattr(demo, "BROWSER_PACKAGES", ())) == (("scikit-learn",) if module in NEEDS_SCIKIT_LEARN
                                                               else ()), module


# Run in a fresh Python: scipy, scikit-learn and joblib made unimportable before anything is imported.
WITHOUT = """
import json, sys
for name in ("scipy", "sklearn", "joblib"):
    sys.modules[name] = None
from explorer.apps.dashboard import DEMOS, Dashboard
wanted = [i for i, (_, module, _) in enumerate(DEMOS) if module not in %r]
board = Dashboard(query="")
trained = {}
for i in wanted:
    board.tabs.selected_index = i
    app = board.apps[i]
    if hasattr(app, "step"):  # a live demo: one snapshot interval of training
        before = app.trainer.step
        app.step()
        trained[DEMOS[i][1]] = app.trainer.step - before
    message = getattr(getattr(app, "message", None), "value", "")
    if message:
        trained[DEMOS[i][1]] = message
print(json.dumps({"errors": {DEMOS[i][1]: e for i, e in board.errors.items()}, "trained": trained,
                  "loaded": sorted(m for m in sys.modules if m.split(".")[0] in ("scipy", "sklearn", "joblib")
                                   and sys.modules[m] is not None)}))
"""


def test_the_other_demos_build_and_train_without_scipy_scikit_learn_or_joblib():
    done = subprocess.run([sys.executable, "-c", WITHOUT % (NEEDS_SCIKIT_LEARN,)], capture_output=True, text=True,
                          timeout=300, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["errors"] == {} and result["loaded"] == []
    assert result["trained"] and all(isinstance(steps, int) and steps > 0 for steps in result["trained"].values()), \
        result["trained"]
    assert {"three_layer", "nine_layer"} <= set(result["trained"])
