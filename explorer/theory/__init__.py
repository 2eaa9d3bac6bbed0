"""Predictions to hold measurements against, in two parts:

    explorer.theory.variance    variance propagation: how the variance of signals and gradients travels
                                through a network at initialization, and the deep linear chain W = gain * I
    explorer.theory.meanfield   mean field: order, chaos, the edge of chaos and the depth a network can be
                                trained at, for very wide random networks

Every public name of both is also here, so `from explorer import theory; theory.mean_field(...)` works.
"""

from explorer.theory.meanfield import (
    HOMOGENEOUS,
    MEANFIELD_ACTIVATIONS,
    QUADRATURE_POINTS,
    CorrelationMeasurement,
    MeanField,
    PhaseDiagram,
    chi_1,
    correlation_fixed_point,
    correlation_map,
    critical_sigma_w2,
    gaussian_mean,
    gaussian_pair_mean,
    hermite_nodes,
    length_fixed_point,
    length_map,
    mean_field,
    measure_correlations,
    phase_diagram,
    propagate_correlation,
)
from explorer.theory.variance import (
    ACTIVATION_FACTORS,
    ChainScales,
    VarianceMeasurement,
    VariancePrediction,
    chain_scales,
    layer_gain,
    matched,
    measure_variances,
    propagate_variance,
    rms,
    weight_variances,
)

__all__ = [
    "ACTIVATION_FACTORS",
    "HOMOGENEOUS",
    "MEANFIELD_ACTIVATIONS",
    "QUADRATURE_POINTS",
    "ChainScales",
    "CorrelationMeasurement",
    "MeanField",
    "PhaseDiagram",
    "VarianceMeasurement",
    "VariancePrediction",
    "chain_scales",
    "chi_1",
    "correlation_fixed_point",
    "correlation_map",
    "critical_sigma_w2",
    "gaussian_mean",
    "gaussian_pair_mean",
    "hermite_nodes",
    "layer_gain",
    "length_fixed_point",
    "length_map",
    "matched",
    "mean_field",
    "measure_correlations",
    "measure_variances",
    "phase_diagram",
    "propagate_correlation",
    "propagate_variance",
    "rms",
    "weight_variances",
]
