"""Screenshots of every demo at several window widths, in Voila (the dashboard) and in JupyterLab (the demo
notebooks), to look at after a change of layout:

    .venv/bin/python tests/browser/screenshots.py                 # Voila, 1280 and 800 px
    .venv/bin/python tests/browser/screenshots.py --lab           # and JupyterLab
    .venv/bin/python tests/browser/screenshots.py --widths 1280 --only variance edge_of_chaos

Pictures go to test-artifacts/: voila-<demo>-<width>.png (the window, from the top of the tab) and
voila-<demo>-<width>-figure.png (the figure), lab-<notebook>-<width>.png (the demo's output). Each page is
loaded at the first width; the other widths are reached by resizing the window, as a user would, so the
pictures also show whether the figures follow a resize. Uses Debian's Chromium (/usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import browserkit  # noqa: E402
import dashkit as dk  # noqa: E402

sys.path.insert(0, str(browserkit.ROOT))
from explorer.apps.dashboard import DEMOS  # noqa: E402

DASHBOARD = "notebooks/dashboard.ipynb"
# demo module -> its notebook
NOTEBOOKS = {"three_layer": "three_layer", "nine_layer": "nine_layer", "histograms": "histograms",
             "digits_mlp": "digits_mlp", "variance": "variance", "zoo": "initializer_zoo",
             "edge_of_chaos": "edge_of_chaos"}
HEIGHT = 900
LAB_HEIGHT = 1500  # JupyterLab: tall enough for the tallest figure, so that a picture of it needs no scrolling
TIMEOUT = 180_000  # ms


def settle(page, seconds: float = 1.5) -> None:
    """Let the figures finish a relayout (a fit after a resize goes to the kernel and back)."""
    try:
        dk.wait_for_fitted_plots(page, timeout=20)
    except AssertionError as error:
        print(f"  (not fitted: {error})")
    time.sleep(seconds)
    page.mouse.move(0, 0)  # no hover label in the pictures


def voila(context, server, widths: list[int], only: list[str]) -> list[Path]:
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.set_viewport_size({"width": widths[0], "height": HEIGHT})
    page.goto(server.url, timeout=TIMEOUT)
    dk.wait_for_visible_plot(page, TIMEOUT)
    saved = []
    for width in widths:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        for title, module, _ in DEMOS:
            if only and module not in only:
                continue
            dk.open_tab(page, title)
            settle(page)
            page.evaluate("() => document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
            saved.append(browserkit.save_screenshot(page, f"voila-{module}-{width}", full_page=False))
            figure = page.locator(".js-plotly-plot:visible").first
            figure.scroll_into_view_if_needed()
            path = browserkit.ARTIFACTS / f"voila-{module}-{width}-figure.png"
            figure.screenshot(path=str(path))
            saved.append(path)
            print(f"  {module} at {width} px: (drawn, available) widths {dk.plot_widths(page)}")
            for problem in dk.layout_problems(page):
                print(f"    {problem}")
    return saved


def lab(context, server, widths: list[int], only: list[str]) -> list[Path]:
    page = context.pages[0] if context.pages else context.new_page()
    page.set_default_timeout(TIMEOUT)
    saved = []
    for module, notebook in NOTEBOOKS.items():
        if only and module not in only:
            continue
        page.set_viewport_size({"width": widths[0], "height": LAB_HEIGHT})
        browserkit.lab_open_notebook(page, server, f"notebooks/{notebook}.ipynb")
        browserkit.lab_run_all(page)
        page.wait_for_selector(f".jp-OutputArea {dk.PLOT}", timeout=TIMEOUT)
        for width in widths:
            page.set_viewport_size({"width": width, "height": LAB_HEIGHT})
            output = page.locator(".jp-OutputArea-child", has=page.locator(".js-plotly-plot")).first
            output.scroll_into_view_if_needed()
            settle(page)
            path = browserkit.ARTIFACTS / f"lab-{notebook}-{width}.png"
            output.screenshot(path=str(path))
            saved.append(path)
            print(f"  {notebook} at {width} px: (drawn, available) widths {dk.plot_widths(page)}")
            for problem in dk.layout_problems(page):
                print(f"    {problem}")
        server.shutdown_kernels()
    return saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", type=int, nargs="+", default=[1280, 800], help="window widths in px")
    parser.add_argument("--only", nargs="*", default=[], help="demo modules to show, e.g. variance zoo")
    parser.add_argument("--lab", action="store_true", help="also the demo notebooks in JupyterLab")
    parser.add_argument("--no-voila", action="store_true", help="leave out the dashboard in Voila")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    saved = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        for variable, folder in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                                 ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
            os.environ[variable] = os.path.join(tmp, folder)  # Jupyter writes nothing under $HOME
        os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=browserkit.CHROMIUM, headless=True,
            args=browserkit.CHROMIUM_ARGS)
        try:
            if not args.no_voila:
                server = browserkit.voila_server(DASHBOARD, Path(tmp))
                try:
                    saved += voila(context, server, args.widths, args.only)
                finally:
                    server.stop()
            if args.lab:
                server = browserkit.lab_server(Path(tmp))
                try:
                    saved += lab(context, server, args.widths, args.only)
                finally:
                    server.stop()
        finally:
            context.close()
    print("\n".join(str(path) for path in saved))
    return 0


if __name__ == "__main__":
    sys.exit(main())
