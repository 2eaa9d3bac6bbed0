"""The paper reproductions hold their papers' qualitative claims, measured, and match closed forms where
one exists (the linear regime of tanh, the Gaussian tail of a saturated unit, the mean-field recursion)."""

import math

import numpy as np
import pytest

from explorer import reproductions as rep
from explorer.reproductions import ZOO, zoo_initializer, zoo_network

# -- Glorot & Bengio (2010) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def glorot():
    return rep.glorot_bengio(width=128, m=256, seeds=(0, 1, 2))


def test_glorot_standard_gradients_shrink_towards_the_input_much_more_than_normalized(glorot):
    shrink = glorot.gradient_shrink()  # (standard/normalized, seeds): std at layer 1 / std at layer 5
    standard, normalized = shrink[glorot.inits.index("standard")], shrink[glorot.inits.index("normalized")]
    assert standard.max() < 0.5 * normalized.min()
    assert standard.max() < 0.2  # about sqrt(1/3)^4 = 0.11, less the tanh slopes


def test_glorot_standard_top_layers_follow_the_linear_regime_rule(glorot):
    """Near the top the activations are small, tanh' ~ 1, and Var(dz^[l]) = n Var(W) Var(dz^[l+1]) with
    n Var(W) = n / (3 n) = 1/3: each layer down divides the gradient's std by sqrt(3)."""
    s = glorot.grad_std[glorot.inits.index("standard")]  # (seeds, layers)
    ratio = (s[:, -2] / s[:, -1]).mean()
    assert ratio == pytest.approx(math.sqrt(1 / 3), rel=0.08)


def test_glorot_standard_activations_narrow_going_up_normalized_much_less(glorot):
    a = glorot.activation_shrink()
    assert a[glorot.inits.index("standard")].max() < 0.5 * a[glorot.inits.index("normalized")].min()
    # The peak at 0 of the activation histogram grows layer after layer under the standard start.
    hist = glorot.act_hist[glorot.inits.index("standard")]
    centre = len(glorot.act_edges) // 2 - 1
    peak = hist[:, centre - 1 : centre + 2].sum(axis=1)
    assert np.all(np.diff(peak) > 0)
    np.testing.assert_allclose(glorot.act_hist.sum(axis=2), 1.0, atol=1e-12)  # tanh stays within [-1, 1]


def test_glorot_initializers_have_the_papers_variances():
    assert rep.glorot_initializer("standard").variance((20, 50)) == pytest.approx(1 / (3 * 50))
    assert rep.glorot_initializer("normalized").variance((20, 50)) == pytest.approx(2 / 70)
    with pytest.raises(ValueError, match="standard"):
        rep.glorot_initializer("xavier")


# -- He et al. (2015) --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain():
    return rep.he_plain_relu(depth=30, width=32, steps=300, seeds=(0, 1), every=20)


def test_he_trains_a_30_layer_plain_relu_network_while_xavier_stalls(plain):
    drop = plain.cost_drop()
    xavier, he = drop[plain.inits.index("xavier")], drop[plain.inits.index("he")]
    assert np.all(np.abs(xavier) < 0.02)  # stays at ln(10) = 2.303: the output sees almost nothing
    assert np.all(he > 0.3)
    assert np.allclose(plain.cost[plain.inits.index("xavier"), :, 0], math.log(10), atol=0.01)


def test_xavier_halves_the_second_moment_per_relu_layer(plain):
    """Var(W) = 1/n and ReLU keeps half of E[z^2]: a^[l] loses about a factor sqrt(2) of its size per layer,
    2^-14 after 29 layers; He's 2/n keeps it. Finite width makes the product fluctuate: compare in decades."""
    x = plain.act_std[plain.inits.index("xavier")][:, -1]
    h = plain.act_std[plain.inits.index("he")][:, -1]
    assert np.all(x < 1e-3) and np.all(h / x > 100)


# -- cs231n ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tanh10():
    return rep.cs231n_tanh(layers=10, width=500, m=200, seed=0)


def row(result, name):
    return result.inits.index(name)


def test_cs231n_small_weights_collapse_geometrically(tanh10):
    std = tanh10.std[row(tanh10, "0.01")]
    assert std[-1] < 1e-6
    # small signals: tanh(z) ~ z, so each layer multiplies the std by 0.01 * sqrt(500)
    np.testing.assert_allclose(std[1:] / std[:-1], 0.01 * math.sqrt(500), rtol=0.05)


def test_cs231n_unit_weights_saturate_most_units(tanh10):
    i = row(tanh10, "1.0")
    assert np.all(tanh10.saturated[i] > 0.8)
    # z^[l] ~ N(0, 500 E[a^2]): the share beyond atanh(0.99) follows from the layer below
    second = tanh10.std[i] ** 2 + tanh10.mean[i] ** 2
    expected = 1 - np.array([math.erf(math.atanh(0.99) / math.sqrt(2 * 500 * s)) for s in second[:-1]])
    np.testing.assert_allclose(tanh10.saturated[i][1:], expected, atol=0.02)


def test_cs231n_xavier_stays_in_between_and_follows_the_mean_field_recursion(tanh10):
    i = row(tanh10, "xavier")
    std = tanh10.std[i]
    assert np.all(np.diff(std) < 0) and 0.1 < std[-1] < 0.5
    assert tanh10.saturated[i].max() < 0.02
    assert tanh10.std[row(tanh10, "0.01")][-1] < std[-1] < tanh10.std[row(tanh10, "1.0")][-1]
    # q^[l] = E[tanh(sqrt(q^[l-1]) u)^2], u ~ N(0, 1), with q^[0] = 1 (Gauss-Hermite quadrature)
    u, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()
    q, predicted = 1.0, []
    for _ in range(tanh10.layers):
        q = float(np.sum(w * np.tanh(math.sqrt(q) * u) ** 2))
        predicted.append(math.sqrt(q))
    np.testing.assert_allclose(std, predicted, rtol=0.05)


# -- the zoo -----------------------------------------------------------------------------------------------


def test_every_zoo_start_has_an_initializer_and_unknown_ones_are_refused():
    for key in ZOO:
        assert callable(zoo_initializer(key, "relu"))
    with pytest.raises(ValueError, match="orthogonal"):
        zoo_initializer("glorot", "relu")
    X, _ = rep.digits_inputs(50)
    with pytest.raises(ValueError, match="starts"):
        zoo_network([64, 8, 10], "relu", "softmax", X, starts=["he", "he"])


def test_zoo_lsuv_model_is_lsuv_on_its_own_network():
    from explorer import initializers
    from explorer.network import Network

    X, _ = rep.digits_inputs(300)
    net, report = zoo_network([64, 16, 16, 10], "tanh", "softmax", X, starts=["he", "lsuv"], seed=4)
    alone = Network([64, 16, 16, 10], hidden="tanh", output="softmax", seed=4)
    initializers.lsuv(alone, X)
    for W, W_alone in zip(net.W, alone.W, strict=True):
        np.testing.assert_array_equal(W[1], W_alone[0])
    assert len(report) == 3 and all(r.converged.all() for r in report)
    he = Network([64, 16, 16, 10], hidden="tanh", output="softmax", init="he_normal", seed=4)
    np.testing.assert_array_equal(net.W[0][0], he.W[0][0])
