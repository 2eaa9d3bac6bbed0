"""Session-wide test setup shared by every test under tests/.

Jupyter, IPython and JupyterLab write settings, runtime files and workspaces under $HOME
(~/.jupyter, ~/.local/share/jupyter, ~/.ipython). The whole test session, and every kernel,
Voila and JupyterLab server it starts, gets its own temporary folders instead, so tests
neither read a developer's settings nor leave anything behind.

This runs at import time: pytest loads this file before collecting anything (tests/ is in
testpaths), so the notebooks that nbval runs in the same session see the same folders.
"""

import atexit
import os
import shutil
import tempfile

_JUPYTER_TMP = tempfile.mkdtemp(prefix="explorer-test-jupyter-")
for _var, _sub in [
    ("JUPYTER_CONFIG_DIR", "config"),
    ("JUPYTER_DATA_DIR", "data"),
    ("JUPYTER_RUNTIME_DIR", "runtime"),
    ("IPYTHONDIR", "ipython"),
]:
    os.environ[_var] = os.path.join(_JUPYTER_TMP, _sub)
    os.makedirs(os.environ[_var], exist_ok=True)
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
atexit.register(shutil.rmtree, _JUPYTER_TMP, ignore_errors=True)
