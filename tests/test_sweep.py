"""explorer.sweep: the cache, and the trainability map computed in process, on joblib workers and on Dask.

The numbers of the map are checked against runs made independently of the sweep (one network trained alone
with the same start), and every way of spreading the work must give them bit for bit.
"""

import dataclasses
import json
import math
import sys
import warnings

import numpy as np
import pytest

from explorer import initializers, sweep, theory
from explorer.network import Network
from explorer.training import Trainer

TINY = sweep.TrainabilityConfig(depths=(1, 3, 6), sigma_w2=(0.5, 1.76, 4.0), width=8, steps=12, examples=64,
                                batch_size=32)


# -- the cache ---------------------------------------------------------------------------------


def test_cache_key_is_canonical_and_covers_every_field():
    key = sweep.cache_key("trainability", TINY.as_dict())
    assert key == sweep.cache_key("trainability", dict(reversed(list(TINY.as_dict().items()))))
    assert key != sweep.cache_key("other", TINY.as_dict())
    changes = {"activation": "relu", "sigma_b2": 0.1, "sigma_w2": (0.5, 1.76), "depths": (1, 3), "width": 9,
               "dataset": "circles", "examples": 65, "steps": 13, "lr": 0.02, "optimizer": "adam",
               "batch_size": 31, "seed": 1}
    assert set(changes) == {f.name for f in dataclasses.fields(sweep.TrainabilityConfig)}
    keys = {sweep.cache_key("trainability", dataclasses.replace(TINY, **{k: v}).as_dict()) for k, v in changes.items()}
    assert len(keys) == len(changes) and key not in keys
    # ints and floats that mean the same number give the same key
    assert dataclasses.replace(TINY, sigma_w2=(0.5, 1.76, 4)).as_dict() == TINY.as_dict()


def test_cache_directory_order(tmp_path, monkeypatch):
    monkeypatch.delenv(sweep.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert sweep.cache_directory() == tmp_path / "xdg" / "explorer"
    monkeypatch.setenv(sweep.CACHE_ENV, str(tmp_path / "env"))
    assert sweep.cache_directory() == tmp_path / "env"
    assert sweep.cache_directory(tmp_path / "given") == tmp_path / "given"


def test_save_and_load_round_trip(tmp_path):
    config = {"a": 1, "b": [1.5, 2.5]}
    arrays = {"x": np.arange(6.0).reshape(2, 3), "flag": np.array([True, False])}
    assert sweep.load("k", config, tmp_path) is None
    sweep.save("k", config, arrays, tmp_path, extra={"seconds": 1.5})
    back = sweep.load("k", config, tmp_path)
    assert set(back) == {"x", "flag"} and np.array_equal(back["x"], arrays["x"]) and back["flag"].dtype == bool
    npz, meta = sweep.cache_paths("k", config, tmp_path)
    assert json.loads(meta.read_text())["seconds"] == 1.5
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]  # no temporary file left behind
    # a stored configuration that does not match (edited by hand) is not trusted
    meta.write_text(json.dumps({"kind": "k", "config": {"a": 2}}))
    assert sweep.load("k", config, tmp_path) is None
    meta.write_text("not json")
    assert sweep.load("k", config, tmp_path) is None


# -- the map -------------------------------------------------------------------------------------


def test_map_is_computed_once_then_read_from_the_cache(tmp_path):
    seen = []
    first = sweep.trainability_map(TINY, directory=tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert not first.from_cache and first.path.exists()
    assert seen == [(0, 9), (3, 9), (6, 9), (9, 9)]
    assert first.cost.shape == first.accuracy.shape == first.initial_cost.shape == (3, 3)
    stamp = first.path.stat().st_mtime_ns
    seen.clear()
    second = sweep.trainability_map(TINY, directory=tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert second.from_cache and seen == [(9, 9)]
    assert first.path.stat().st_mtime_ns == stamp  # not written again
    for name in ("cost", "accuracy", "initial_cost", "diverged"):
        assert np.array_equal(getattr(first, name), getattr(second, name), equal_nan=True)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    other = sweep.trainability_map(dataclasses.replace(TINY, seed=1), directory=tmp_path)
    assert not other.from_cache and len(list(tmp_path.glob("*.npz"))) == 2


def test_cache_false_writes_nothing(tmp_path):
    result = sweep.trainability_map(dataclasses.replace(TINY, depths=(1,)), directory=tmp_path, cache=False)
    assert result.path is None and not list(tmp_path.iterdir())


def test_a_cell_of_the_map_is_one_network_trained_alone():
    """Rebuild the run at (depth 3, sigma_w^2 = 1.76) by hand, as a single model, and train it."""
    result = sweep.trainability_map(TINY, cache=False)
    i, k, depth = 1, 1, 3
    X, y, output = sweep.task_data(TINY)
    net = Network([64] + [8] * depth + [10], hidden="tanh", output=output,
                  init=initializers.variance_scaling(1.76, "fan_in"),
                  bias_init=initializers.normal(math.sqrt(0.05)), seed=sweep.model_seeds(TINY, depth)[k])
    Y = np.eye(10)[y]
    initial = net.cost(X, Y)[0]
    Trainer(net, X, y, lr=TINY.lr, batch_size=32, seed=TINY.seed).run(TINY.steps)
    assert result.initial_cost[i, k] == pytest.approx(initial, rel=1e-12)
    assert result.cost[i, k] == pytest.approx(net.cost(X, Y)[0], rel=1e-9)
    assert result.accuracy[i, k] == pytest.approx(net.accuracy(net.predict(X), Y)[0])
    assert result.cost[i, k] < initial  # it did train


def test_joblib_workers_give_the_same_numbers():
    alone = sweep.trainability_map(TINY, cache=False)
    spread = sweep.trainability_map(TINY, cache=False, n_jobs=2)
    assert np.array_equal(alone.cost, spread.cost, equal_nan=True)
    assert np.array_equal(alone.accuracy, spread.accuracy, equal_nan=True)


def test_dask_client_gives_the_same_numbers():
    distributed = pytest.importorskip("distributed")  # in the test extra; the package itself never needs it
    alone = sweep.trainability_map(TINY, cache=False)
    seen = []
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        on_dask = sweep.trainability_map(TINY, cache=False, client=client, progress=lambda d, t: seen.append(d))
    assert np.array_equal(alone.cost, on_dask.cost, equal_nan=True)
    assert seen == [0, 3, 6, 9]


def test_diverged_runs_are_marked_not_hidden():
    config = dataclasses.replace(TINY, activation="relu", depths=(4,), sigma_w2=(1.0, 100.0), lr=1.0, steps=30)
    result = sweep.trainability_map(config, cache=False)
    assert result.diverged.shape == (1, 2)
    assert np.all(np.isnan(result.cost[result.diverged])) and np.all(np.isfinite(result.cost[~result.diverged]))
    assert result.diverged.any()


def test_toy_task_has_one_sigmoid_output():
    X, y, output = sweep.task_data(dataclasses.replace(TINY, dataset="moons"))
    assert X.shape == (64, 2) and output == "sigmoid" and set(np.unique(y)) == {0, 1}


def test_six_xi_c_line_is_the_theory():
    sw, line = sweep.xi_c_line(TINY, sigma_w2=[1.0, 3.0])
    assert np.allclose(line, 6 * theory.mean_field(np.array([1.0, 3.0]), 0.05, "tanh").xi_c, rtol=1e-3)


@pytest.mark.parametrize(
    "change",
    [{"activation": "sigmoid"}, {"dataset": "mnist"}, {"sigma_w2": ()}, {"sigma_w2": (1.0, -1.0)},
     {"depths": (0,)}, {"width": 0}, {"lr": float("nan")}, {"steps": -1}, {"optimizer": "lbfgs"}],
)
def test_bad_configuration_is_refused(change):
    with pytest.raises(ValueError):
        dataclasses.replace(TINY, **change)


def test_bad_n_jobs_is_refused():
    with pytest.raises(ValueError, match="n_jobs"):
        sweep.trainability_map(TINY, n_jobs=0, cache=False)


def test_in_the_browser_workers_or_a_client_give_way_to_this_process_with_a_note_and_no_joblib(monkeypatch):
    """A browser page (Pyodide) can start no worker process and reach no Dask cluster: the depths run one after
    another here, without joblib (a package the page would have to download), with a warning saying so, and the
    numbers are those of n_jobs=1."""
    from explorer import runtime

    alone = sweep.trainability_map(TINY, cache=False)
    monkeypatch.setattr(runtime, "IN_BROWSER", True)
    monkeypatch.setitem(sys.modules, "joblib", None)  # `import joblib` now raises ImportError
    for spread in (dict(n_jobs=2), dict(n_jobs=-1), dict(client=object())):
        seen = []
        with pytest.warns(RuntimeWarning, match="one after another in this page") as caught:
            here = sweep.trainability_map(TINY, cache=False, progress=lambda d, t, seen=seen: seen.append(d), **spread)
        assert ("a Dask client" if "client" in spread else f"n_jobs={spread['n_jobs']}") in str(caught[0].message)
        assert np.array_equal(alone.cost, here.cost, equal_nan=True) and seen == [0, 3, 6, 9]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # n_jobs=1: nothing to say
        assert np.array_equal(sweep.trainability_map(TINY, cache=False).cost, alone.cost, equal_nan=True)


def test_natively_the_workers_are_used_as_asked():
    from explorer import runtime

    client = object()
    assert runtime.workers(2, None) == (2, None, "") and runtime.workers(1, client) == (1, client, "")
