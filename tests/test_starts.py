"""The catalogue of labelled starts: every label names one distribution, and every start draws the variance its
label promises."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from explorer.initializers import Initializer
from explorer.starts import CATALOGUE

N_IN, N_OUT = 300, 200  # fan_in and fan_out differ, so 1/n_in, 1/n_out and 2/(n_in+n_out) are told apart
SCHEME_NAMES = ("Glorot", "Xavier", "LeCun", "He", "LSUV", "orthogonal", "identity", "truncated", "uniform", "typo",
                "zeros", "constant", "free scale", "standard normal", "backward rule")
PARAMETERS = {"v": 0.37, "gain": 5 / 3, "alpha": 1.5}  # a value for each start that takes one


def promised_variance(start, n_in: int, n_out: int) -> float:
    """The variance the start's formula gives, evaluated with nothing but the widths and its parameter."""
    names = {"n_in": n_in, "n_out": n_out, "max": max}
    if start.parameter:
        names[start.parameter] = PARAMETERS[start.parameter]
    return float(eval(start.variance, {"__builtins__": {}}, names))


def made(start) -> Initializer:
    return start.make(PARAMETERS[start.parameter]) if start.parameter else start.make()


def unquoted_names(label: str) -> set[str]:
    """The scheme names a label uses as its own: names in double quotes are what someone else calls the start."""
    own = re.sub(r'"[^"]*"', "", label)
    return {name for name in SCHEME_NAMES if re.search(rf"\b{re.escape(name)}\b", own)}


def test_keys_and_labels_are_unique():
    assert all(key == start.key for key, start in CATALOGUE.items())
    labels = [start.label for start in CATALOGUE.values()]
    assert len(set(labels)) == len(labels)


def test_one_name_never_means_two_variances():
    """Two starts whose labels use the same scheme name (outside quotes) promise the same variance, at widths
    where 1/n_in, 1/n_out and 2/(n_in + n_out) all differ. So 'Xavier' cannot be N(0, 1/n_in) in one place and
    N(0, 2/(n_in + n_out)) in another; the article's 'Xavier' is quoted."""
    by_name: dict[str, dict[str, float | None]] = {}
    for start in CATALOGUE.values():
        variance = None if start.variance is None else promised_variance(start, N_IN, N_OUT)
        for name in unquoted_names(start.label):
            by_name.setdefault(name, {})[start.key] = variance
    for name, variances in by_name.items():
        values = {v if v is None else round(v, 15) for v in variances.values()}
        assert len(values) == 1, f"{name!r} names different variances: {variances}"
    assert set(by_name["Xavier"]) == {"glorot_normal", "glorot_uniform"}
    assert by_name["LeCun"]["article_xavier"] == by_name["LeCun"]["lecun"] == pytest.approx(1 / N_IN)


def test_every_label_writes_its_variance():
    """The formula each start is checked against is the one its label shows."""

    def plain(text: str) -> str:
        return text.replace("**2", "²").replace("*", "").replace(" ", "")

    for start in CATALOGUE.values():
        if start.variance is not None:
            assert plain(start.variance) in plain(start.label), start.key


@pytest.mark.parametrize("key", [key for key, start in CATALOGUE.items() if start.variance is not None])
def test_each_start_draws_the_variance_its_label_promises(key):
    """Mean square over N = 60,000 weights against the label's formula. For a distribution of mean 0 and
    kurtosis at most 3 (normal 3, truncated normal and uniform less), the mean square has a standard error of at
    most sqrt(2 / N) times the variance; 5 standard errors allowed. Constant starts promise 0 and draw 0 spread."""
    start = CATALOGUE[key]
    init = made(start)
    W = init(np.random.default_rng(1), (N_OUT, N_IN))
    expected = promised_variance(start, N_IN, N_OUT)
    assert init.variance((N_OUT, N_IN)) == pytest.approx(expected, rel=1e-12)  # what the initializer promises
    if expected == 0:
        assert W.std() == 0
        return
    measured = float(np.mean(W * W))
    assert abs(measured - expected) < 5 * math.sqrt(2 / W.size) * expected, (key, measured, expected)


@pytest.mark.parametrize("key", [key for key, start in CATALOGUE.items() if start.rule is not None])
def test_scaled_multiplies_the_variance(key):
    start = CATALOGUE[key]
    for factor in (0.25, 4.0):
        assert start.scaled(factor).variance((N_OUT, N_IN)) == pytest.approx(
            factor * promised_variance(start, N_IN, N_OUT), rel=1e-12)


def test_starts_without_a_variance_are_not_random_draws_or_rescaled_later():
    assert CATALOGUE["identity"].make(1.5)(np.random.default_rng(0), (3, 3)) == pytest.approx(1.5 * np.eye(3))
    with pytest.raises(ValueError, match="not a variance-scaling rule"):
        CATALOGUE["identity"].scaled(2.0)


def test_the_free_scale_at_zero_is_all_zeros():
    assert not CATALOGUE["free_fan_in"].make(0.0)(np.random.default_rng(0), (4, 3)).any()
