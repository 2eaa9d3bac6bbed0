"""The width-transfer app without a browser: the coordinate check drawn from the engine's numbers, the sweep run on
the event loop with its progress and Cancel, stored and read back, and bad settings shown as a message."""

from __future__ import annotations

import asyncio
import dataclasses

import numpy as np
import pytest

from explorer import mup
from explorer.apps.mup import COORD_STEPS, WIDTHS, WidthTransferApp

SMALL = mup.TransferConfig(log2_lr=(-2.0, -1.0), steps=10, examples=64, batch_size=32)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def app(cache):
    return WidthTransferApp(cache_dir=cache, base=SMALL)


def values(trace, key="y"):
    return np.asarray(getattr(trace, key), dtype=float)


def test_the_coordinate_check_shows_the_engines_numbers(app):
    check = mup.coordinate_check("sp", WIDTHS["64-512"], log2_lr=-3.0, steps=COORD_STEPS)
    for l in range(3):
        assert np.allclose(values(app.figure.trace(f"coord_{l}")), np.round(check.rms[:, 1, l], 5))
        assert np.allclose(values(app.figure.trace(f"coord0_{l}")), np.round(check.rms[:, 0, l], 5))
    assert app.figure.trace("coord_2").name == "output logits"
    assert "SP" in app.figure.layout.annotations[3].text and "p = " in app.status.value
    app.parametrization.value = "mup"
    try:
        mu = mup.coordinate_check("mup", WIDTHS["64-512"], log2_lr=-3.0, steps=COORD_STEPS)
        assert np.allclose(values(app.figure.trace("coord_2")), np.round(mu.rms[:, 1, 2], 5))
        assert "μP" in app.figure.layout.annotations[3].text
    finally:
        app.parametrization.value = "sp"


def test_before_a_run_the_panels_are_empty_and_say_so(app):
    assert app.result is None and "Not computed yet" in app.sweep_status.value
    assert all(not app.figure.trace(f"sp_w{i}").visible for i in range(4))


def test_run_trains_on_the_loop_then_the_cache_answers(app, cache):
    config = app.config()
    assert config == dataclasses.replace(SMALL, widths=WIDTHS["64-512"], log2_lr=(-2.0, -1.0), steps=app.steps.value)

    async def press():
        app.run_button.click()
        assert app.running and app.run_button.disabled and not app.cancel_button.disabled
        await app.task

    asyncio.run(press())
    stored = mup.cached_transfer_sweep(config, cache)
    assert stored is not None and app.result is not None and not app.result.from_cache
    for pi, p in enumerate(config.parametrizations):
        for wi in range(len(config.widths)):
            assert np.allclose(values(app.figure.trace(f"{p}_w{wi}")), np.round(stored.loss[pi, wi], 5),
                               equal_nan=True)
        best = stored.best_log2_lr()[pi]
        assert np.allclose(values(app.figure.trace(f"best_{p}")), best, equal_nan=True)
    assert app.progress.value == app.progress.max and not app.running and not app.run_button.disabled
    again = WidthTransferApp(cache_dir=cache, base=SMALL)  # a new view of the same settings: the stored sweep
    assert again.result is not None and again.result.from_cache and "cache" in again.sweep_status.value


def test_cancel_stops_the_sweep_and_stores_nothing(app, cache):
    app.steps.value = 100  # not computed: Run would train

    async def press_then_cancel():
        app.run_button.click()
        await asyncio.sleep(0)  # one slice
        await asyncio.sleep(0)
        app.cancel_button.click()
        await asyncio.sleep(0)

    try:
        asyncio.run(press_then_cancel())
        assert not app.running and "Cancelled" in app.sweep_status.value
        assert mup.cached_transfer_sweep(app.config(), cache) is None
        assert not app.run_button.disabled and app.cancel_button.disabled
    finally:
        app.steps.value = SMALL.steps


def test_an_empty_rate_range_is_a_message_not_a_traceback(app):
    app.lr_min.value = -1
    app.lr_max.value = -3
    try:
        assert "range is empty" in app.message.value and app.run_button.disabled
    finally:
        app.lr_max.value = -1
        app.lr_min.value = -2
    assert app.message.value == "" and not app.run_button.disabled
