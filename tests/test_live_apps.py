"""What every live demo promises, whatever it draws: Train, Pause, Step and Reset in any order leave one
training loop at most, and the figure and progress follow the engine."""

import asyncio
import importlib
import json
import math
import re
import time
import warnings
import zlib

import ipywidgets as widgets
import numpy as np
import pytest

from explorer import datasets, initializers
from explorer.network import Network
from explorer.training import Trainer

APPS = [
    ("explorer.apps.three_layer", "ThreeLayerApp"),
    ("explorer.apps.nine_layer", "NineLayerApp"),
    ("explorer.apps.histograms", "HistogramsApp"),
    ("explorer.apps.digits_mlp", "DigitsMLPApp"),
    ("explorer.apps.zoo", "ZooApp"),
    ("explorer.apps.isometry", "IsometryApp"),
]


@pytest.fixture(scope="module", params=APPS, ids=[name for _, name in APPS])
def app(request):
    module, name = request.param
    app = getattr(importlib.import_module(module), name)()
    app.use_ack_gate = False  # no browser here to acknowledge redraws
    endless(app)
    return app


def endless(app) -> None:
    """Every press of Train runs until paused. A press runs a few thousand steps, which a fast machine may finish
    before a test's wait of 0.3 s ends; the tests here press Pause, Reset or a control during a run."""
    make_trainer = app.make_trainer

    def make_endless_trainer():
        trainer = make_trainer()
        app.run_steps = 10**9  # reset() sets the press's end from it, after make_trainer (which may set it)
        return trainer

    app.make_trainer = make_endless_trainer
    app.reset()


def running_tasks():
    return [t for t in asyncio.all_tasks() if t.get_coro().__qualname__ == "LiveApp.train"]


def test_train_then_pause_ends_the_task(app):
    app.reset()

    async def train_then_pause():
        app.train_button.click()
        task = app.task
        assert app.running and app.train_button.disabled and not app.pause_button.disabled
        await asyncio.sleep(0.3)
        app.pause_button.click()
        await asyncio.sleep(0.05)
        return task

    task = asyncio.run(train_then_pause())
    assert task.done() and not app.running
    assert not app.train_button.disabled and app.pause_button.disabled
    assert app.trainer.step > 0 and app.snapshot.step <= app.trainer.step


def test_clicking_train_twice_runs_one_loop(app):
    app.reset()

    async def double_click():
        app.train_button.click()
        first = app.task
        app.train_button.click()
        await asyncio.sleep(0.1)
        count = len(running_tasks())
        app.pause_button.click()
        await asyncio.sleep(0)
        return first, count

    first, count = asyncio.run(double_click())
    assert count == 1 and first.done()


def test_reset_while_training_starts_clean(app):
    async def reset_during_training():
        app.train_button.click()
        await asyncio.sleep(0.2)
        app.reset_button.click()
        await asyncio.sleep(0.05)
        return len(running_tasks())

    assert asyncio.run(reset_during_training()) == 0
    assert app.trainer.step == 0 and app.snapshot.step == 0 and not app.running
    assert app.progress.value == 0


def test_step_advances_one_interval(app):
    app.reset()
    app.step_button.click()
    assert app.trainer.step == app.snapshot.step == app.every
    assert app.progress.value == app.every


def test_pause_shows_the_step_where_training_stopped(app):
    app.reset()
    app.max_fps = 0.5  # so that training outruns the throttled redraws

    async def train_then_pause():
        app.train_button.click()
        await asyncio.sleep(0.5)
        app.pause_button.click()

    try:
        asyncio.run(train_then_pause())
    finally:
        app.max_fps = type(app).max_fps
    assert app.progress.value == min(app.trainer.step, app.progress.max)
    assert f"{app.trainer.step:,}" in app.progress.description


# ---------------------------------------------------------------------------------------------
# A seeded random walk over every control and button of each app (thirty people drag every
# slider to its end at once). After each action: one training loop at most, no exception escaped, no
# traceback shown, and the engine and the figure agree with the controls.

INT_TEXTS = (-1, 0, 3, 2**40)  # seeds typed into an IntText, the odd ones included
FLOAT_TEXTS = (0.0, -0.1, math.nan, math.inf, 1e-6, 0.02, 0.5, 50.0, 1e10, 1e308)  # learning rates typed in
TEXTS = ("", "a, b", "0, 5", "784, 100, 10", "1, 1", "-3, 5", "4096, 4096, 4096", "2.5, 3", "10 20 30")


def controls(app) -> dict[str, widgets.ValueWidget]:
    """Every control of an app: the widgets with a value, other than buttons, progress and text output."""
    return {name: w for name, w in vars(app).items()
            if isinstance(w, widgets.ValueWidget) and not isinstance(w, (widgets.HTML, widgets.IntProgress))}


def random_value(widget, rng):
    """A value the control can take: an option, the minimum, the maximum or a point between, typed text."""
    def pick(*values):
        return values[rng.integers(len(values))]

    if isinstance(widget, (widgets.Dropdown, widgets.ToggleButtons)):
        return pick(*widget._options_values)
    if isinstance(widget, widgets.Checkbox):
        return bool(rng.integers(2))
    if isinstance(widget, widgets.FloatLogSlider):
        return widget.base ** pick(widget.min, widget.max, rng.uniform(widget.min, widget.max))
    if isinstance(widget, widgets.IntSlider):
        return int(pick(widget.min, widget.max, rng.integers(widget.min, widget.max + 1)))
    if isinstance(widget, widgets.FloatSlider):
        return float(pick(widget.min, widget.max, rng.uniform(widget.min, widget.max)))
    if isinstance(widget, widgets.IntText):
        return int(pick(*INT_TEXTS))
    if isinstance(widget, widgets.FloatText):
        return float(pick(*FLOAT_TEXTS))
    if isinstance(widget, widgets.Text):
        return str(pick(*TEXTS))
    raise AssertionError(f"no random values for {type(widget).__name__}")


def lr_of(app) -> float:
    return float(app.trainer.lr.ravel()[0])


def three_layer_agrees(app):
    from explorer.apps.three_layer import ARCHITECTURES

    net = app.trainer.net
    assert net.sizes == ARCHITECTURES[app.architecture.value][0]
    assert net.K == (4 if app.mode.value == "compare" else 1)
    assert app.trainer.m == app.points.value and app.data.name == app.dataset.value
    assert net.seeds == [app.seed.value] * net.K
    assert lr_of(app) == app.learning_rate.value
    cost = app.figure.trace("cost 0")
    last = app.costs.y[-1, 0]
    if np.isfinite(last) and last > 0:  # a cost the log axis can show ends the curve, at the snapshot's step
        assert cost.x[-1] == app.snapshot.step


def nine_layer_agrees(app):
    assert app.trainer.net.hidden[0] == app.activation.value and lr_of(app) == app.learning_rate.value
    assert app.trainer.net.seeds == [app.seed.value]
    assert app.figure.data[0].x[-1] == app.snapshot.step


def histograms_agrees(app):
    assert app.trainer.net.hidden[0] == app.activation.value and lr_of(app) == app.learning_rate.value
    assert app.figure.data[4].x[-1] == app.snapshot.step


def digits_agrees(app):
    assert app.trainer.net.K == (5 if app.typo.value else 4) and lr_of(app) == app.learning_rate.value
    assert app.figure.data[0].x[-1] == pytest.approx(app.snapshot.epoch, rel=1e-6)


def zoo_agrees(app):
    net = app.trainer.net
    assert net.hidden[0] == app.activation.value and lr_of(app) == app.learning_rate.value
    assert net.L == app.depth.value + 1 and net.sizes[1] == app.width.value and net.K == len(app.keys)
    assert app.figure.data[0].x[-1] == app.snapshot.step
    assert all(app.figure.trace(f"{key} cost").x[-1] == app.snapshot.step for key in app.keys)


AGREES = {"ThreeLayerApp": three_layer_agrees, "NineLayerApp": nine_layer_agrees,
          "HistogramsApp": histograms_agrees, "DigitsMLPApp": digits_agrees, "ZooApp": zoo_agrees}
WALK_LENGTH = {"ThreeLayerApp": 45, "NineLayerApp": 45, "HistogramsApp": 20, "DigitsMLPApp": 25, "ZooApp": 20}


def isometry_agrees(app):
    net = app.trainer.net
    assert net.K == 2 and (net.L - 1, net.sizes[1]) == app.train_shape() and lr_of(app) == app.learning_rate.value
    assert app.trainer.net.seeds == [app.seed.value] * 2
    assert app.figure.trace("cost gaussian").x[-1] == app.snapshot.step


AGREES["IsometryApp"] = isometry_agrees
WALK_LENGTH["IsometryApp"] = 20


INTERNAL_ERROR = re.compile(r"&#9888; (Training stopped: )?\w+(Error|Exception|Warning)\b")


def check_message(app, where: str) -> None:
    """No traceback, and no message that an unexpected exception was caught: only bad input is said."""
    text = app.message.value
    assert "Traceback" not in text and 'File "' not in text, f"{where}: a traceback is shown: {text}"
    assert text == "" or 'class="explorer-error"' in text, f"{where}: {text}"
    assert not INTERNAL_ERROR.search(text), f"{where}: an internal error was caught and shown: {text}"


def check_invariants(app, where: str) -> None:
    tasks = running_tasks()
    assert len(tasks) <= 1, f"{where}: {len(tasks)} training loops"
    assert app.running == (len(tasks) == 1), where
    check_message(app, where)
    if app.trainer is None:  # bad input: said so, and nothing to train
        assert app.message.value and app.train_button.disabled and app.step_button.disabled, where
        return
    assert app.snapshot.step <= app.trainer.step, where
    if not app.running:  # the figure has been drawn since the last change: it shows the engine's state
        assert app.progress.value == min(app.trainer.step, app.progress.max), where
        AGREES[type(app).__name__](app)


@pytest.mark.parametrize("module, name", APPS, ids=[name for _, name in APPS])
def test_random_walk_over_every_control_and_button(module, name):
    app = getattr(importlib.import_module(module), name)()
    app.use_ack_gate = False
    rng = np.random.default_rng([6, zlib.crc32(name.encode())])
    knobs = controls(app)
    assert len(knobs) >= 3
    escaped = []  # exceptions of tasks that nobody awaited

    async def walk():
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: escaped.append(context))
        for i in range(WALK_LENGTH[name]):
            kind = rng.choice(["control"] * 4 + ["train", "pause", "step", "reset", "wait"])
            if kind == "control":
                key = list(knobs)[rng.integers(len(knobs))]
                value = random_value(knobs[key], rng)
                where = f"action {i}: {key} = {value!r}"
                knobs[key].value = value
            elif kind == "wait":
                where = f"action {i}: wait"
                await asyncio.sleep(float(rng.uniform(0.01, 0.06)))
            else:
                where = f"action {i}: {kind}"
                getattr(app, f"{kind}_button").click()
            await asyncio.sleep(0)
            check_invariants(app, where)
            assert not escaped, f"{where}: {escaped}"
            assert not caught, f"{where}: numpy warned: {[str(w.message) for w in caught]}"
        app.pause_button.click()
        await asyncio.sleep(0)
        check_invariants(app, "the end")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(walk())
    assert not app.running


def test_variance_app_random_walk_over_every_control():
    from explorer.apps.variance import VarianceApp, parse_widths

    app = VarianceApp()
    rng = np.random.default_rng(6)
    knobs = controls(app)
    app.depth.value, app.width.value = 4, 16  # quick: a walk changes one control at a time from here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        walk_variance_app(app, knobs, rng, parse_widths)
    assert not caught, [str(w.message) for w in caught]


def walk_variance_app(app, knobs, rng, parse_widths) -> None:
    for i in range(14):
        key = list(knobs)[rng.integers(len(knobs))]
        value = random_value(knobs[key], rng)
        if key == "depth" and value > 30:
            value = app.depth.max if i == 5 else 12  # the deepest network once: 10 seconds of compute
        knobs[key].value = value
        where = f"action {i}: {key} = {value!r}"
        check_message(app, where)
        if app.message.value == "":  # every panel drawn for the current controls
            fwd = app.figure.trace("fwd_meas")
            assert len(fwd.x) == len(fwd.y) == app.depth.value, where
            widths = app.figure.trace("w_fwd_pred_fan_in")
            assert len(widths.x) == len(parse_widths(app.widths.value)) - 1, where


# ---------------------------------------------------------------------------------------------
# A setting changed during training stops the old run at once (the issue asks within 200 ms).

SETTING = {"ThreeLayerApp": ("noise", 0.2), "NineLayerApp": ("noise", 0.2),
           "HistogramsApp": ("learning_rate", 0.05), "DigitsMLPApp": ("learning_rate", 0.05),
           "ZooApp": ("learning_rate", 0.05)}
SETTING["IsometryApp"] = ("learning_rate", 0.05)


def test_changing_a_setting_during_training_stops_the_old_run_and_starts_clean(app):
    """The change itself stops the old run: its handler pauses first (the generation moves on, the task is
    cancelled), so the old loop cannot take another slice whatever the load of the machine, and its task is
    done at the kernel's next turn. Then the new run is built from the controls and shown at step 0."""
    key, value = SETTING[type(app).__name__]
    control = getattr(app, key)
    before = control.value
    app.reset()
    paused_at = []

    def stop(*args, **kwargs):
        paused_at.append(time.perf_counter())
        return type(app).stop(app, *args, **kwargs)

    async def change_during_training():
        app.train_button.click()
        await asyncio.sleep(0.3)
        old_task, old_trainer = app.task, app.trainer
        assert app.running and old_trainer.step > 0
        app.stop = stop
        changed = time.perf_counter()
        control.value = value  # the kernel handles the change between two slices of training
        returned = time.perf_counter()
        steps_at_change = old_trainer.step
        await asyncio.sleep(0)  # the kernel's next turn
        done_next_turn = old_task.done()
        await asyncio.sleep(0.1)
        within = bool(paused_at) and changed <= paused_at[0] <= returned
        return done_next_turn, old_trainer.step - steps_at_change, within, paused_at[0] - changed, old_trainer

    try:
        done_next_turn, later_steps, within, stopped, old_trainer = asyncio.run(change_during_training())
        # The stop is part of handling the change itself (not left to the loop), so it takes the handler's time,
        # microseconds here, far under the 200 ms; timing itself is for benchmarks, so it is printed.
        print(f"[{type(app).__name__}] old run stopped {1e3 * stopped:.3f} ms after the change")
        assert within, "the old run was not stopped while the change was handled"
        assert done_next_turn and later_steps == 0  # not one step more after the change
        assert app.trainer is not old_trainer and app.trainer.step == app.snapshot.step == 0
        assert not app.running and app.progress.value == 0 and lr_of(app) == app.learning_rate.value
        AGREES[type(app).__name__](app)  # the figure shows the new run's step 0
    finally:
        vars(app).pop("stop", None)
        control.value = before


# ---------------------------------------------------------------------------------------------
# An error nobody foresaw (a failed allocation, a bug) is still a message next to the controls.


FAULTS = {  # what an unforeseen failure while building a run may look like, and the text to be shown
    "out of memory": (MemoryError("Unable to allocate 7.45 GiB for an array"), "Unable to allocate"),
    "a bug": (KeyError("boundary"), "boundary"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_unexpected_error_while_applying_a_control_is_shown_and_the_app_recovers(app, fault):
    key, value = SETTING[type(app).__name__]
    control = getattr(app, key)
    before = control.value
    error, shown = FAULTS[fault]

    def fail():
        raise error

    app.make_trainer = fail  # the next reset fails
    try:
        control.value = value  # must not raise into the widget's event handler (a traceback in the page)
        assert shown in app.message.value and app.trainer is None
        assert app.train_button.disabled and app.step_button.disabled and not app.running
    finally:
        del app.make_trainer
        control.value = before
    assert app.message.value == "" and app.trainer.step == 0  # usable again as soon as the input is


def test_an_unexpected_error_during_training_is_shown_and_the_app_recovers(app):
    app.reset()
    calls = 0

    def record_then_fail(snap):
        nonlocal calls
        calls += 1
        if calls > 3:
            raise FloatingPointError("overflow encountered in multiply")
        type(app).record(app, snap)

    async def train():
        app.train_button.click()
        for _ in range(100):
            await asyncio.sleep(0.02)
            if not app.running:
                break
        return len(running_tasks())

    app.record = record_then_fail
    try:
        assert asyncio.run(train()) == 0
        assert not app.running and "overflow encountered" in app.message.value
        check_message_format(app)
    finally:
        del app.record
    app.reset()
    app.step_button.click()
    assert app.message.value == "" and app.trainer.step == app.every


def check_message_format(app) -> None:
    text = app.message.value
    assert 'class="explorer-error"' in text and "Traceback" not in text and 'File "' not in text


@pytest.mark.parametrize("module, name", [APPS[2], APPS[3]], ids=[APPS[2][1], APPS[3][1]])
def test_broken_mnist_files_are_a_message_and_the_built_in_digits_still_work(module, name, tmp_path, monkeypatch):
    images = np.zeros((20, 28, 28), dtype=np.uint8)
    datasets.write_idx(tmp_path / "train-images-idx3-ubyte", images)
    datasets.write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(20, dtype=np.uint8))
    datasets.write_idx(tmp_path / "t10k-images-idx3-ubyte", images[:5])
    with open(tmp_path / "t10k-labels-idx1-ubyte", "wb") as f:
        f.write(b"\0\0\x08\x01\0\0\0\x05\0\0")  # 2 of its 5 labels: truncated
    monkeypatch.setenv("EXPLORER_MNIST", str(tmp_path))
    app = getattr(importlib.import_module(module), name)()
    app.dataset.value = "mnist"
    assert "t10k-labels-idx1-ubyte" in app.message.value and "truncated" in app.message.value
    assert app.trainer is None and app.train_button.disabled
    check_message_format(app)
    app.dataset.value = "digits"
    assert app.message.value == "" and app.trainer.net.sizes[0] == 64


# ---------------------------------------------------------------------------------------------
# Overflow from a too-large start is part of the lesson: diverged at its step, no numpy warnings.


def test_overflow_marks_the_run_diverged_at_its_step_without_warnings():
    """W = 2 I in ten linear layers at lr 0.5: the cost grows until it overflows. With no threshold but
    finiteness, the step where it overflows is the step the run is marked diverged."""
    data = datasets.toy("moons", 300, 0.3, seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = Network([2] * 10 + [1], hidden="linear", init=initializers.identity(2.0), seed=0)
        trainer = Trainer(net, data.X, data.y, lr=0.5, diverge_above=math.inf)
        snaps = list(trainer.snapshots(every=1, steps=100))
    assert caught == [], [str(w.message) for w in caught]
    k = int(snaps[-1].diverged_at[0])
    assert 0 < k < 100
    costs = [s.cost[0] for s in snaps]
    assert np.all(np.isfinite(costs[:k])) and not np.isfinite(costs[k])  # finite up to the overflow
    assert snaps[k].step == k and snaps[-1].step <= k + 1  # the run ends there
    assert np.isfinite(net.params).all()  # the diverged model is frozen at its last finite weights


def test_a_blow_up_in_an_app_ends_the_curve_at_its_step_without_warnings():
    from explorer.apps.nine_layer import NineLayerApp

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = NineLayerApp()
        app.init.value, app.alpha.value, app.learning_rate.value = "alpha", 2.0, 0.5
        app.run(200)
    assert caught == [], [str(w.message) for w in caught]
    snap = app.snapshot
    k = int(snap.diverged_at[0])
    assert k > 0 and app.finished and app.message.value == ""
    x, y = np.asarray(app.figure.data[0].x), np.asarray(app.figure.data[0].y, dtype=float)
    assert x[-1] == snap.step and np.all(np.isfinite(y[x < k]))  # the cost up to the blow-up is drawn
    assert f"blew up at step {k}" in app.status.value


def test_a_cost_beyond_float32_is_drawn_without_warnings():
    """The digits app sends its curves as float32; a blow-up's cost of 1e89 does not fit there."""
    from explorer.apps.digits_mlp import DigitsMLPApp

    app = DigitsMLPApp()
    app.learning_rate.value = 1e30
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app.step_button.click()
    assert caught == [], [str(w.message) for w in caught]
    he_train_cost = np.asarray(app.figure.data[2].y, dtype=float)
    assert he_train_cost[-1] > 1e38 and app.snapshot.diverged.all() and app.message.value == ""


# ---------------------------------------------------------------------------------------------
# make_trainer builds a trainer and changes no widget: what a control shows follows the control's own change
# handler, what describes a run follows start_run.


def shown_widgets(app) -> list[widgets.Widget]:
    """Every widget an app holds or shows, at any depth, with their layouts and styles."""
    found: dict[int, widgets.Widget] = {}
    stack = [value for value in vars(app).values() if isinstance(value, widgets.Widget)]
    while stack:
        widget = stack.pop()
        if id(widget) in found:
            continue
        found[id(widget)] = widget
        for name in widget.keys:
            value = getattr(widget, name)
            stack.extend(value if isinstance(value, (list, tuple)) else [value])
            stack = [item for item in stack if isinstance(item, widgets.Widget)]
    return list(found.values())


def widget_states(app) -> dict[int, str]:
    """Each widget's synced state as text (arrays and binary buffers written out in full)."""
    def plain(value):
        if isinstance(value, (bytes, memoryview)):
            return bytes(value).hex()
        return value.tolist() if hasattr(value, "tolist") else repr(value)

    return {id(w): json.dumps(w.get_state(), default=plain, sort_keys=True) for w in shown_widgets(app)}


@pytest.mark.parametrize(("module", "name"), APPS, ids=[name for _, name in APPS])
def test_make_trainer_changes_no_widget(module, name):
    app = getattr(importlib.import_module(module), name)()
    for widget in shown_widgets(app):  # what a make_trainer that set widgets would overwrite
        if isinstance(widget, widgets.HTML):
            widget.value = "<i>before make_trainer</i>"
        if hasattr(widget, "disabled") and not isinstance(widget, widgets.Button):
            widget.disabled = not widget.disabled
        if isinstance(widget, widgets.Layout):
            widget.display = "flex"
    before = widget_states(app)
    trainer = app.make_trainer()
    assert isinstance(trainer, Trainer)
    after = widget_states(app)
    changed = [type(w).__name__ for w in shown_widgets(app) if before.get(id(w)) != after.get(id(w))]
    assert not changed, f"{name}.make_trainer changed {changed}"
