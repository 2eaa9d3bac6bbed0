"""The lock (requirements/*.txt) agrees with pyproject.toml, and Binder installs the dashboard lock.

tasks.py installs requirements/test.txt (or dashboard.txt) and then the project with --no-deps, so a
dependency added to pyproject.toml but missing from the lock, or a range the locked version leaves, would
go unnoticed there: these tests catch it. `python3 tasks.py lock` rewrites the lock from pyproject.toml.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def read_lock(path: Path) -> dict[str, Version]:
    """name -> version of each `name==version` line; any other line but a comment is an error."""
    pins: dict[str, Version] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}:{number}: {line!r} is not an exact pin name==version"
        name = canonicalize_name(match[1])
        assert name not in pins, f"{path.name}:{number}: {name} is pinned twice"
        pins[name] = Version(match[2])
    return pins


DASHBOARD = read_lock(ROOT / "requirements" / "dashboard.txt")
TEST = read_lock(ROOT / "requirements" / "test.txt")


def unmet(requirements: list[str], lock: dict[str, Version]) -> list[str]:
    """The requirements the lock leaves out, or pins at a version their specifier does not admit."""
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"python_version": "3.11", "sys_platform": "linux"}):
            continue  # the lock is for CPython 3.11 on Linux
        version = lock.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{text}: not in the lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{text}: the lock has {version}")
    return problems


def test_the_dashboard_lock_pins_every_dependency_within_its_range():
    assert not unmet(PROJECT["dependencies"], DASHBOARD), "run `python3 tasks.py lock`"


def test_the_test_lock_pins_every_dependency_and_test_tool_within_its_range():
    wanted = PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]
    assert not unmet(wanted, TEST), "run `python3 tasks.py lock`"


def test_the_test_lock_holds_the_dashboard_lock():
    """The tests run the dashboard on the versions Binder installs: every dashboard pin, at the same version."""
    differ = {name: (version, TEST.get(name)) for name, version in DASHBOARD.items() if TEST.get(name) != version}
    assert not differ, f"dashboard pin -> test pin: {differ}"
    assert len(TEST) > len(DASHBOARD)  # and the test tools besides


def test_the_locks_say_what_they_were_resolved_for():
    for use in ("dashboard", "test"):
        assert "CPython 3.11 on Linux" in (ROOT / "requirements" / f"{use}.txt").read_text()
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_installs_the_dashboard_lock_and_the_project_without_its_dependencies():
    """repo2docker installs binder/requirements.txt (pip reads `-r` relative to that file), then runs postBuild."""
    lines = [line.strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["-r ../requirements/dashboard.txt"]
    assert (ROOT / "binder" / "../requirements/dashboard.txt").resolve() == ROOT / "requirements" / "dashboard.txt"
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-cache-dir --no-deps -e ." in post_build


def test_a_disagreement_is_caught():
    """The check itself: a missing package, a version outside the range, and names spelled either way."""
    assert unmet(["plotly>=6,<8"], {"plotly": Version("8.0.0")}) == ["plotly>=6,<8: the lock has 8.0.0"]
    assert unmet(["anywidget==0.9.16"], {}) == ["anywidget==0.9.16: not in the lock"]
    assert unmet(["Scikit_Learn>=1.3"], {"scikit-learn": Version("1.9.1")}) == []
    assert unmet(["pywin32>=300; sys_platform == 'win32'"], {}) == []  # not for Linux
