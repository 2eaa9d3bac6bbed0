"""Nothing a page sends runs code in its kernel beyond the widgets' own values; the page shows no source.

A Voila page talks to its kernel over a websocket (/api/kernels/<id>/channels). Whoever holds the page can
send anything on it, so the check is made as an attacker would: a websocket client sends an
`execute_request` whose code would create a file, in both of Jupyter's websocket protocols (JSON and
"v1.kernel.websocket.jupyter.org"), then a `kernel_info_request`. The reply to the second proves the channel
carried the messages; the missing file proves the first never ran. Voila 0.5 builds its kernel manager with
`allowed_message_types` = comm_open, comm_close, comm_msg, comm_info_request, kernel_info_request,
shutdown_request (voila/app.py), and jupyter_server's websocket connection drops every other type
("Received message of type "execute_request", which is not allowed. Ignoring."). The same probe against a
plain Jupyter server, which allows everything, does create the file: the probe itself works.

The servers here run with the repository's voila.json as `python3 tasks.py dashboard` does (same working
directory, no overrides), so they also show that file's settings are the ones Voila uses.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import browserkit
import pytest
import websocket  # websocket-client, a dependency of jupyter_server
from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

ROOT = browserkit.ROOT
DASHBOARD = "notebooks/dashboard.ipynb"
V1 = "v1.kernel.websocket.jupyter.org"
EVALUATORS = {"eval", "exec", "compile", "__import__"}  # by name, however they are reached
MODULE_CALLS = {"os": {"system", "popen", "execv", "execvp"}, "pickle": {"load", "loads"}, "marshal": {"loads"},
                "subprocess": {"run", "call", "check_call", "check_output", "Popen"}}


# -- the package's source: no evaluation of text ------------------------------------------------


def dangerous_calls(source: str) -> list[str]:
    """Calls in `source` that could turn text into code or commands: eval, exec, compile and __import__
    (by name or from builtins; re.compile is fine), os.system and os.popen, pickle and marshal loads,
    subprocess."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id in EVALUATORS:
            found.append(f"line {node.lineno}: {func.id}(...)")
        elif isinstance(func, ast.Attribute):
            module = func.value.id if isinstance(func.value, ast.Name) else None
            if (module == "builtins" and func.attr in EVALUATORS) or func.attr in MODULE_CALLS.get(module, ()):
                found.append(f"line {node.lineno}: {module}.{func.attr}(...)")
    return found


def test_the_scan_finds_what_it_looks_for():
    source = ("import builtins, json, os, pickle\nx = eval(text)\nexec(code)\nos.system(cmd)\npickle.loads(blob)\n"
              "builtins.eval(text)\ny = evaluate(1)\njson.loads(text)\nre.compile(pattern)\n")
    assert dangerous_calls(source) == ["line 2: eval(...)", "line 3: exec(...)", "line 4: os.system(...)",
                                       "line 5: pickle.loads(...)", "line 6: builtins.eval(...)"]


def test_the_package_evaluates_no_text():
    files = sorted((ROOT / "explorer").rglob("*.py"))
    assert len(files) >= 10
    found = {str(f.relative_to(ROOT)): calls for f in files if (calls := dangerous_calls(f.read_text()))}
    assert not found, f"calls that could run text as code: {found}"


# -- servers ------------------------------------------------------------------------------------


def start_voila(log_dir: Path, *options: str) -> browserkit.Server:
    """`voila notebooks/dashboard.ipynb` as the dashboard command runs it (repo root, voila.json), on a free
    loopback port, plus `options`."""
    port = browserkit.free_port()
    cmd = [sys.executable, "-m", "voila", DASHBOARD, "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           *options]
    return browserkit.Server("voila-security", cmd, port, log_dir / f"voila-security-{port}.log").start()


def get(url: str, timeout: float = 180) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def kernel_id(page_html: str) -> str:
    match = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page_html)
    assert match, "no kernelId in the page"
    return match.group(1)


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """One Voila server with the production settings and one rendered page: (server, page HTML)."""
    server = start_voila(tmp_path_factory.mktemp("voila-security"))
    try:
        status, page = get(server.url)
        assert status == 200
        yield server, page
    finally:
        server.stop()


# -- the websocket probe --------------------------------------------------------------------------


def message(msg_type: str, content: dict) -> dict:
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "probe", "session": uuid.uuid4().hex,
              "date": "", "version": "5.3"}
    return {"header": header, "parent_header": {}, "metadata": {}, "content": content}


def execute(code: str) -> dict:
    return message("execute_request", {"code": code, "silent": False, "store_history": False,
                                       "user_expressions": {}, "allow_stdin": False, "stop_on_error": True})


def send(ws: websocket.WebSocket, msg: dict, protocol: str) -> None:
    if protocol == V1:
        ws.send_binary(serialize_msg_to_ws_v1(msg, "shell", pack=lambda part: json.dumps(part).encode()))
    else:
        ws.send(json.dumps({**msg, "channel": "shell", "buffers": []}))


def reply_type(ws: websocket.WebSocket, protocol: str) -> str:
    """The msg_type of the next message on the websocket (shell replies and iopub alike)."""
    raw = ws.recv()
    if protocol == V1:  # offsets, then channel, header, ...: the header is the second part
        count = int.from_bytes(raw[:8], "little")
        offsets = [int.from_bytes(raw[8 * (i + 1): 8 * (i + 2)], "little") for i in range(count)]
        return json.loads(raw[offsets[1]:offsets[2]])["msg_type"]
    return json.loads(raw)["header"]["msg_type"]


def probe(base_url: str, kernel: str, marker: Path, protocol: str, wait_for_file: float = 0.0) -> list[str]:
    """Send an execute_request that would create `marker`, then a kernel_info_request; return the types of
    the messages received until the kernel_info_reply (which must come: the channel works). With
    `wait_for_file`, also wait that long for the file to appear."""
    url = base_url.replace("http://", "ws://") + f"api/kernels/{kernel}/channels?session_id={uuid.uuid4().hex}"
    ws = websocket.create_connection(url, timeout=30, subprotocols=[protocol] if protocol == V1 else None)
    seen = []
    try:
        send(ws, execute(f"open({str(marker)!r}, 'w').write('ran')"), protocol)
        send(ws, message("kernel_info_request", {}), protocol)
        while "kernel_info_reply" not in seen:
            seen.append(reply_type(ws, protocol))
    finally:
        ws.close()
    deadline = time.monotonic() + wait_for_file
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return seen


# -- the tests against Voila --------------------------------------------------------------------

servers = pytest.mark.browser  # servers and kernels: left out by `tasks.py test --no-browser`


@servers
@pytest.mark.parametrize("protocol", ["json", V1])
def test_a_page_cannot_execute_code_in_its_kernel(voila, tmp_path, protocol):
    server, page = voila
    marker = tmp_path / f"ran-{uuid.uuid4().hex}"
    seen = probe(server.url, kernel_id(page), marker, protocol)
    time.sleep(1.0)  # had it been forwarded, the shell would have run it before the kernel_info_request
    assert "execute_reply" not in seen and "execute_input" not in seen, seen
    assert not marker.exists(), "the page ran code in its kernel"
    assert 'Received message of type "execute_request", which is not allowed' in server.log(20_000)


@servers
def test_the_same_probe_runs_code_on_a_plain_jupyter_server(tmp_path):
    """The control: a Jupyter server without Voila's message filter runs the probe's code."""
    port = browserkit.free_port()
    cmd = [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--IdentityProvider.token=",
           "--ServerApp.password=", "--ServerApp.ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
           "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={tmp_path}"]
    server = browserkit.Server("jupyter-server", cmd, port, tmp_path / "jupyter-server.log").start()
    try:
        kernel = server.api("POST", "api/kernels")["id"]
        marker = tmp_path / "ran"
        seen = probe(server.url, kernel, marker, V1, wait_for_file=30)
        assert marker.exists() and marker.read_text() == "ran", seen
    finally:
        server.stop()


@servers
def test_voila_uses_the_repository_settings(voila):
    settings = json.loads((ROOT / "voila.json").read_text())
    km = settings["MappingKernelManager"]
    assert km["cull_idle_timeout"] > 0 and km["cull_connected"] is False
    assert settings["VoilaConfiguration"]["strip_sources"] is True
    server, _ = voila
    expected = (f"Culling kernels with idle durations > {km['cull_idle_timeout']} seconds at "
                f"{km['cull_interval']} second intervals")
    assert expected in server.log(20_000)


def code_lines(notebook: Path) -> list[str]:
    """Every non-empty line of every code cell of `notebook`."""
    cells = json.loads(notebook.read_text())["cells"]
    return [line.strip() for cell in cells if cell["cell_type"] == "code"
            for line in "".join(cell["source"]).splitlines() if line.strip()]


@servers
def test_the_page_shows_no_source_code(voila):
    _, page = voila
    lines = code_lines(ROOT / DASHBOARD)
    assert lines, "the dashboard notebook has no code to look for"
    text = re.sub(r"<[^>]+>", "", page)  # sources, when shown, are split into highlighting spans
    shown = [line for line in lines if line in text]
    assert not shown, f"code cell source in the page: {shown}"


@servers
def test_sources_show_only_when_asked(tmp_path):
    """Asked for (--strip_sources=False), a notebook's code is in the page, and the check above finds it
    (a one-cell notebook: quicker to render than the dashboard)."""
    notebook = tmp_path / "one_cell.ipynb"
    code = "answer = 6 * 7  # a line of code to look for"
    notebook.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": "c", "metadata": {}, "outputs": [],
                   "source": [code]}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}))
    port = browserkit.free_port()
    cmd = [sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
           "--strip_sources=False"]
    server = browserkit.Server("voila-sources", cmd, port, tmp_path / "voila-sources.log").start()
    try:
        status, page = get(server.url)
        assert status == 200
        assert code in re.sub(r"<[^>]+>", "", page)
    finally:
        server.stop()


@servers
@pytest.mark.parametrize("path", [DASHBOARD, "explorer/training.py", "tasks.py", "voila.json"])
def test_notebooks_and_code_are_not_served_as_files(voila, path):
    server, _ = voila
    status, body = get(server.url + "voila/files/" + path, timeout=30)
    assert status in (403, 404), f"{path} served ({status})"
