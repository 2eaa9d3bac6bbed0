"""The numbers behind the initializer zoo and the paper reproductions, scaled to a laptop.

Each function returns the data a figure shows; the notebooks and apps only draw it.

    zoo_network(...)       one network under every initializer of the zoo, stacked (K models)
    glorot_bengio(...)     Glorot & Bengio (2010), figures 6 and 7: activation and back-propagated
                           gradient histograms per layer of a 5-hidden-layer tanh network,
                           "standard" against "normalized" initialization
    he_plain_relu(...)     He et al. (2015), figure 3: a deep plain ReLU network, Xavier against He
    cs231n_tanh(...)       the cs231n experiment: 10 tanh layers of 500 units, per-layer activation
                           statistics for 0.01 * randn, 1.0 * randn and Xavier
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer import initializers
from explorer.initializers import Initializer
from explorer.network import Network

# ---------------------------------------------------------------------------------------------
# The initializer zoo: one network, every start, trained side by side.


@dataclass(frozen=True)
class ZooStart:
    """One start of the zoo: a label for legends, a colour, and where it comes from."""

    label: str
    color: str
    reference: str


ZOO: dict[str, ZooStart] = {
    "orthogonal": ZooStart("orthogonal × gain", "#9467bd",
                           "Saxe, McClelland & Ganguli (2014): deep linear networks learn in depth-independent time"),
    "identity": ZooStart("identity", "#8c564b", "W = I: the signal passes unchanged through square linear layers"),
    "truncated_normal": ZooStart("truncated normal, gain²/n_in", "#e377c2",
                                 "Keras's form: a normal cut at 2σ, rescaled so its variance is gain²/n_in"),
    "lecun": ZooStart("LeCun N(0, 1/n_in)", "#17becf", "LeCun, Bottou, Orr & Müller (1998), Efficient BackProp"),
    "xavier": ZooStart("Xavier N(0, 2/(n_in+n_out))", "#1f77b4", "Glorot & Bengio (2010)"),
    "he": ZooStart("He N(0, 2/n_in)", "#2ca02c", "He, Zhang, Ren & Sun (2015), Delving deep into rectifiers"),
    "lsuv": ZooStart("LSUV", "#d62728",
                     "Mishkin & Matas (2015): orthonormal, then each layer rescaled on data to unit variance"),
}


def zoo_initializer(key: str, activation: str) -> Initializer:
    """The initializer of zoo start `key` for a network of `activation` units.

    Orthogonal and truncated normal use the gain of the activation (``initializers.gain``), as
    ``torch.nn.init`` recommends; LeCun, Xavier and He are the plain named schemes. LSUV starts
    from an orthonormal draw (gain 1); ``zoo_network`` then rescales it on data.
    """
    if key not in ZOO:
        raise ValueError(f"start={key!r} is unknown; valid: {', '.join(ZOO)}")
    g = initializers.gain(activation)
    recipes = {
        "orthogonal": lambda: initializers.orthogonal(g),
        "identity": initializers.identity,
        "truncated_normal": lambda: initializers.variance_scaling(g**2, "fan_in", "truncated_normal"),
        "lecun": initializers.lecun_normal,
        "xavier": initializers.xavier_normal,
        "he": initializers.he_normal,
        "lsuv": initializers.orthogonal,
    }
    return recipes[key]()


def zoo_network(
    sizes: Sequence[int],
    hidden: str,
    output: str,
    X: np.ndarray,
    starts: Sequence[str] = tuple(ZOO),
    seed: int = 0,
    lsuv_batch: int = 500,
) -> tuple[Network, list[initializers.LSUVLayer] | None]:
    """One network under each of `starts`, as one stack of K = len(starts) models, all from `seed`.

    The LSUV model is made on a network of its own (``initializers.lsuv`` on the first
    `lsuv_batch` rows of X) and its weights copied into its place in the stack, so the stack's
    other models keep their own draws. Returns the network and LSUV's per-layer report (None
    without LSUV).
    """
    starts = list(starts)
    if not starts or len(set(starts)) != len(starts):
        raise ValueError(f"starts={starts!r} must list distinct zoo starts, at least one")
    net = Network(sizes, hidden=hidden, output=output, init=[zoo_initializer(s, hidden) for s in starts], seed=seed)
    report = None
    if "lsuv" in starts:
        alone = Network(sizes, hidden=hidden, output=output, init="orthogonal", seed=seed)
        report = initializers.lsuv(alone, np.asarray(X)[:lsuv_batch])
        k = starts.index("lsuv")
        for W_stack, W_alone in zip(net.W, alone.W, strict=True):
            W_stack[k] = W_alone[0]
    return net, report
