"""No demo imports another demo: what two demos share lives in explorer.apps.figure or explorer.apps.live."""

import ast
from pathlib import Path

import explorer.apps

APPS = Path(explorer.apps.__file__).parent


def apps_modules_imported(path: Path) -> set[str]:
    """The modules of explorer.apps that the file at `path` imports (absolute or relative import statements)."""
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "explorer.apps" if node.level == 1 else (node.module or "")
            if node.level == 1 and node.module:
                base += "." + node.module
            # `from explorer.apps import x` imports the module x; `from explorer.apps.x import y` the module x
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["explorer", "apps"] and len(parts) > 2 and (APPS / f"{parts[2]}.py").exists():
                imported.add(parts[2])
    return imported


def demo_modules() -> set[str]:
    """The modules of explorer.apps that define a demo: a class named ...App other than the base LiveApp."""
    demos = set()
    for path in APPS.glob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        if any(isinstance(node, ast.ClassDef) and node.name.endswith("App") and node.name != "LiveApp"
               for node in tree.body):
            demos.add(path.stem)
    return demos


def test_the_demos_are_found():
    assert {"three_layer", "nine_layer", "histograms", "digits_mlp", "variance", "zoo", "edge_of_chaos"} <= (
        demo_modules())


def test_no_module_of_explorer_apps_imports_a_demo():
    demos = demo_modules()
    for path in APPS.glob("*.py"):
        imported_demos = apps_modules_imported(path) & (demos - {path.stem})
        assert not imported_demos, f"{path.name} imports the demo module(s) {sorted(imported_demos)}"


def test_the_import_reader_sees_every_form_of_import(tmp_path):
    """The check above would catch each way of importing a sibling demo."""
    for statement in ("from explorer.apps.nine_layer import steady_range", "from explorer.apps import nine_layer",
                      "import explorer.apps.nine_layer", "from .nine_layer import steady_range",
                      "from . import nine_layer"):
        path = tmp_path / "demo.py"
        path.write_text(statement + "\n")
        assert apps_modules_imported(path) == {"nine_layer"}, statement
