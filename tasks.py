#!/usr/bin/env python3
"""Set up and run the explorer with nothing but Python 3.10+ (no make, no activated venv).

    python3 tasks.py dashboard [--port 8866] [--pool 2] [extra voila options]
    python3 tasks.py test [--no-browser] [extra pytest options]
    python3 tasks.py setup [--test]
    python3 tasks.py lock
    python3 tasks.py site [--serve] [--port 8000] [--pyodide PATH]

Every command first makes sure `.venv/` (created with the venv module) holds the project
installed in editable mode, its dependencies at the exact versions of the lock
(requirements/dashboard.txt, or requirements/test.txt with the test tools). It reinstalls only
when pyproject.toml or the lock changed since the last install (a stamp file inside .venv records
their hashes), so a second run starts at once. `lock` resolves pyproject.toml's dependencies
afresh with pip and rewrites the lock.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".explorer-install.json"
DASHBOARD = "notebooks/dashboard.ipynb"
# The lock: exact versions of every package, for one platform (the one CI and Binder run). Each use is resolved
# from the project with pip: (what pip installs, the lock whose versions it must keep).
REQUIREMENTS = ROOT / "requirements"
LOCKS = {"dashboard": (".", None), "test": (".[test]", "dashboard")}
LOCK_PLATFORM, LOCK_PYTHON = "linux", (3, 11)
CHROMIUM = os.environ.get("EXPLORER_CHROMIUM", "/usr/bin/chromium")

# nbval mode per notebook. Notebooks are committed WITHOUT outputs (FigureWidget state is
# megabytes), and strict nbval compares only stored outputs, so strict would check nothing:
# every notebook under notebooks/ runs with --nbval-lax (execute all cells, fail on any
# exception) unless listed here. List a notebook here only if it is committed WITH outputs
# that must match. Inside a lax notebook a single cell can still opt in to comparison with
# the cell tag `nbval-check-output`; cells writing to an Output widget, in a strict notebook,
# need `nbval-ignore-output`.
NBVAL_STRICT: set[str] = set()


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def venv_bin(name: str) -> Path:
    sub = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / sub / f"{name}{suffix}"


def run(cmd: list[str | os.PathLike], **kw) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def check(cmd: list[str | os.PathLike], **kw) -> None:
    code = run(cmd, **kw)
    if code:
        sys.exit(f"[tasks] failed ({code}): {' '.join(str(c) for c in cmd)}")


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lock_fits() -> bool:
    """The lock was resolved for CPython 3.11 on Linux; elsewhere some of its versions may not install."""
    return sys.platform == LOCK_PLATFORM and sys.version_info[:2] == LOCK_PYTHON


def venv_works() -> bool:
    py = venv_bin("python")
    return py.exists() and run([py, "-c", "import sys"], stderr=subprocess.DEVNULL) == 0


def ensure_env(test: bool) -> None:
    """Create .venv and pip-install the project unless the stamp says it is current."""
    if not venv_works():
        if VENV.exists():
            say(".venv is broken; recreating it")
            shutil.rmtree(VENV)
        say("creating .venv")
        try:
            import venv

            venv.EnvBuilder(with_pip=True).create(VENV)
        except Exception as exc:  # e.g. Debian without python3-venv (no ensurepip)
            shutil.rmtree(VENV, ignore_errors=True)
            sys.exit(
                f"[tasks] could not create .venv ({exc}).\n"
                "On Debian/Ubuntu install the venv module first: apt-get install python3-venv"
            )
    stamp = {}
    if STAMP.exists():
        try:
            stamp = json.loads(STAMP.read_text())
        except ValueError:
            stamp = {}
    # What the install is made of: pyproject.toml, and each lock installed ("ranges" where the lock does not fit).
    # An install with the test lock serves the dashboard too (the test lock holds every dashboard pin).
    uses = ["dashboard", "test"] if test else ["dashboard"]
    want = {"pyproject": file_hash(ROOT / "pyproject.toml")}
    for use in uses:
        want[use] = file_hash(REQUIREMENTS / f"{use}.txt") if lock_fits() else "ranges"
    if all(stamp.get(key) == value for key, value in want.items()):
        return
    lock = REQUIREMENTS / f"{uses[-1]}.txt"
    pip = [venv_bin("python"), "-m", "pip", "install", "-q"]
    t0 = time.monotonic()
    if lock_fits():
        say(f"installing {lock.relative_to(ROOT)} and the project into .venv; first time takes ~2 min")
        check([*pip, "-r", lock])
        check([*pip, "--no-deps", "-e", "."])
    else:
        target = ".[test]" if test else "."
        say(f"the lock (requirements/) is for CPython {'.'.join(map(str, LOCK_PYTHON))} on Linux, not Python "
            f"{sys.version.split()[0]} on {sys.platform}: installing from pyproject.toml's ranges instead")
        check([*pip, "-e", target])
    STAMP.write_text(json.dumps(want))
    say(f"installed in {time.monotonic() - t0:.0f} s")


def lock_name(name: str) -> str:
    """A package's name as the lock spells it (PEP 503: lower case, runs of -_. as one -)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def cmd_lock(args: argparse.Namespace, extra: list[str]) -> int:
    """Resolve the project's dependencies afresh with pip and write requirements/<use>.txt.

    pip resolves in a throwaway venv (`pip install --dry-run --ignore-installed --report`: nothing is installed,
    only the versions it would install are written out), so neither .venv nor the system's packages steer it.
    The test lock is resolved under the dashboard lock as constraints, so the two agree on every shared package.
    """
    if not lock_fits():
        sys.exit(f"[tasks] the lock is for CPython {'.'.join(map(str, LOCK_PYTHON))} on Linux (CI and Binder): "
                 f"refresh it there, not with Python {sys.version.split()[0]} on {sys.platform}")
    import venv

    REQUIREMENTS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="explorer-lock-") as tmp:
        venv.EnvBuilder(with_pip=True).create(tmp)
        python = Path(tmp) / "bin" / "python"
        for use, (target, keep) in LOCKS.items():
            report = Path(tmp) / f"{use}.json"
            cmd = [python, "-m", "pip", "install", "-q", "--dry-run", "--ignore-installed", "--report", report, target]
            if keep:
                cmd += ["-c", REQUIREMENTS / f"{keep}.txt"]
            say(f"resolving {target} ({use})")
            check(cmd)
            pins = sorted(
                (lock_name(item["metadata"]["name"]), item["metadata"]["version"])
                for item in json.loads(report.read_text())["install"]
                if lock_name(item["metadata"]["name"]) != "explorer"
            )
            header = [
                f"# The {use} lock: the exact version of every package that `pip install -e '{target}'` needs,",
                "# resolved for CPython 3.11 on Linux (what CI and Binder run). Generated: do not edit;",
                "# change pyproject.toml, then run `python3 tasks.py lock` (tests/test_lock.py checks they agree).",
            ]
            if keep:
                header.append(f"# Resolved with requirements/{keep}.txt as constraints: it holds each of its pins.")
            lines = header + [f"{name}=={version}" for name, version in pins]
            (REQUIREMENTS / f"{use}.txt").write_text("\n".join(lines) + "\n")
            say(f"requirements/{use}.txt: {len(pins)} packages")
    return 0


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(venv_bin("python").parent) + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = str(VENV)
    env.pop("PYTHONHOME", None)
    return env


def ensure_debian_package(command: str, packages: list[str], why: str) -> None:
    """Install Debian's `packages` with apt-get if `command` is missing and we may (root, apt-get present)."""
    if shutil.which(command):
        return
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    if is_root and shutil.which("apt-get"):
        say(f"installing Debian's {' '.join(packages)} {why} (apt-get, ~1 min)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *packages]):
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode:
                print(out.stdout[-3000:], out.stderr[-3000:], sep="\n", file=sys.stderr)
                sys.exit(f"[tasks] failed ({out.returncode}): {' '.join(cmd)}")


def ensure_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    if CHROMIUM == "/usr/bin/chromium":  # Debian's: installed when we may (root with apt-get)
        ensure_debian_package("chromium", ["chromium"], "for the browser tests")
        if Path(CHROMIUM).exists():
            return
    sys.exit(
        f"[tasks] the browser tests need Chromium at {CHROMIUM}, which is missing.\n"
        "  Install it (Debian/Ubuntu):  sudo apt-get update && sudo apt-get install -y chromium\n"
        "  or point EXPLORER_CHROMIUM at a Chromium/Chrome binary,\n"
        "  or skip the browser tests:   python3 tasks.py test --no-browser"
    )


def notebooks() -> list[str]:
    found = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "notebooks").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts
    )
    unknown = NBVAL_STRICT - set(found)
    if unknown:
        sys.exit(f"[tasks] NBVAL_STRICT lists missing notebooks: {sorted(unknown)}")
    return found


def jupyter_dirs_env(env: dict[str, str]) -> str:
    """Point every Jupyter/IPython folder at a fresh temp dir (they default to $HOME)."""
    tmp = tempfile.mkdtemp(prefix="explorer-jupyter-")
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("IPYTHONDIR", "ipython"),
    ]:
        env[var] = os.path.join(tmp, sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return tmp


def cmd_test(args: argparse.Namespace, extra: list[str]) -> int:
    t0 = time.monotonic()
    ensure_env(test=True)
    if not args.no_browser:
        ensure_chromium()
    env = child_env()
    tmp = jupyter_dirs_env(env)
    try:
        say("ruff check .")
        code = run([venv_bin("ruff"), "check", "."], env=env)
        if code:
            return code
        nbs = notebooks()
        lax = [nb for nb in nbs if nb not in NBVAL_STRICT]
        strict = [nb for nb in nbs if nb in NBVAL_STRICT]
        select = ["-m", "not browser"] if args.no_browser else []
        pytest = [venv_bin("python"), "-m", "pytest", *select, "--nbval-current-env"]
        say(f"pytest tests/ + nbval (lax: {len(lax)} notebooks, strict: {len(strict)})")
        code = run([*pytest, "--nbval-lax", "tests", *lax, *extra], env=env)
        if code == 0 and strict:
            code = run([*pytest, "--nbval", *strict, *extra], env=env)
        return code
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        say(f"test command took {time.monotonic() - t0:.0f} s")


# Voila reads voila.json from its working directory (the repo root here) and Jupyter's config path:
# kernel culling (a closed page's kernel is shut down), no notebook sources in the page, and a pool of
# pre-warmed kernels (each has run the dashboard's notebook and waits for a page to ask for it).
VOILA_CONFIG = ROOT / "voila.json"
LOCAL_IPS = ("127.0.0.1", "localhost", "::1")


def requested_ip(extra: list[str]) -> str | None:
    """The address asked for with --Voila.ip=X or --Voila.ip X (Voila has no --ip); None if not asked."""
    for i, opt in enumerate(extra):
        name, eq, value = opt.partition("=")
        if name == "--Voila.ip":
            if eq:
                return value
            if i + 1 < len(extra):
                return extra[i + 1]
    return None


def culling_summary() -> str:
    """One line on how voila.json has Voila shut down the kernels of closed pages."""
    try:
        km = json.loads(VOILA_CONFIG.read_text()).get("MappingKernelManager", {})
    except (OSError, ValueError) as exc:
        return f"WARNING: could not read {VOILA_CONFIG.name} ({exc}): kernels of closed pages are never shut down"
    idle, every = km.get("cull_idle_timeout", 0), km.get("cull_interval", 300)
    if idle <= 0:
        return f"WARNING: {VOILA_CONFIG.name} turns culling off: kernels of closed pages are never shut down"
    return (f"a closed page's kernel is shut down at once (page unload), or at most {idle + every} s after its "
            f"last activity (plus its shutdown) if the page vanished ({VOILA_CONFIG.name}: idle {idle} s, "
            f"checked every {every} s)")


def pool_size() -> int:
    """The number of pre-warmed kernels voila.json asks for (0: none)."""
    try:
        voila = json.loads(VOILA_CONFIG.read_text()).get("VoilaConfiguration", {})
    except (OSError, ValueError):
        return 0
    return max(int(voila.get("default_pool_size", 1)), 0) if voila.get("preheat_kernel") else 0


def cmd_dashboard(args: argparse.Namespace, extra: list[str]) -> int:
    ensure_env(test=False)
    ip = requested_ip(extra)
    cmd = [venv_bin("voila"), DASHBOARD, "--no-browser", f"--port={args.port}"]
    if ip is None:
        ip = "127.0.0.1"
        cmd.append(f"--Voila.ip={ip}")
    pool = pool_size() if args.pool is None else args.pool
    if args.pool is not None:
        cmd += [f"--VoilaConfiguration.preheat_kernel={pool > 0}", f"--VoilaConfiguration.default_pool_size={pool}"]
    cmd += extra
    env = child_env()
    if ip not in ("0.0.0.0", "::", ""):  # a pre-warmed kernel asks the server for its page's query at this address
        env["VOILA_APP_IP"] = ip
    host = ip if ip not in ("0.0.0.0", "::", "") else "<this machine's address>"
    say(f"dashboard: http://{host}:{args.port}/   (Ctrl+C stops it)")
    if ip in LOCAL_IPS:
        say("listening on this machine only. To let other machines reach it, say so: "
            "python3 tasks.py dashboard --Voila.ip=0.0.0.0 (read the README's warning first)")
    else:
        say(f"WARNING: listening on {ip}, with no password: anyone who can reach this port starts a Python "
            "kernel on this machine (about 125 MB each) running the dashboard.")
    say(culling_summary())
    if pool:
        say(f"pre-warmed kernels waiting for pages: {pool} (about 125 MB each; a page takes one at once and a new "
            "one starts behind it): for a class, --pool about the number of pages opened at the same moment")
    else:
        say("no pre-warmed kernels: every page waits for its own kernel to start (--pool N keeps N ready)")
    proc = subprocess.Popen([str(c) for c in cmd], cwd=ROOT, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Voila got the Ctrl+C too; give it time to shut its kernels
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        return 0


# The static site (staticsite/build.py) is built with its own tools, in their own venv: voici's static builder
# and JupyterLite, at the exact versions of requirements/site.txt, apart from the dashboard's packages.
SITE_VENV = ROOT / ".venv-site"
SITE_LOCK = REQUIREMENTS / "site.txt"


def ensure_site_env() -> Path:
    """Create .venv-site with requirements/site.txt unless its stamp says it is current; return its python."""
    python = SITE_VENV / "bin" / "python"
    stamp = SITE_VENV / ".explorer-install.json"
    want = json.dumps({"site": file_hash(SITE_LOCK)})
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    import venv

    shutil.rmtree(SITE_VENV, ignore_errors=True)
    say("creating .venv-site with the static site's build tools (requirements/site.txt, ~30 s)")
    venv.EnvBuilder(with_pip=True).create(SITE_VENV)
    check([python, "-m", "pip", "install", "-q", "-r", SITE_LOCK])
    stamp.write_text(want)
    return python


def site_handler(folder: Path):
    """A request handler that serves `folder`: Python's file server, with the types Pyodide's files need."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript",
                          ".json": "application/json", ".whl": "application/zip"}

        def log_message(self, *args) -> None:  # quiet: one line per file would bury the URL
            pass

    return functools.partial(Handler, directory=str(folder))


def cmd_site(args: argparse.Namespace, extra: list[str]) -> int:
    ensure_debian_package("npm", ["npm"], "to fetch Pyodide and Font Awesome from the npm registry")
    python = ensure_site_env()
    cmd = [python, ROOT / "staticsite" / "build.py"]
    if args.pyodide:
        cmd += ["--pyodide", Path(args.pyodide).resolve()]
    if args.force:
        cmd.append("--force")
    code = run(cmd)
    if code or not args.serve:
        if not code:
            say("the site is in build/site/: copy that folder to any static web host (see README, 'The static site')")
        return code
    import http.server

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), site_handler(ROOT / "build" / "site"))
    say(f"static site: http://127.0.0.1:{server.server_address[1]}/   (Ctrl+C stops it)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def cmd_setup(args: argparse.Namespace, extra: list[str]) -> int:
    ensure_env(test=args.test)
    say(f"ready: {venv_bin('python')}  (JupyterLab: {venv_bin('jupyter')} lab)")
    return 0


def _interrupt(sig, frame):
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    # `kill` of tasks.py acts like Ctrl+C: the running child (pip, Voila, pytest) is stopped
    # with it instead of being left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    if sys.version_info < (3, 10):  # noqa: UP036 - tasks.py may be started by any python3
        sys.exit("[tasks] explorer needs Python 3.10 or newer.")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("dashboard", help="install, then serve the Voila dashboard on 127.0.0.1")
    p.add_argument("--port", type=int, default=8866)
    p.add_argument("--pool", type=int, default=None, metavar="N",
                   help="pre-warmed kernels kept ready for new pages (default: voila.json's, 2; 0: none)")
    p = sub.add_parser("test", help="install, then ruff + pytest (tests/ and notebooks via nbval)")
    p.add_argument("--no-browser", action="store_true", help="skip tests marked browser")
    p = sub.add_parser("setup", help="only create/update .venv")
    p.add_argument("--test", action="store_true", help="include the test extra")
    sub.add_parser("lock", help="resolve pyproject.toml's dependencies afresh (pip) into requirements/*.txt")
    p = sub.add_parser("site", help="build the static site (Pyodide, no server-side Python) into build/site/")
    p.add_argument("--serve", action="store_true", help="then serve it on 127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--pyodide", metavar="PATH", help="a Pyodide 0.27.7 distribution (folder or release .tar.bz2)")
    p.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    args, extra = parser.parse_known_args(argv)
    commands = {"dashboard": cmd_dashboard, "test": cmd_test, "setup": cmd_setup, "lock": cmd_lock,
                "site": cmd_site}
    if args.command in ("setup", "lock", "site") and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return commands[args.command](args, extra)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
