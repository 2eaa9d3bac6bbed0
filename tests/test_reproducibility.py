"""Same settings, same numbers, bit for bit; every run records its configuration, seeds and version included.

For each live demo, two fresh app objects with the same settings train the same number of steps, and every
snapshot they take (costs, accuracies, weights, biases, gradients, probe outputs, histograms, evaluations)
must be byte for byte the same, as must the final weights. A different seed must change the numbers (for the
demos whose seed is a control), so the first check cannot pass by ignoring the seed. `trainer.config()`
records the run: the package version and every seed, as JSON.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest

import explorer

# (module, class, snapshots to take, name of its seed control or None)
APPS = [
    ("explorer.apps.three_layer", "ThreeLayerApp", 30, "seed"),
    ("explorer.apps.nine_layer", "NineLayerApp", 30, "seed"),
    ("explorer.apps.histograms", "HistogramsApp", 3, None),  # seeds fixed at 0 in the app
    ("explorer.apps.digits_mlp", "DigitsMLPApp", 3, None),  # seeds fixed at 0 in the app
]
IDS = [name for _, name, _, _ in APPS]
# Random starting weights, so that the seed matters: the demos' default starts are zeros (three-layer,
# whose weights then stay zero and whose cost stays ln 2 whatever the data) and alpha*I (nine-layer).
SETTINGS = {"ThreeLayerApp": {"init": "he"}, "NineLayerApp": {"init": "xavier"}}


def make(module: str, name: str, seed: int | None = None, seed_control: str | None = None):
    """A fresh app with SETTINGS applied (and `seed` in its seed control): each change resets its run."""
    app = getattr(importlib.import_module(module), name)()
    app.use_ack_gate = False
    for control, value in SETTINGS.get(name, {}).items():
        getattr(app, control).value = value
    if seed is not None:
        getattr(app, seed_control).value = seed
    return app


def arrays(snap) -> list[np.ndarray]:
    """Every number a snapshot holds, as arrays in a fixed order."""
    out = [np.asarray(snap.cost), np.asarray(snap.accuracy), np.asarray(snap.diverged_at)]
    for name in ("z_mean", "z_std", "a_mean", "a_std", "grad_std", "weight_norm", "grad_norm"):
        out.append(np.asarray(getattr(snap, name)))
    out += [*snap.weights, *snap.biases, *snap.weight_grads]
    for name in ("act_hist", "grad_hist", "batch", "output", "probe"):
        value = getattr(snap, name)
        if value is not None:
            out.append(np.asarray(value))
    for key in sorted(snap.evaluation):
        out += [np.asarray(v) for v in snap.evaluation[key]]
    return out


def fingerprint(app, snapshots: int) -> list[bytes]:
    """The bytes of the first snapshot and of `snapshots` more, then of the final weights and biases."""
    taken = [app.snapshot]
    for _ in range(snapshots):
        assert app.pull(1), "the run ended early"
        taken.append(app.snapshot)
    assert taken[-1].step > taken[0].step
    out = [a.dtype.str.encode() + a.tobytes() for snap in taken for a in arrays(snap)]
    net = app.trainer.net
    out += [np.ascontiguousarray(w).tobytes() for w in [*net.W, *net.b]]
    return out


@pytest.mark.parametrize(("module", "name", "snapshots", "seed_control"), APPS, ids=IDS)
def test_same_settings_same_numbers_bit_for_bit(module, name, snapshots, seed_control):
    first = fingerprint(make(module, name), snapshots)
    second = fingerprint(make(module, name), snapshots)
    assert len(first) == len(second)
    differing = [i for i, (a, b) in enumerate(zip(first, second, strict=True)) if a != b]
    assert not differing, f"{len(differing)} of {len(first)} arrays differ between two identical runs"


@pytest.mark.parametrize(("module", "name", "snapshots", "seed_control"),
                         [app for app in APPS if app[3]], ids=[app[1] for app in APPS if app[3]])
def test_a_different_seed_gives_different_numbers(module, name, snapshots, seed_control):
    base = make(module, name)
    default = getattr(base, seed_control).value
    same = fingerprint(base, snapshots)
    other = fingerprint(make(module, name, default + 1, seed_control), snapshots)
    assert same != other
    costs = lambda app: app.snapshot.cost  # noqa: E731
    assert not np.array_equal(costs(base), costs(make(module, name, default + 1, seed_control)))


@pytest.mark.parametrize(("module", "name", "snapshots", "seed_control"), APPS, ids=IDS)
def test_the_run_records_its_configuration(module, name, snapshots, seed_control):
    app = make(module, name)
    config = app.trainer.config()
    assert config["version"] == explorer.__version__
    K = app.trainer.net.K
    assert len(config["seeds"]) == K and all(isinstance(s, int) for s in config["seeds"])
    assert isinstance(config["batch_seed"], int)
    if seed_control:  # the seed the reader chose is the one recorded
        assert config["seeds"][0] == getattr(app, seed_control).value
        changed = make(module, name, getattr(app, seed_control).value + 5, seed_control).trainer.config()
        assert changed["seeds"] != config["seeds"]
    assert json.loads(json.dumps(config)) == config, "the configuration must be storable as JSON"
    assert make(module, name).trainer.config() == config, "same settings, same configuration"
