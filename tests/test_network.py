"""Network: gradients against finite differences, stacking, exact signal growth, argument checks."""

import math

import numpy as np
import pytest

from explorer import initializers
from explorer.network import HIDDEN_ACTIVATIONS, Network, activate, loss_and_grad


def gaussian(std):
    return lambda rng, shape: std * rng.standard_normal(shape)


def data_for(net: Network, m: int = 7, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, net.sizes[0]))
    n_out = net.sizes[-1]
    if net.output == "sigmoid":
        Y = rng.integers(0, 2, (m, n_out)).astype(float)
    elif net.output == "softmax":
        Y = rng.integers(0, n_out, m)
    else:
        Y = rng.standard_normal((m, n_out))
    return X, Y


def numeric_gradient(net: Network, X, Y, eps: float = 1e-6) -> np.ndarray:
    """Central differences of each model's cost with respect to each of its parameters, laid out like
    net.params (entries that belong to no model, between the blocks of a packed layer, stay 0)."""
    grad = np.zeros_like(net.params)
    for p in np.flatnonzero(net.owner >= 0):
        k = net.owner[p]
        saved = net.params[p]
        net.params[p] = saved + eps
        up = net.cost(X, Y)
        net.params[p] = saved - eps
        down = net.cost(X, Y)
        net.params[p] = saved
        grad[p] = (up[k] - down[k]) / (2 * eps)
        others = np.arange(net.K) != k  # the models are independent: no other cost moves
        assert np.all(up[others] == down[others])
    return grad


def relative_error(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-12)


@pytest.mark.parametrize("layout", ["packed", "stacked"])
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("output, n_out", [("sigmoid", 1), ("sigmoid", 2), ("softmax", 4), ("linear", 3)])
def test_backward_matches_finite_differences(hidden, output, n_out, layout):
    inits = [gaussian(0.8), gaussian(0.5), gaussian(1.2)]  # K = 3 stacked models
    net = Network([3, 5, 4, n_out], hidden=hidden, output=output, init=inits, seed=[0, 1, 2],
                  bias_init=gaussian(0.3), layout=layout)
    X, Y = data_for(net)
    bwd = net.backward(net.forward(X), Y)
    assert relative_error(bwd.flat, numeric_gradient(net, X, Y)) < 1e-6
    assert np.allclose(bwd.cost, net.cost(X, Y), rtol=0, atol=0)


def test_backward_dA_matches_finite_differences():
    """dA^[l] is the gradient of the cost with respect to the activations of layer l."""
    net = Network([3, 4, 4, 2], hidden="tanh", output="softmax", init=gaussian(0.9), seed=3)
    X, Y = data_for(net)
    fwd = net.forward(X)
    bwd = net.backward(fwd, Y)
    Yh = net.check_targets(Y, len(X))

    def cost_from_layer1(a1):
        z2 = a1 @ net.W[1].transpose(0, 2, 1) + net.b[1][:, None, :]
        z3 = activate("tanh", z2) @ net.W[2].transpose(0, 2, 1) + net.b[2][:, None, :]
        return loss_and_grad("softmax", z3, Yh)[0]

    a1 = fwd.A[1].copy()
    numeric = np.zeros_like(a1)
    eps = 1e-6
    for index in np.ndindex(a1.shape):
        saved = a1[index]
        a1[index] = saved + eps
        up = cost_from_layer1(a1)
        a1[index] = saved - eps
        down = cost_from_layer1(a1)
        a1[index] = saved
        numeric[index] = (up - down)[index[0]] / (2 * eps)
    assert relative_error(bwd.dA[0], numeric) < 1e-6


def test_losses_are_stable_for_huge_logits():
    z = np.array([[[1e4], [-1e4], [800.0]]])
    y = np.array([[0.0], [1.0], [1.0]])
    cost, dz = loss_and_grad("sigmoid", z, y)
    assert np.isfinite(cost).all() and np.isfinite(dz).all()
    assert cost[0] == pytest.approx((1e4 + 1e4 + 0) / 3)
    zs = np.array([[[1e4, 0.0, -1e4]]])
    cost, dz = loss_and_grad("softmax", zs, np.array([[0.0, 1.0, 0.0]]))
    assert cost[0] == pytest.approx(1e4) and np.isfinite(dz).all()


def test_balanced_zero_start_costs_ln2():
    net = Network([2, 4, 1], hidden="relu", output="sigmoid", init="zeros")
    X = np.random.default_rng(0).standard_normal((10, 2))
    assert net.cost(X, np.arange(10) % 2)[0] == pytest.approx(math.log(2), abs=1e-15)


@pytest.mark.parametrize("alpha", [1.5, 0.5])
def test_identity_times_alpha_scales_signal_as_alpha_to_the_l(alpha):
    """Ten linear layers of two units with W = alpha I: a^[l] = alpha^l x, exactly."""
    net = Network([2] + [2] * 9 + [1], hidden="linear", output="sigmoid", init=initializers.identity(alpha))
    x = np.array([[0.3, -1.7], [2.0, 0.25]])
    fwd = net.forward(x)
    for l in range(1, 10):
        expected = alpha**l * np.abs(x)
        assert np.allclose(np.abs(fwd.A[l][0]), expected, rtol=1e-9, atol=0), l


@pytest.mark.parametrize("layout", ["packed", "stacked"])
def test_a_model_is_the_same_alone_or_in_a_stack(layout):
    X, Y = data_for(Network([3, 6, 1]), m=20)
    alone = Network([3, 6, 5, 1], init="xavier_normal", seed=7)
    stack = Network([3, 6, 5, 1], init=["he_normal", "xavier_normal", "zeros"], seed=[1, 7, 2], layout=layout)
    assert stack.layout == layout
    assert np.array_equal(alone.rows()[0], stack.rows()[1])
    g_alone = alone.rows(alone.backward(alone.forward(X), Y).flat)[0]
    g_stack = stack.rows(stack.backward(stack.forward(X), Y).flat)[1]
    assert np.allclose(g_alone, g_stack, rtol=1e-12, atol=1e-15)


def test_packed_and_stacked_layouts_compute_the_same():
    X, Y = data_for(Network([3, 6, 1]), m=20)
    nets = [Network([3, 6, 5, 1], hidden="tanh", init=["he_normal", "xavier_normal"], seed=[1, 7], layout=layout)
            for layout in ("packed", "stacked")]
    fwds = [net.forward(X) for net in nets]
    bwds = [net.backward(fwd, Y) for net, fwd in zip(nets, fwds, strict=True)]
    assert np.array_equal(nets[0].rows(), nets[1].rows())
    for a, b in zip(fwds[0].A[1:] + bwds[0].dA + bwds[0].dZ, fwds[1].A[1:] + bwds[1].dA + bwds[1].dZ, strict=True):
        assert a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=1e-15)
    assert np.allclose(nets[0].rows(bwds[0].flat), nets[1].rows(bwds[1].flat), rtol=1e-12, atol=1e-15)


def test_packed_layers_are_block_diagonal_and_their_gradients_too():
    net = Network([3, 4, 2, 1], init=["he_normal", "xavier_normal", "he_uniform"], seed=[1, 2, 3], layout="packed")
    X, Y = data_for(net, m=9)
    bwd = net.backward(net.forward(X), Y)
    for between, weights, grads in zip(net.between, net.weights, net.blocks(bwd.flat), strict=True):
        assert np.all(weights[between] == 0) and np.all(grads[between] == 0)
    assert net.between[0].sum() == 0  # the first layer: every model reads all inputs
    assert net.between[1].sum() == 3 * 2 * (3 * 4 + 1) - 3 * 2 * (4 + 1)  # all but the 3 diagonal blocks and biases


def test_same_seed_same_weights_different_seed_different():
    a = Network([4, 8, 1], init="he_normal", seed=5).params
    b = Network([4, 8, 1], init="he_normal", seed=5).params
    c = Network([4, 8, 1], init="he_normal", seed=6).params
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_float32_network_computes_in_float32():
    net = Network([2, 3, 1], init="he_normal", dtype="float32")
    fwd = net.forward(np.ones((4, 2)))
    assert net.params.dtype == np.float32 and fwd.output.dtype == np.float32


def test_weights_are_views_of_the_flat_buffer():
    net = Network([2, 3, 1], init="he_normal")
    net.params[:] = 0
    assert all(np.all(w == 0) for w in net.W)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(sizes=[2]), ValueError, "sizes"),
        (dict(sizes=[2, 0, 1]), ValueError, "sizes"),
        (dict(sizes=[2, 3.5, 1]), ValueError, "sizes"),
        (dict(sizes=5), TypeError, "sizes"),
        (dict(sizes=[2, 3, 1], hidden="swish"), ValueError, "swish.*valid: linear, relu"),
        (dict(sizes=[2, 3, 3, 1], hidden=["relu"]), ValueError, "hidden"),
        (dict(sizes=[2, 3, 1], output="tanh"), ValueError, "output='tanh'.*sigmoid"),
        (dict(sizes=[2, 3, 1], init="nope"), ValueError, "nope"),
        (dict(sizes=[2, 3, 1], init=3.0), TypeError, "init"),
        (dict(sizes=[2, 3, 1], seed=-1), ValueError, "seed=-1"),
        (dict(sizes=[2, 3, 1], init=["zeros", "he_normal"], seed=[1, 2, 3]), ValueError,
         "init has 2 entries but the stack has 3 models"),
        (dict(sizes=[2, 3, 1], dtype="int32"), ValueError, "dtype"),
        (dict(sizes=[100_000, 100_000, 1]), ValueError, "parameters"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        Network(**kwargs)


def test_bad_data_is_refused():
    net = Network([2, 3, 1])
    with pytest.raises(ValueError, match=r"X has shape \(4, 3\)"):
        net.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="Y has shape"):
        net.backward(net.forward(np.ones((4, 2))), np.ones(5))
    soft = Network([2, 3, 3], output="softmax")
    with pytest.raises(ValueError, match="labels outside 0..2"):
        soft.check_targets(np.array([0, 3]), 2)
