"""What every live demo promises, whatever it draws: Train, Pause, Step and Reset in any order leave one
training loop at most, and the figure and progress follow the engine."""

import asyncio
import importlib

import numpy as np
import pytest

APPS = [
    ("explorer.apps.three_layer", "ThreeLayerApp"),
    ("explorer.apps.nine_layer", "NineLayerApp"),
    ("explorer.apps.histograms", "HistogramsApp"),
    ("explorer.apps.digits_mlp", "DigitsMLPApp"),
]


@pytest.fixture(scope="module", params=APPS, ids=[name for _, name in APPS])
def app(request):
    module, name = request.param
    app = getattr(importlib.import_module(module), name)()
    app.use_ack_gate = False  # no browser here to acknowledge redraws
    return app


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


def test_random_presses_keep_one_loop_and_a_consistent_state(app):
    rng = np.random.default_rng(0)
    actions = ["train", "pause", "step", "reset", "wait"]

    async def walk():
        for _ in range(25):
            action = actions[rng.integers(len(actions))]
            if action == "wait":
                await asyncio.sleep(0.05)
            else:
                getattr(app, f"{action}_button").click()
            await asyncio.sleep(0)
            assert len(running_tasks()) <= 1
            assert app.running == (len(running_tasks()) == 1)
            assert app.snapshot.step <= app.trainer.step
            assert app.message.value == "", app.message.value
        app.pause_button.click()

    app.reset()
    asyncio.run(walk())
    assert not app.running


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
