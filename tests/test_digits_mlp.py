"""The second source's MLP (here 64-100-100-10, ReLU, softmax) on the built-in digits, four initializations stacked."""

import math

import numpy as np
import pytest

from explorer import datasets, initializers
from explorer.network import Network
from explorer.training import Trainer

EPOCHS = 12


@pytest.fixture(scope="module")
def run():
    data = datasets.digits()
    train, test = datasets.train_test_split(data, 0.25, seed=0)
    x_train, x_test = datasets.standardize(train.X, test.X)
    inits = [initializers.he_normal(), initializers.xavier_normal(), initializers.normal(0.01), initializers.zeros()]
    net = Network([64, 100, 100, 10], hidden="relu", output="softmax", init=inits, seed=0)
    steps_per_epoch = math.ceil(len(train) / 100)
    trainer = Trainer(net, x_train, train.y, lr=0.1, batch_size=100, seed=0, evaluate={"test": (x_test, test.y)})
    snaps = list(trainer.snapshots(every=steps_per_epoch, steps=EPOCHS * steps_per_epoch))
    return snaps, test


def test_he_reaches_95_percent_on_held_out_digits(run):
    snaps, _ = run
    accuracy = np.array([s.evaluation["test"][1][0] for s in snaps])
    assert accuracy[-1] >= 0.95, accuracy
    assert accuracy[0] < 0.3  # it is learned, not there from the start


def test_zero_start_stays_at_chance(run):
    snaps, test = run
    most_common = np.bincount(test.y).max() / len(test)  # the best a constant guess can do
    for s in snaps:
        cost, accuracy = s.evaluation["test"][0][3], s.evaluation["test"][1][3]
        assert accuracy <= most_common + 1e-12
        assert cost == pytest.approx(math.log(10), abs=0.02)  # it never moves far from a uniform guess
    assert snaps[-1].a_std[0, 3] == 0  # every hidden unit outputs exactly zero


def test_he_beats_a_tiny_start(run):
    snaps, _ = run
    he, tiny = snaps[-1].evaluation["test"][1][[0, 2]]
    assert he > tiny + 0.3  # 0.01 randn: the signal dies out over two layers and learning crawls
