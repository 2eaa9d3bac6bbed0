"""The static site's build (staticsite/build.py): it refuses package files that differ from Pyodide's official
lock, the site's lock lists exactly the files shipped, and the small functions it is made of.

The session's `static_site` fixture builds the site first (`python3 tasks.py site`, reused when nothing changed):
that also creates .venv-site and the downloads in build/site-downloads that these tests take their files from.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE_PYTHON = ROOT / ".venv-site" / "bin" / "python"
DOWNLOADS = ROOT / "build" / "site-downloads"

_spec = importlib.util.spec_from_file_location("staticsite_build", ROOT / "staticsite" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)


def official_folder() -> Path:
    """The official Pyodide package files the last build took (PACKAGES_WHEEL's, unpacked in the downloads)."""
    name, version, _ = build.PACKAGES_WHEEL
    return DOWNLOADS / "pyodide-packages" / f"{name}-{version}"


def npm_lock() -> dict:
    """npm's pyodide-lock.json: every official package with its sha256 and dependencies."""
    return json.loads((DOWNLOADS / "npm" / f"pyodide-{build.PYODIDE_VERSION}" / "package" /
                       "pyodide-lock.json").read_text())["packages"]


def run_build(pyodide: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([SITE_PYTHON, ROOT / "staticsite" / "build.py", "--pyodide", pyodide, "--out", out],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)


def copies_of_the_official_files(folder: Path) -> list[Path]:
    """folder/ holding the official files as links to the downloaded ones; returns them by name."""
    folder.mkdir()
    for path in sorted(official_folder().iterdir()):
        (folder / path.name).symlink_to(path)
    return sorted(folder.iterdir())


def test_a_second_build_reuses_the_site(static_site):
    second = static_site.again()
    assert f"{static_site.path} is up to date" in second.output, second.output
    assert "voici build" not in second.output and "PyPI:" not in second.output and "npm:" not in second.output
    assert second.seconds < 30, f"an up-to-date build took {second.seconds:.0f} s"  # about 1 s: hashes, no work


def test_the_build_refuses_a_package_file_changed_by_one_byte(static_site, tmp_path):
    files = copies_of_the_official_files(tmp_path / "pyodide")
    lock = npm_lock()
    shipped = {lock[name]["file_name"] for name in build.closure(lock, build.OFFICIAL)}
    tampered = min(f for f in files if f.name in shipped)  # the first checked (in name order): the build stops at once
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 1
    tampered.unlink()
    tampered.write_bytes(bytes(data))
    with zipfile.ZipFile(tampered):  # still a readable archive: only its hash gives it away
        pass

    done = run_build(tmp_path / "pyodide", tmp_path / "site")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{tampered.name}: sha256" in done.stderr and "Refusing to ship it" in done.stderr, done.stderr
    assert not (tmp_path / "site").exists()


def test_the_build_names_a_package_file_that_is_missing(static_site, tmp_path):
    files = copies_of_the_official_files(tmp_path / "pyodide")
    missing = next(f for f in files if f.name.startswith("numpy-"))
    missing.unlink()
    done = run_build(tmp_path / "pyodide", tmp_path / "site")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "lack" in done.stderr and missing.name in done.stderr, done.stderr
    assert not (tmp_path / "site").exists()


def test_the_sites_lock_lists_exactly_the_files_shipped_with_their_hashes(static_site):
    folder = static_site.path / "static" / "pyodide"
    lock = json.loads((folder / "pyodide-lock.json").read_text())["packages"]
    official = npm_lock()
    listed = {entry["file_name"]: entry for entry in lock.values()}
    runtime = {*build.CORE_FILES, "pyodide-lock.json"}
    assert runtime | set(listed) == {p.name for p in folder.iterdir()} and not runtime & set(listed)
    for name, entry in listed.items():
        assert build.sha256(folder / name) == entry["sha256"], name
    for name in build.closure(official, build.OFFICIAL):  # official entries as they are: hash and dependencies
        depends = [build.normal(d) for d in official[name]["depends"]]  # as the lock's keys spell them
        assert (lock[name]["sha256"], lock[name]["depends"]) == (official[name]["sha256"], depends), name
    assert set(build.closure(lock, build.PRELOAD)) <= set(lock)  # everything preloaded is on the site


def test_wheel_entry_reads_a_real_wheels_metadata(static_site):
    (wheel,) = (static_site.path / "static" / "pyodide").glob("explorer-*.whl")
    entry = build.wheel_entry(wheel)
    assert entry["name"] == "explorer" and wheel.name == f"explorer-{entry['version']}-py3-none-any.whl"
    assert entry["imports"] == ["explorer"]
    assert {"numpy", "ipywidgets", "plotly"} <= set(entry["depends"])
    assert entry["sha256"] == build.sha256(wheel) and entry["file_name"] == wheel.name

    (wheel,) = (DOWNLOADS / "wheels").glob("typing_extensions-*.whl")  # a single module, not a package
    entry = build.wheel_entry(wheel)
    assert entry["name"] == "typing-extensions" and entry["imports"] == ["typing_extensions"]
    assert entry["depends"] == []


def test_closure_is_the_packages_and_all_they_depend_on(static_site):
    lock = npm_lock()
    names = build.closure(lock, ("scikit_learn",))  # spelled as pip would: the lock's name is scikit-learn
    assert names[0] == "scikit-learn" and len(names) == len(set(names))
    assert {"scipy", "numpy", "joblib", "threadpoolctl", "openblas"} <= set(names)
    for name in names:
        assert set(lock[name]["depends"]) <= set(names), name
    with pytest.raises(build.BuildError, match="no-such-package is not in Pyodide"):
        build.closure(lock, ("numpy", "no_such_package"))


def test_fix_pages_points_at_the_sites_own_files_and_refuses_other_hosts(tmp_path):
    page = tmp_path / "voici" / "render" / "demo.html"
    page.parent.mkdir(parents=True)
    page.write_text('<script src="./static/pyodide/pyodide.js"></script>'
                    '<link href="https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@^5/css/all.min.css">')
    build.fix_pages(tmp_path)
    assert page.read_text() == ('<script src="../../static/pyodide/pyodide.js"></script>'
                                '<link href="../../static/fontawesome/css/all.min.css">')

    (tmp_path / "other.html").write_text('<img src="https://example.org/x.png">')
    with pytest.raises(build.BuildError, match=r"other.html: https://example.org/x.png"):
        build.fix_pages(tmp_path)


def test_the_site_serves_plotlys_widget_javascript_where_the_dashboard_loads_it_from(static_site):
    from explorer.apps.figure import SITE_PLOTLY_JS

    assert build.PLOTLY_JS == SITE_PLOTLY_JS
    (wheel,) = (static_site.path / "static" / "pyodide").glob("plotly-*.whl")
    with zipfile.ZipFile(wheel) as z:  # the bundle of the plotly the page runs, byte for byte
        assert (static_site.path / SITE_PLOTLY_JS).read_bytes() == z.read("plotly/package_data/widgetbundle.js")
