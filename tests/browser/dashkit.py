"""Helpers for driving the dashboard's demos in a page: tabs, visible plots, redraws, timings.

Every read of a figure goes through the page (`gd.data` of the `.js-plotly-plot` element), so a test
sees what the browser drew, not what the kernel meant to send. All waits poll; none sleeps blindly.
"""

from __future__ import annotations

import re
import time

PLOT = ".js-plotly-plot .main-svg"

# JavaScript: the plotly graph divs that are on screen (not in a hidden tab), in page order.
_VISIBLE = """
const visiblePlots = () => [...document.querySelectorAll('.js-plotly-plot')]
    .filter(g => g.offsetParent !== null && g.getClientRects().length > 0 && g.data);
"""

# A short fingerprint of what a graph shows: every trace's data arrays and styles, the texts of its
# layout (titles, annotations) and its layout images. Typed arrays (plotly's binary transport) become plain arrays.
_FINGERPRINT = (
    _VISIBLE
    + """
const hash = s => { let h = 0; for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0; return h; };
const plain = (key, v) => ArrayBuffer.isView(v) ? Array.from(v) : v;
const fingerprint = g => hash(JSON.stringify([g.data, g.layout.title, g.layout.annotations, g.layout.images], plain));
"""
)


def install_draw_counters(page) -> int:
    """Count the redraws of every visible graph (in gd.__draws): the widget applies each update from the
    kernel with one Plotly.update, restyle or animate, and each emits its event (an animate, its frame's).
    A relayout is not counted: a quick redraw (live.quick_update) sends one before its animate, when the
    layout changed. Returns how many graphs."""
    return page.evaluate(
        "() => {" + _VISIBLE + """
        const plots = visiblePlots();
        for (const g of plots) {
            if (g.__drawCounter) continue;
            g.__drawCounter = true; g.__draws = 0;
            for (const name of ['plotly_update', 'plotly_restyle', 'plotly_animatingframe'])
                g.on(name, () => { g.__draws += 1; });
        }
        return plots.length; }"""
    )


def draws(page) -> list[int]:
    return page.evaluate("() => {" + _VISIBLE + "return visiblePlots().map(g => g.__draws || 0); }")


def fingerprints(page) -> list[int]:
    """One fingerprint per visible graph."""
    return page.evaluate("() => {" + _FINGERPRINT + "return visiblePlots().map(fingerprint); }")


def trace_values(page, trace: int, key: str = "y", plot: int = 0) -> list:
    """`key` ('x', 'y' or 'z') of one trace of the plot-th visible graph, as a plain list (None if the
    graph has no such trace, e.g. while it is being rebuilt)."""
    return page.evaluate(
        "([trace, key, plot]) => {" + _VISIBLE + """
        const t = (visiblePlots()[plot] || {data: []}).data[trace];
        if (!t) return null;  // not drawn (yet)
        const v = t[key];
        return v == null ? [] : Array.from(v, r => ArrayBuffer.isView(r) ? Array.from(r) : r); }""",
        [trace, key, plot],
    )


def image_sources(page, plot: int = 0) -> list[str]:
    """The sources (data URIs) of the layout images of the plot-th visible graph."""
    return page.evaluate(
        "(plot) => {" + _VISIBLE + "return ((visiblePlots()[plot] || {layout: {}}).layout.images || [])"
        ".map(i => i.source); }",
        plot,
    )


def open_tab(page, title: str, timeout: float = 90_000) -> None:
    """Click the dashboard tab `title` and wait until its figure is drawn on screen."""
    page.locator(".lm-TabBar-tab", has_text=title).first.click()
    page.wait_for_function(
        "(title) => { const t = [...document.querySelectorAll('.lm-TabBar-tab')]"
        ".find(t => t.innerText.trim() === title); return t && t.classList.contains('lm-mod-current'); }",
        arg=title,
        timeout=timeout,
    )
    wait_for_visible_plot(page, timeout)


def wait_for_visible_plot(page, timeout: float = 90_000) -> None:
    page.wait_for_function(
        "() => {" + _VISIBLE + "return visiblePlots().length > 0 && "
        "visiblePlots().every(g => g.querySelector('.main-svg') && g.data.length > 0); }",
        timeout=timeout,
    )


def button(page, text: str):
    """The visible button labelled `text`."""
    return page.locator("button:visible").filter(has_text=re.compile(rf"^\s*{re.escape(text)}\s*$")).first


def has_train_button(page) -> bool:
    return button(page, "Train").count() > 0


def training(page) -> bool:
    """A run is going: Pause is enabled (it is disabled whenever no run is)."""
    return button(page, "Pause").is_enabled()


def can_train(page) -> bool:
    return button(page, "Train").is_enabled()


def select(page, label: str, option: str) -> None:
    """Choose `option` (its text) in the visible dropdown labelled `label`."""
    dropdown = page.locator(".widget-dropdown:visible").filter(has=page.locator(f"label:text-is('{label}')"))
    dropdown.locator("select").first.select_option(label=option)


def dropdown_text(page, label: str) -> str:
    """The option shown by the visible dropdown labelled `label`."""
    dropdown = page.locator(".widget-dropdown:visible").filter(has=page.locator(f"label:text-is('{label}')"))
    text = dropdown.locator("select").first.evaluate("s => s.options[s.selectedIndex].text")
    return text.replace("\xa0", " ")  # ipywidgets shows option spaces as no-break spaces


def text_input(page, label: str) -> str:
    """The text in the visible text box labelled `label`."""
    box = page.locator(".widget-text:visible").filter(has=page.locator(f"label:text-is('{label}')"))
    return box.locator("input").first.input_value()


# JavaScript: the step in the visible status line under a figure ("step 1,234 ..."), or null.
_STEP = """() => {
    const t = [...document.querySelectorAll('.widget-html-content')].filter(e => e.offsetParent !== null)
        .map(e => e.innerText).find(t => /^step [0-9,]+/.test(t));
    return t ? Number(t.match(/^step ([0-9,]+)/)[1].replaceAll(',', '')) : null;
}"""


def shown_step(page) -> int | None:
    """The step in the status line under the figure."""
    return page.evaluate(_STEP)


def check(page, label: str) -> None:
    """Tick the visible checkbox whose description starts with `label`."""
    page.locator(".widget-checkbox:visible", has_text=label).locator("input[type=checkbox]").first.check()


# JavaScript: press Pause the moment the page shows a run going (Train first if none is). A press of Train may
# run for only a second (the digits demo), shorter than a round trip of Playwright's checks under load, so the
# page itself watches the button, every 5 ms. Returns the milliseconds since the click, or null if no run showed.
_PRESS_PAUSE = """async (seconds) => {
    const visibleButton = text => [...document.querySelectorAll('button')]
        .find(b => b.offsetParent !== null && b.innerText.trim() === text);
    const pause = visibleButton('Pause'), train = visibleButton('Train');
    if (pause.disabled && !train.disabled) train.click();
    const until = performance.now() + seconds * 1000;
    while (pause.disabled && performance.now() < until) await new Promise(r => setTimeout(r, 5));
    if (pause.disabled) return null;
    const clicked = performance.now();
    pause.click();
    return performance.now() - clicked;
}"""


def pause(page, tries: int = 6, seconds: float = 15.0) -> float:
    """Press Pause while a run is going (Train first if none is; again if the run ended before the page showed
    it); return the time of the click. Watch the figures from then on (wait_until_static) before anything else."""
    for _ in range(tries):
        since_click = page.evaluate(_PRESS_PAUSE, seconds)
        if since_click is not None:
            return time.monotonic() - since_click / 1000
    raise AssertionError(f"could not catch a run in progress to pause it in {tries} presses of Train")


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll `predicate()` until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}")
        time.sleep(interval)


def wait_until_static(page, since: float | None = None, quiet: float = 3.0, timeout: float = 60.0,
                      interval: float = 0.1) -> float:
    """Watch the visible graphs until none has changed for `quiet` seconds; return the time from `since`
    (a time.monotonic() value, by default the call) to their last change seen, 0 if none changed."""
    start = time.monotonic()
    since = start if since is None else since
    last = fingerprints(page)
    last_change = None
    while True:
        now = time.monotonic()
        if now - (last_change or start) >= quiet:
            return max(0.0, last_change - since) if last_change else 0.0
        if now - start > timeout:
            raise AssertionError(f"the plots kept changing for {timeout:.0f} s")
        time.sleep(interval)
        current = fingerprints(page)
        if current != last:
            last, last_change = current, time.monotonic()


def page_text_problems(page) -> list[str]:
    """Error or traceback text shown in the page (apps show errors in `.explorer-error` elements)."""
    text = page.inner_text("body")
    problems = [word for word in ("Traceback", "Error:", "Exception") if word in text]
    errors = page.locator(".explorer-error:visible")
    problems += [errors.nth(i).inner_text() for i in range(errors.count())]
    return problems


def plot_widths(page) -> list[tuple[float, float]]:
    """(drawn width, width of its place on the page) of each visible graph."""
    return [
        tuple(w)
        for w in page.evaluate(
            "() => {" + _VISIBLE + "return visiblePlots().map(g => [g._fullLayout.width, g.clientWidth]); }"
        )
    ]


def wait_for_fitted_plots(page, timeout: float = 30.0, tolerance: float = 2.0) -> list[tuple[float, float]]:
    """Wait until every visible graph is drawn as wide as its place on the page; return the widths."""
    fitted = lambda: all(abs(drawn - room) <= tolerance for drawn, room in plot_widths(page))  # noqa: E731
    try:
        wait_until(fitted, timeout, message="figures as wide as the page")
    except AssertionError as error:
        raise AssertionError(f"{error}: (drawn, available) widths {plot_widths(page)}") from None
    return plot_widths(page)


# JavaScript: the boxes (page pixels) of what a graph writes and draws, for layout_problems.
_LAYOUT_BOXES = _VISIBLE + """
const g = visiblePlots()[plot];
if (!g) return null;
const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
const items = (selector, kind) => [...g.querySelectorAll(selector)]
    .map(e => ({kind, text: (e.textContent || e.getAttribute('class') || '').trim().slice(0, 60), box: box(e)}))
    .filter(i => i.box[2] - i.box[0] > 0 && i.box[3] - i.box[1] > 0);
return {
    figure: box(g.querySelector('.svg-container')),
    legends: items('.infolayer > g[class^="legend"]', 'legend'),
    colorbars: items('.infolayer > g.colorbar', 'colour bar'),
    titles: [...items('.infolayer > g[class^="g-"][class$="title"]', 'title'), ...items('.annotation', 'annotation')],
    panels: items('.draglayer .nsewdrag', 'panel'),
    texts: items('text', 'text'),
};
"""


def _overlap(a: list[float], b: list[float], slack: float) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def _inside(a: list[float], b: list[float], slack: float) -> bool:
    return a[0] >= b[0] - slack and a[1] >= b[1] - slack and a[2] <= b[2] + slack and a[3] <= b[3] + slack


def layout_problems(page, plot: int = 0, slack: float = 1.0) -> list[str]:
    """What is wrong with the layout of the plot-th visible graph, as the browser drew it (empty: nothing):
    legends, colour bars, axis titles and panel titles (annotations) that overlap one another; a legend or a
    colour bar that covers part of a panel (one wholly inside a panel is an inset, on purpose); a text cut
    off at the figure's edge. `slack` pixels of contact are allowed."""
    boxes = page.evaluate("(plot) => {" + _LAYOUT_BOXES + "}", plot)
    if boxes is None:
        return ["no such graph on screen"]
    problems = []
    labels = boxes["legends"] + boxes["colorbars"] + boxes["titles"]
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            if _overlap(a["box"], b["box"], slack):
                problems.append(f"{a['kind']} {a['text']!r} overlaps {b['kind']} {b['text']!r}")
    for a in boxes["legends"] + boxes["colorbars"]:
        for panel in boxes["panels"]:
            if _overlap(a["box"], panel["box"], slack) and not _inside(a["box"], panel["box"], slack):
                problems.append(f"{a['kind']} {a['text']!r} covers part of a panel at {panel['box']}")
    for text in boxes["texts"]:
        if not _inside(text["box"], boxes["figure"], slack):
            problems.append(f"text {text['text']!r} is cut off at the figure's edge ({text['box']} outside "
                            f"{boxes['figure']})")
    return problems


def button_look(page, text: str) -> dict:
    """The visible button labelled `text`: whether it is disabled, and its computed opacity, filter and colour."""
    return button(page, text).evaluate(
        "b => { const s = getComputedStyle(b); return {disabled: b.disabled, opacity: parseFloat(s.opacity),"
        " filter: s.filter, background: s.backgroundColor}; }"
    )
