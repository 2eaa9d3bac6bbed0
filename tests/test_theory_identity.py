"""The deep linear chain started at W = alpha * I: the closed forms of theory.chain_scales against the engine.

For W^[l] = alpha * I, zero biases and linear hidden layers, the forward pass multiplies every example by
exactly alpha per layer, so these checks hold to rounding, not to a statistical tolerance.
"""

import math

import numpy as np
import pytest

from explorer import datasets, initializers, theory
from explorer.network import Network
from explorer.training import Trainer

L = 10
SIZES = [2] + [2] * (L - 1) + [1]
ALPHAS = (1.5, 0.5, 1.0, 0.8, 1.9)


@pytest.fixture(scope="module")
def data():
    d = datasets.toy("moons", 300, 0.3, seed=0)
    (X,) = datasets.standardize(d.X)
    return X, d.y


def identity_net(alpha, hidden="linear"):
    return Network(SIZES, hidden=hidden, output="sigmoid", init=initializers.identity(alpha), seed=0)


def root_mean_square(x):
    return math.sqrt(float(np.mean(x * x)))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_activations_grow_as_alpha_to_the_l(data, alpha):
    X, _ = data
    fwd = identity_net(alpha).forward(X)
    measured = np.array([root_mean_square(fwd.A[l]) for l in range(1, L)])
    assert measured / root_mean_square(X) == pytest.approx(theory.chain_scales(alpha, L).activations, rel=1e-12)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_backpropagated_gradient_grows_toward_the_input_as_alpha_to_the_L_minus_l(data, alpha):
    X, y = data
    net = identity_net(alpha)
    bwd = net.backward(net.forward(X), y)
    dz = bwd.dZ[-1][0, :, 0]  # dCost/dZ^[L], one number per example
    scales = theory.chain_scales(alpha, L).backprop
    for l in range(1, L):
        expected = np.column_stack([scales[l - 1] * dz, np.zeros_like(dz)])  # only the first unit gets gradient
        assert bwd.dA[l - 1][0] == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_weight_gradient_is_the_same_in_every_layer(data, alpha):
    X, y = data
    net = identity_net(alpha)
    bwd = net.backward(net.forward(X), y)
    dz = bwd.dZ[-1][0, :, 0]
    first_row = dz @ X  # dA^T x summed over the examples: the first row of every dW^[l], up to alpha^(L-1)
    scale = theory.chain_scales(alpha, L).weight_grads
    assert np.allclose(scale, alpha ** (L - 1))
    for l in range(1, L + 1):
        expected = np.zeros(net.shapes[l - 1][0])
        expected[0] = first_row
        expected[0] *= scale[l - 1]
        assert bwd.dW[l - 1][0] == pytest.approx(expected, rel=1e-12, abs=1e-300)


def test_it_is_not_alpha_to_the_L_minus_2(data):
    """W^[L] = alpha * eye(1, 2) carries a factor alpha too: dW scales as alpha^(L-1), checked across alphas."""
    X, y = data
    norms = {}
    for alpha in (0.5, 1.0):
        net = identity_net(alpha)
        bwd = net.backward(net.forward(X), y)
        norms[alpha] = np.linalg.norm(bwd.dW[3][0]) / np.linalg.norm(bwd.dZ[-1][0, :, 0] @ X)
    assert norms[0.5] / norms[1.0] == pytest.approx(0.5 ** (L - 1), rel=1e-12)


@pytest.mark.parametrize("alpha", (1.5, 0.5))
def test_snapshot_statistics_follow_the_chain(data, alpha):
    """What the nine-layer app plots: rms from a_mean and a_std, grad_std and grad_norm of the step-0 snapshot."""
    X, y = data
    snap = next(Trainer(identity_net(alpha), X, y, lr=0.02).snapshots())
    scales = theory.chain_scales(alpha, L)
    fwd = identity_net(alpha).forward(X)
    rms = theory.rms(snap.a_mean[:, 0], snap.a_std[:, 0])
    assert rms[: L - 1] == pytest.approx([root_mean_square(fwd.A[l]) for l in range(1, L)], rel=1e-12)
    assert rms[: L - 1] / rms[0] == pytest.approx(scales.activations / scales.activations[0], rel=1e-9)
    grad_std = snap.grad_std[: L - 1, 0]
    assert grad_std / grad_std[-1] == pytest.approx(scales.backprop / scales.backprop[-1], rel=1e-9)
    assert snap.grad_norm[:, 0] == pytest.approx(np.full(L, snap.grad_norm[0, 0]), rel=1e-9)


def test_tanh_breaks_the_chain(data):
    """The closed form is for linear layers: with tanh, 1.5 I saturates instead of exploding."""
    X, _ = data
    fwd = identity_net(1.5, hidden="tanh").forward(X)
    measured = np.array([root_mean_square(fwd.A[l]) for l in range(1, L)])
    assert measured.max() < 1  # |tanh| < 1, whereas the linear chain reaches 1.5^9 = 38
    assert measured[-1] / measured[0] < 2


def test_rms_is_exact_algebra():
    a = np.random.default_rng(0).normal(0.3, 2.0, size=(50, 7))
    assert theory.rms(a.mean(), a.std()) == pytest.approx(root_mean_square(a), rel=1e-12)
    assert theory.rms(np.array([-3.0, 0.0]), np.array([4.0, 0.0])) == pytest.approx([5.0, 0.0])


def test_layer_gain_of_named_initializers():
    xavier = initializers.xavier_normal().variance((2, 2))
    assert theory.layer_gain(2, xavier) == pytest.approx(1.0)
    assert theory.layer_gain(2, initializers.he_normal().variance((2, 2))) == pytest.approx(math.sqrt(2))
    assert theory.layer_gain(100, initializers.normal(0.1).variance((100, 100))) == pytest.approx(1.0)


def test_xavier_keeps_the_mean_square_on_average(data):
    """Over many random draws of a two-unit Xavier chain, the mean square of a^[l] stays that of the input.

    For one layer, |W x|^2 / |x|^2 is chi-squared with 2 degrees of freedom over 2: mean 1, variance 1, and
    independent from layer to layer, so after l layers the ratio has variance 2^l - 1.
    """
    X, y = data
    K = 3000
    net = Network(SIZES, hidden="linear", output="sigmoid", init=initializers.xavier_normal(), seed=list(range(K)))
    fwd = net.forward(X)
    gain = theory.layer_gain(2, initializers.xavier_normal().variance((2, 2)))
    for l in (1, 2, 3):
        mean_square = np.mean(fwd.A[l] ** 2, axis=(1, 2)) / np.mean(X**2)
        assert mean_square.mean() == pytest.approx(gain ** (2 * l), abs=5 * math.sqrt((2**l - 1) / K))


def test_matched_scales_to_one_layer():
    prediction = theory.chain_scales(2.0, 5).activations  # 2, 4, 8, 16
    measured = np.array([3.0, 5.0, 13.0, 25.0])
    assert theory.matched(prediction, measured, at=0) == pytest.approx([3.0, 6.0, 12.0, 24.0])
    assert theory.matched(prediction, measured, at=3) == pytest.approx([3.125, 6.25, 12.5, 25.0])
    assert np.isnan(theory.matched(prediction, np.array([np.nan, 1, 1, 1]), at=0)).all()
    assert np.isnan(theory.matched(prediction, np.zeros(4), at=2)).all()


def test_chain_scales_shapes_and_bad_depth():
    scales = theory.chain_scales(0.5, L)
    assert scales.activations.shape == scales.backprop.shape == (L - 1,)
    assert scales.weight_grads.shape == (L,)
    assert scales.activations[-1] == pytest.approx(0.5**9) and scales.backprop[0] == pytest.approx(0.5**9)
    with pytest.raises(ValueError, match="L="):
        theory.chain_scales(1.5, 1)
