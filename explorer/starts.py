"""The catalogue of labelled starts: every demo and `explorer.reproductions` picks its starts from here.

Each start is a record: a key, a label that names it honestly with its variance, that variance as a formula,
and how it makes an initializer. A demo shows the starts it wants, in its own order and under its own
dropdown values, but the label a learner reads always means the same distribution.

Names, honestly:
    Glorot/Xavier   N(0, 2/(n_in+n_out)), Glorot & Bengio (2010): the average of the forward rule 1/n_in
                    and the backward rule 1/n_out; torch.nn.init.xavier_normal_.
    LeCun           N(0, 1/n_in), LeCun et al. (1998), "Efficient BackProp".
    the article's "Xavier"
                    the deeplearning.ai article on initialization calls N(0, 1/n_in) "Xavier"; it is LeCun's
                    variance, and for a square layer (n_in = n_out) Glorot's too. Its label says both.
    He              N(0, 2/n_in), He et al. (2015), "Delving deep into rectifiers".

    from explorer.starts import CATALOGUE
    CATALOGUE["he"].make()              # he_normal()
    CATALOGUE["free_fan_in"].make(0.01) # N(0, 0.01/n_in), the free scale v = 0.01
    CATALOGUE["he"].scaled(0.5)         # He's rule with its variance halved: N(0, 1/n_in)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from explorer import initializers
from explorer.initializers import Initializer


@dataclass(frozen=True)
class Start:
    """One labelled start.

    key: its name in the catalogue.
    label: what a learner reads: the scheme's name, if it has one, and its distribution with its variance.
        A name in double quotes ("Xavier") is what someone else calls it.
    variance: Var(W) as a formula in Python syntax over n_in, n_out and the start's `parameter` (if any);
        None when the weights are not random draws (identity, LSUV).
    distribution: "normal", "uniform", "truncated_normal", "orthogonal", "constant" or "identity".
    make: make() or make(parameter) -> the Initializer.
    parameter: the name of make's argument ("v": the free scale, "gain"), or None if it takes none.
    rule: (scale, mode) when the start is variance_scaling's rule Var(W) = scale / fan, else None; `scaled`
        multiplies its variance.
    reference: where it comes from.
    """

    key: str
    label: str
    variance: str | None
    distribution: str
    make: Callable[..., Initializer]
    parameter: str | None = None
    rule: tuple[float, str] | None = None
    reference: str = ""

    def scaled(self, factor: float) -> Initializer:
        """The start's rule with its variance multiplied by `factor`: N(0, factor * scale / fan)."""
        if self.rule is None:
            raise ValueError(f"start {self.key!r} is not a variance-scaling rule; it cannot be scaled")
        scale, mode = self.rule
        return initializers.variance_scaling(factor * scale, mode)


def _free_scale(v: float) -> Initializer:
    """W = randn * sqrt(v / n_in); v = 0 means all zeros."""
    return initializers.zeros() if v == 0 else initializers.variance_scaling(v, "fan_in", "normal")


def _orthogonal_fan_in(v: float) -> Initializer:
    """A random orthogonal matrix Q (initializers.orthogonal) times sqrt(v max(n_in, n_out) / n_in): every entry has
    the variance v / n_in of the Gaussian N(0, v/n_in). Square: sqrt(v) Q, so W W^T = v I (dynamical isometry)."""
    unit = initializers.orthogonal(1.0)

    def draw(rng, shape):
        n_out, n_in = shape
        return unit(rng, shape) * math.sqrt(v * max(n_in, n_out) / n_in)

    return Initializer(name="orthogonal_fan_in", params={"v": v}, draw=draw, variance_of=lambda shape: v / shape[1])


_ALL = [
    Start("zeros", "zeros: W = 0", "0", "constant", initializers.zeros),
    Start("constant", "constant: every weight 0.5", "0", "constant", lambda: initializers.constant(0.5)),
    Start("normal_0.01", "0.01·randn: N(0, 0.0001)", "0.0001", "normal", lambda: initializers.normal(0.01)),
    Start("normal_1", "standard normal N(0, 1)", "1", "normal", lambda: initializers.normal(1.0)),
    Start("free_fan_in", "free scale N(0, v/n_in)", "v/n_in", "normal", _free_scale, parameter="v"),
    Start("uniform_fan_in", "uniform U(-1/√n_in, 1/√n_in): Var(W) = 1/(3 n_in)", "1/(3*n_in)", "uniform",
          lambda: initializers.variance_scaling(1 / 3, "fan_in", "uniform"),
          reference="Glorot & Bengio (2010) call it the 'standard' initialization"),
    Start("lecun", "LeCun N(0, 1/n_in)", "1/n_in", "normal", initializers.lecun_normal, rule=(1.0, "fan_in"),
          reference="LeCun, Bottou, Orr & Müller (1998), Efficient BackProp"),
    Start("article_xavier", "N(0, 1/n_in): LeCun's, the deeplearning.ai article's \"Xavier\"", "1/n_in", "normal",
          initializers.lecun_normal, rule=(1.0, "fan_in"),
          reference="the deeplearning.ai article on initialization; LeCun et al. (1998)"),
    Start("fan_out", "backward rule N(0, 1/n_out)", "1/n_out", "normal",
          lambda: initializers.variance_scaling(1.0, "fan_out"), rule=(1.0, "fan_out"),
          reference="Glorot & Bengio (2010): keeps the back-propagated gradient's variance"),
    Start("glorot_normal", "Glorot/Xavier N(0, 2/(n_in+n_out))", "2/(n_in+n_out)", "normal",
          initializers.xavier_normal, rule=(1.0, "fan_avg"), reference="Glorot & Bengio (2010)"),
    Start("glorot_uniform", "Glorot/Xavier U(-√(6/(n_in+n_out)), √(6/(n_in+n_out))): Var(W) = 2/(n_in+n_out)",
          "2/(n_in+n_out)", "uniform", initializers.xavier_uniform,
          reference="Glorot & Bengio (2010), eq. 16: their 'normalized' initialization"),
    Start("he", "He N(0, 2/n_in)", "2/n_in", "normal", initializers.he_normal, rule=(2.0, "fan_in"),
          reference="He, Zhang, Ren & Sun (2015), Delving deep into rectifiers"),
    Start("typo", "the typo 2/√n_in·randn: N(0, 4/n_in)", "4/n_in", "normal",
          lambda: initializers.variance_scaling(4.0, "fan_in", "normal"), rule=(4.0, "fan_in"),
          reference="a std of 2/sqrt(n) written for sqrt(2/n): a variance of 4/n, twice He's"),
    Start("truncated_normal", "truncated normal, Var(W) = gain²/n_in (cut at 2σ)", "gain**2/n_in", "truncated_normal",
          lambda gain=1.0: initializers.variance_scaling(gain**2, "fan_in", "truncated_normal"), parameter="gain",
          reference="Keras's form: a normal cut at 2σ, rescaled so its variance is gain²/n_in"),
    Start("orthogonal", "orthogonal × gain: Var(W) = gain²/max(n_in, n_out)", "gain**2/max(n_in, n_out)",
          "orthogonal", lambda gain=1.0: initializers.orthogonal(gain), parameter="gain",
          reference="Saxe, McClelland & Ganguli (2014): deep linear networks learn in depth-independent time"),
    Start("identity", "identity W = α·I", None, "identity", lambda alpha=1.0: initializers.identity(alpha),
          parameter="alpha", reference="W = I: the signal passes unchanged through square linear layers"),
    Start("lsuv", "LSUV", None, "orthogonal", initializers.orthogonal,
          reference="Mishkin & Matas (2015): orthonormal, then each layer rescaled on data to unit variance"),
    Start("orthogonal_fan_in", "fan-in-scaled \"orthogonal\" Q·√(v·max(n_in, n_out)/n_in): Var(W) = v/n_in", "v/n_in",
          "orthogonal", _orthogonal_fan_in, parameter="v",
          reference="Pennington, Schoenholz & Ganguli (2017): orthogonal weights at the edge of chaos, W W^T = σ_w² I"),
]

#: Every start, by key.
CATALOGUE: dict[str, Start] = {start.key: start for start in _ALL}
