"""Helpers for browser tests: Voila / JupyterLab servers, Chromium, errors, screenshots.

The fixtures in tests/browser/conftest.py wrap these; a test normally uses only fixtures.
Import directly (``import browserkit``) when a test needs the lower-level pieces.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium")
# Flags verified on these machines; without the networking ones
# Chromium keeps trying to reach Google's hosts through a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree(pid: int) -> list[int]:
    """pid and all its descendants (Linux /proc; kernels run in their own sessions)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


@dataclass
class Server:
    """A Jupyter-family server process on 127.0.0.1 (Voila or JupyterLab)."""

    name: str
    cmd: list[str]
    port: int
    log_path: Path
    proc: subprocess.Popen | None = None
    url: str = ""

    def start(self, timeout: float = 60) -> Server:
        self.url = f"http://127.0.0.1:{self.port}/"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not listening after {timeout} s:\n{self.log()}")

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def stop(self, timeout: float = 10) -> None:
        """Stop the server and every process under it (kernels included)."""
        if self.proc is None:
            return
        pids = _tree(self.proc.pid) if sys.platform.startswith("linux") else [self.proc.pid]
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: Voila and Jupyter servers stop cleanly on it
            try:
                self.proc.wait(timeout)  # Jupyter servers shut their kernels down on exit
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        for pid in pids[1:]:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.proc = None

    # --- JupyterLab REST helpers (no token: servers here run with an empty token) ---
    def api(self, method: str, path: str) -> object:
        req = urllib.request.Request(self.url + path.lstrip("/"), method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Delete every session and kernel so the next test starts clean (a kernel reused by the next test, still
        holding the last test's FigureWidgets, made anywidget fail with "Failed to initialize model")."""
        for session in self.api("GET", "api/sessions") or []:
            self.api("DELETE", f"api/sessions/{session['id']}")
        for kernel in self.api("GET", "api/kernels") or []:
            self.api("DELETE", f"api/kernels/{kernel['id']}")


def voila_pool_options(pool: int) -> list[str]:
    """Voila's options for `pool` pre-warmed kernels (0: none, every page starts its own kernel)."""
    return [f"--VoilaConfiguration.preheat_kernel={pool > 0}", f"--VoilaConfiguration.default_pool_size={pool}"]


def voila_server(notebook: str | Path, log_dir: Path, port: int | None = None, pool: int = 0) -> Server:
    """Start `voila NOTEBOOK` bound to 127.0.0.1 on a free port; returns once it listens.

    It reads the repository's voila.json, except for the pool of pre-warmed kernels: `pool` of them (default
    none, so that a test's page starts its own kernel and no pool kernel starts beside it on a small machine)."""
    port = port or free_port()
    cmd = [
        sys.executable, "-m", "voila", str(notebook),
        "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1", *voila_pool_options(pool),
    ]  # fmt: skip
    name = f"voila-{Path(notebook).stem}"
    return Server(name, cmd, port, log_dir / f"{name}.log").start()


def lab_server(log_dir: Path, port: int | None = None) -> Server:
    """Start JupyterLab (root dir = repo root, empty token) on 127.0.0.1 on a free port.

    Autosave is off (its own user-settings folder under log_dir): a notebook left open in a
    test must never get its outputs and widget state written back into the work tree.
    """
    port = port or free_port()
    settings = log_dir / "lab-user-settings" / "@jupyterlab"
    for plugin, value in [
        ("docmanager-extension/plugin", {"autosave": False}),
        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
    ]:
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    cmd = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--ServerApp.root_dir={ROOT}",
        "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
        # test server on loopback: lets the REST helpers below DELETE kernels without a token
        "--ServerApp.disable_check_xsrf=True",
        f"--LabApp.user_settings_dir={settings.parent}",
        f"--LabApp.workspaces_dir={log_dir / 'lab-workspaces'}",
    ]  # fmt: skip
    return Server("jupyterlab", cmd, port, log_dir / "jupyterlab.log").start()


def is_local(url: str) -> bool:
    if not url or url.startswith(("data:", "blob:", "about:")):
        return True
    return urlparse(url).hostname in LOCAL_HOSTS


@dataclass
class PageErrors:
    """Page errors and console errors of one page, minus failed external requests.

    Offline, Voila and JupyterLab ask public CDNs (Font Awesome, MathJax) for files and the
    console logs those failures; they do not break the widgets, so they are ignored. A failed
    request to the local server is kept.
    """

    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    external_failures: set[str] = field(default_factory=set)

    def attach(self, page) -> PageErrors:
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        page.on("console", self._on_console)
        page.on("requestfailed", self._on_request_failed)
        return self

    def _on_request_failed(self, request) -> None:
        if not is_local(request.url):
            self.external_failures.add(request.url)

    def _on_console(self, msg) -> None:
        if msg.type != "error":
            return
        text = msg.text
        where = (msg.location or {}).get("url", "")
        if not is_local(where) or any(url in text for url in self.external_failures):
            self.ignored.append(text)
        else:
            self.console_errors.append(f"{text} ({where})" if where else text)

    @property
    def errors(self) -> list[str]:
        return [*(f"pageerror: {e}" for e in self.page_errors), *self.console_errors]

    def assert_none(self, allow: str | None = None) -> None:
        """Fail if any error was seen; `allow` is a regex of messages to tolerate."""
        errors = [e for e in self.errors if not (allow and re.search(allow, e))]
        assert not errors, "errors in the page:\n" + "\n".join(errors)


def save_screenshot(page, name: str, full_page: bool = True) -> Path:
    """Save a PNG of the page to test-artifacts/NAME.png (gitignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    path = ARTIFACTS / f"{safe}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


_LAB_IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
_PROMPTS = "[...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')].map(p => p.textContent.trim())"


def lab_open_notebook(page, lab: Server, notebook: str, timeout: float = 90_000) -> None:
    """Open NOTEBOOK (path from the repo root) in JupyterLab, fresh workspace, kernel idle."""
    page.goto(f"{lab.url}lab/tree/{notebook}?reset", timeout=timeout)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout)
    page.wait_for_selector(_LAB_IDLE, state="attached", timeout=timeout)
    # The kernel's name and "Idle" in the status bar: the kernel is really connected.
    page.wait_for_function("() => /\\|\\s*Idle/.test(document.body.innerText)", timeout=timeout)


def lab_run_all(page, timeout: float = 120_000, attempts: int = 3) -> None:
    """Run > Run All Cells in the open notebook; wait until every code cell has run and the
    kernel is idle. The menu command is retried if no cell started (it is a no-op while the
    notebook is still settling, which happened on a busy machine)."""
    started = f"() => {_PROMPTS}.some(t => t !== '[ ]:' && t !== '')"
    for attempt in range(attempts):
        page.locator(".jp-Notebook").first.click(position={"x": 5, "y": 5})
        page.click(".lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function(started, timeout=15_000)
            break
        except Exception:
            page.keyboard.press("Escape")
            if attempt == attempts - 1:
                raise
    page.wait_for_function(f"() => {_PROMPTS}.every(t => /^\\[\\d+\\]:$/.test(t))", timeout=timeout)
    page.wait_for_selector(_LAB_IDLE, state="attached", timeout=timeout)
