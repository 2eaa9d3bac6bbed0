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
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

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


@pytest.fixture(scope="session")
def digits_run():
    """The digits network, trained once for the whole session: the digits demo's run of 64-100-100-10 (ReLU,
    softmax) from its five starts stacked (He, Xavier, 0.01·randn, zeros and the 2/sqrt(n) typo, in this order),
    on the same batches, for 12 epochs at learning rate 0.1, with a snapshot every half epoch (7 steps).

    app        the DigitsMLPApp after the run (its figure drawn)
    snapshots  the 25 snapshots, steps 0, 7, ..., 168
    data       its data set (X, y, X_test, y_test, ...)

    Read-only: a test that trains further or changes a control makes its own app.
    """
    from explorer.apps.digits_mlp import DigitsMLPApp

    app = DigitsMLPApp()
    app.use_ack_gate = False
    app.typo.value = True
    snapshots = [app.snapshot]
    for _ in range(24):
        app.pull(1)
        snapshots.append(app.snapshot)
    app.draw()
    return SimpleNamespace(app=app, snapshots=snapshots, data=app.digit_data())


ROOT = Path(__file__).resolve().parent.parent


def build_site() -> SimpleNamespace:
    """Run the real build command, `python3 tasks.py site`, with its output captured.

    path     build/site
    output   what the command printed (stdout and stderr)
    seconds  how long it took (a build that is up to date takes a second or two)
    again    build_site itself, to run the command once more
    """
    started = time.monotonic()
    done = subprocess.run([sys.executable, "tasks.py", "site"], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=1800)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"`python3 tasks.py site` failed ({done.returncode}):\n{output[-5000:]}"
    return SimpleNamespace(path=ROOT / "build" / "site", output=output, seconds=time.monotonic() - started,
                           again=build_site)


@pytest.fixture(scope="session")
def static_site() -> SimpleNamespace:
    """The static site, built once per session with `python3 tasks.py site` (reused when its inputs did not
    change; the first build takes about a minute and downloads from PyPI and npm). This also leaves the site's
    own venv (.venv-site) and its downloads (build/site-downloads) in place. See build_site for the fields."""
    return build_site()
