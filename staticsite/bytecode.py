"""Runs inside Pyodide (staticsite/bytecode.mjs, at build time): import what the dashboard imports and build every
tab, then write /tmp/output, a wheel holding the bytecode of every module that came from site-packages.

Python compiles each module's source the first time it is imported, and in the browser that is most of a first
page's wait: the dashboard's imports take about 9 s with compiling and about 0.5 s from bytecode (Pyodide 0.27 in
Node.js). The wheels on the site hold sources only (the official ones must stay byte-identical to their lock),
so the bytecode ships beside them, as unchecked hash-based .pyc files in each package's __pycache__: Python
uses such a file without comparing it with the source. It is compiled here, by the browser's own CPython, so
the format always matches.
"""

import importlib.util
import os
import site
import sys
import zipfile
from importlib._bootstrap_external import _code_to_hash_pyc

NAME, VERSION = "explorer_bytecode", "1.0"

# What the pages import: the dashboard, every demo built as its tab builds it, and the kernel itself (last: it
# takes over sys.stdout and sys.stderr).
from explorer.apps.dashboard import DEMOS, Dashboard  # noqa: E402

board = Dashboard(query="")
for index in range(len(DEMOS)):
    board.open(index)
import pyodide_kernel  # noqa: E402, F401

SITE = site.getsitepackages()[0]
sources = sorted({module.__file__ for module in list(sys.modules.values())
                  if (getattr(module, "__file__", None) or "").startswith(SITE + "/")
                  and module.__file__.endswith(".py")})
dist_info = f"{NAME}-{VERSION}.dist-info"
with zipfile.ZipFile("/tmp/output", "w", zipfile.ZIP_DEFLATED) as wheel:
    for path in sources:
        with open(path, "rb") as f:
            source = f.read()
        code = compile(source, path, "exec", dont_inherit=True)
        pyc = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=False)
        wheel.writestr(os.path.relpath(importlib.util.cache_from_source(path), SITE), pyc)
    wheel.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"
                   f"Summary: bytecode of the {len(sources)} modules the dashboard's tabs import\n")
    wheel.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: explorer\nRoot-Is-Purelib: true\n"
                   "Tag: py3-none-any\n")
    wheel.writestr(f"{dist_info}/RECORD", "")
print(f"[site] bytecode of {len(sources)} modules", file=sys.__stderr__)
