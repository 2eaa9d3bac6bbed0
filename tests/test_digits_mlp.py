"""The second source's MLP (64-100-100-10, ReLU, softmax) on the built-in digits, its starts stacked: the
session's digits run (tests/conftest.py), trained once for these facts and the digits demo's."""

import math

import numpy as np
import pytest

EPOCHS = 12


@pytest.fixture(scope="module")
def run(digits_run):
    """The session's digits run (tests/conftest.py: the digits demo's network and starts, 12 epochs at learning
    rate 0.1, the same batches for every start) at each epoch: steps 0, 14, ..., 168. Models 0-3: He, Xavier,
    0.01·randn, zeros."""
    snaps = digits_run.snapshots[::2]
    assert len(snaps) == EPOCHS + 1 and snaps[-1].step == 168
    assert digits_run.app.trainer.net.sizes == [64, 100, 100, 10]
    return snaps, digits_run.data.y_test


def test_he_reaches_95_percent_on_held_out_digits(run):
    snaps, _ = run
    accuracy = np.array([s.evaluation["test"][1][0] for s in snaps])
    assert accuracy[-1] >= 0.95, accuracy
    assert accuracy[0] < 0.3  # it is learned, not there from the start


def test_zero_start_stays_at_chance(run):
    snaps, test_y = run
    most_common = np.bincount(test_y).max() / len(test_y)  # the best a constant guess can do
    for s in snaps:
        cost, accuracy = s.evaluation["test"][0][3], s.evaluation["test"][1][3]
        assert accuracy <= most_common + 1e-12
        assert cost == pytest.approx(math.log(10), abs=0.02)  # it never moves far from a uniform guess
    assert snaps[-1].a_std[0, 3] == 0  # every hidden unit outputs exactly zero


def test_he_beats_a_tiny_start(run):
    snaps, _ = run
    he, tiny = snaps[-1].evaluation["test"][1][[0, 2]]
    assert he > tiny + 0.3  # 0.01 randn: the signal dies out over two layers and learning crawls
