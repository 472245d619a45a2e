"""Fidelity: the performance model's predictions against what the runtime measured.

Load ``splitexit.measurement/1`` files, predict each sample's exit and latency by replaying
the profile's trace, fit the costs the paper's model misses (calibrated model), and compare
mean, p50, p95, p99 latency, accuracy and exit rates (docs/fidelity.md); with several
closed-loop clients, replay the predicted paths through the shared tiers and links
(``predict_queueing``).
"""

from splitexit.fidelity._calibrate import Calibration, calibrate
from splitexit.fidelity._case import FidelityCase, load_cases, make_case
from splitexit.fidelity._compare import (
    MEAN_TARGET,
    P99_TARGET,
    Comparison,
    FidelitySummary,
    LatencyStats,
    ModelErrors,
    ModelFigures,
    compare,
    compare_many,
)
from splitexit.fidelity._measurement import (
    MEASUREMENT_FORMAT,
    MeasuredPartition,
    Measurement,
    load_measurement,
    measurement_from_mapping,
)
from splitexit.fidelity._overheads import (
    OverheadFit,
    SampleResiduals,
    fit_overheads,
    sample_residuals,
)
from splitexit.fidelity._predict import (
    COMPUTE_SOURCES,
    PathCosts,
    SamplePrediction,
    links_crossed,
    path_costs,
    predict_samples,
)
from splitexit.fidelity._queueing import (
    QueueingPrediction,
    Stage,
    closed_loop,
    path_stages,
    predict_queueing,
)
from splitexit.fidelity._select import configurations_to_measure
from splitexit.fidelity._spread import fit_path_spread

__all__ = [
    "COMPUTE_SOURCES",
    "MEAN_TARGET",
    "MEASUREMENT_FORMAT",
    "P99_TARGET",
    "Calibration",
    "Comparison",
    "FidelityCase",
    "FidelitySummary",
    "LatencyStats",
    "MeasuredPartition",
    "Measurement",
    "ModelErrors",
    "ModelFigures",
    "OverheadFit",
    "PathCosts",
    "QueueingPrediction",
    "SamplePrediction",
    "SampleResiduals",
    "Stage",
    "calibrate",
    "closed_loop",
    "compare",
    "compare_many",
    "configurations_to_measure",
    "fit_overheads",
    "fit_path_spread",
    "links_crossed",
    "load_cases",
    "load_measurement",
    "make_case",
    "measurement_from_mapping",
    "path_costs",
    "path_stages",
    "predict_queueing",
    "predict_samples",
    "sample_residuals",
]
