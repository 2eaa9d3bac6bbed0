"""LSUV (Mishkin & Matas 2015): orthonormal start, then each layer rescaled on data to unit output variance."""

import numpy as np
import pytest

from explorer import datasets
from explorer.initializers import LSUVLayer, lsuv
from explorer.network import Network


def digits_batch(m: int = 300) -> np.ndarray:
    X = datasets.standardize(datasets.digits().X)[0]
    return X[:m]


def layer_variances(net: Network, X: np.ndarray) -> np.ndarray:
    """Var(Z^[l]) over batch and units, per layer and model: (L, K). Computed here from the forward pass."""
    fwd = net.forward(X)
    return np.array([z.reshape(net.K, -1).var(axis=1) for z in fwd.Z])


@pytest.mark.parametrize("hidden", ["tanh", "relu", "linear", "sigmoid"])
def test_every_layer_output_has_unit_variance_after_lsuv(hidden):
    X = digits_batch()
    net = Network([64, 50, 40, 30, 10], hidden=hidden, output="softmax", seed=[3, 4])
    before = layer_variances(net, X)
    report = lsuv(net, X)
    after = layer_variances(net, X)
    assert np.all(np.abs(after - 1) < 0.1), after
    assert not np.all(np.abs(before - 1) < 0.1)  # the network's own start was not already there
    assert [r.layer for r in report] == [1, 2, 3, 4]
    assert all(isinstance(r, LSUVLayer) and r.converged.all() for r in report)
    np.testing.assert_allclose([r.variance_after for r in report], after, rtol=1e-12)


def test_a_tighter_tolerance_is_met_too():
    X = digits_batch()
    net = Network([64, 32, 32, 1], hidden="tanh", output="sigmoid", seed=1, bias_init=_constant(0.3))
    lsuv(net, X, tol=1e-3, max_rounds=50)
    assert np.all(np.abs(layer_variances(net, X) - 1) < 1e-3)


def _constant(value):
    from explorer.initializers import constant

    return constant(value)


def test_the_start_is_orthonormal_and_each_layer_is_only_rescaled():
    X = digits_batch()
    net = Network([64, 40, 50, 10], hidden="tanh", output="softmax", seed=0)
    report = lsuv(net, X)
    for r, W in zip(report, net.W, strict=True):
        n_out, n_in = W.shape[1:]
        w = W[0] / r.scale[0]  # the first draw, before any rescaling
        gram = w @ w.T if n_out <= n_in else w.T @ w
        np.testing.assert_allclose(gram, np.eye(min(n_out, n_in)), atol=1e-12)


def test_with_zero_biases_one_rescaling_gives_variance_one_exactly():
    """Z^[l] is proportional to W^[l] when b = 0, so W / sqrt(v) gives Var(Z) = 1 up to rounding."""
    X = digits_batch()
    net = Network([64, 30, 30, 10], hidden="relu", output="softmax", seed=2)
    report = lsuv(net, X)
    for r in report:
        assert r.rounds[0] <= 1
        np.testing.assert_allclose(r.variance_after, 1.0, rtol=1e-10)
        np.testing.assert_allclose(r.scale, 1 / np.sqrt(r.variance_before), rtol=1e-12)


def test_it_stops_after_max_rounds_when_the_target_cannot_be_reached():
    """Biases spread over (-3, 3) give Var(Z) >= Var(b) ~ 3 whatever W is: LSUV gives up after max_rounds."""
    X = digits_batch()
    net = Network([64, 20, 1], hidden="tanh", output="sigmoid", seed=0, bias_init="normal")
    net.b[0][...] = np.linspace(-3, 3, 20)
    calls = 0
    forward = net.forward

    def counting_forward(x):
        nonlocal calls
        calls += 1
        return forward(x)

    net.forward = counting_forward
    report = lsuv(net, X, max_rounds=4)
    assert report[0].rounds[0] == 4 and not report[0].converged[0]
    assert abs(report[0].variance_after[0] - 1) >= 0.1
    assert calls <= 2 * (1 + 4)  # layer 1: first look plus one per round; layer 2 the same at most


def test_a_stack_is_the_same_as_its_models_alone():
    X = digits_batch()
    stack = Network([64, 30, 20, 10], hidden="tanh", output="softmax", seed=[5, 6])
    lsuv(stack, X)
    for k, seed in enumerate([5, 6]):
        alone = Network([64, 30, 20, 10], hidden="tanh", output="softmax", seed=seed)
        lsuv(alone, X)
        for W_stack, W_alone in zip(stack.W, alone.W, strict=True):
            np.testing.assert_array_equal(W_stack[k], W_alone[0])


def test_same_seed_same_weights_and_the_seed_matters():
    X = digits_batch()
    nets = [Network([64, 20, 10], hidden="tanh", output="softmax") for _ in range(3)]
    lsuv(nets[0], X, seed=7)
    lsuv(nets[1], X, seed=7)
    lsuv(nets[2], X, seed=8)
    np.testing.assert_array_equal(nets[0].W[0], nets[1].W[0])
    assert not np.allclose(nets[0].W[0], nets[2].W[0])


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"tol": 0}, ValueError, "tol"),
        ({"tol": -0.1}, ValueError, "tol"),
        ({"tol": float("nan")}, ValueError, "tol"),
        ({"tol": "0.1"}, TypeError, "tol"),
        ({"max_rounds": 0}, ValueError, "max_rounds"),
        ({"max_rounds": 2.5}, ValueError, "max_rounds"),
        ({"max_rounds": True}, ValueError, "max_rounds"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": [1, 2, 3]}, ValueError, "seed"),
    ],
)
def test_bad_arguments_are_refused_with_their_name(kwargs, error, words):
    net = Network([64, 10, 1], hidden="tanh", seed=0)
    W = net.W[0].copy()
    with pytest.raises(error, match=words):
        lsuv(net, digits_batch(), **kwargs)
    np.testing.assert_array_equal(net.W[0], W)  # refused before touching the weights


def test_bad_networks_and_data_are_refused():
    net = Network([64, 10, 1], hidden="tanh", seed=0)
    with pytest.raises(TypeError, match="net"):
        lsuv(object(), digits_batch())
    with pytest.raises(ValueError, match="X"):
        lsuv(net, np.ones(64))
    with pytest.raises(ValueError, match="X"):
        lsuv(net, np.ones((1, 64)))
    X = digits_batch()
    X[3, 5] = np.nan
    with pytest.raises(ValueError, match="X"):
        lsuv(net, X)
