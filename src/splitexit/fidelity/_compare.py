"""Predicted against measured: latency distribution, accuracy and exit rates, per
configuration and over several (MAPE of the mean, error of p99), before and after calibration.

A measurement with several clients (``run.clients`` > 1) is also predicted through shared
queues (``predict_queueing``): each model's figures appear twice, as the one-sample
prediction and as ``<model> + queueing``, side by side. Calibrations are fitted on
one-client measurements only (a several-client latency holds waiting, not message costs),
unless there are none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Options,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.fidelity._calibrate import Calibration, calibrate
from splitexit.fidelity._case import FidelityCase
from splitexit.fidelity._predict import (
    COMPUTE_SOURCES,
    ComputeSource,
    SamplePrediction,
    links_crossed,
    predict_samples,
)
from splitexit.fidelity._queueing import predict_queueing
from splitexit.profile import ACCURACY_SOURCES, AccuracySource

__all__ = [
    "MEAN_TARGET",
    "P99_TARGET",
    "Comparison",
    "FidelitySummary",
    "LatencyStats",
    "ModelErrors",
    "ModelFigures",
    "compare",
    "compare_many",
]

FloatArray = npt.NDArray[np.float64]
MEAN_TARGET = 0.05  # issue 5: mean latency within 5 % (MAPE)
P99_TARGET = 0.10  # and p99 within 10 %
MODELS = ("paper", "runtime-timed", "calibrated")
QUEUEING = " + queueing"  # suffix of a model's figures replayed through shared queues


@returned_type
@dataclass(frozen=True)
class LatencyStats:
    """Mean and percentiles of a latency distribution, seconds."""

    mean_s: float
    p50_s: float
    p95_s: float
    p99_s: float

    @classmethod
    def of(cls, values: FloatArray) -> LatencyStats:
        p50, p95, p99 = np.percentile(values, [50, 95, 99])
        return cls(float(np.mean(values)), float(p50), float(p95), float(p99))


@returned_type
@dataclass(frozen=True)
class ModelFigures:
    """One latency model's prediction of one measured configuration."""

    model: str  # "paper", "runtime-timed" or "calibrated", each maybe + " + queueing"
    matched: LatencyStats  # over the trace rows of the delivered samples
    full: LatencyStats  # over the whole trace
    mean_error: float  # (predicted - measured) / measured, sample-matched
    p99_error: float


@returned_type
@dataclass(frozen=True, eq=False)
class Comparison:
    """Predicted and measured figures of one measurement."""

    name: str
    label: str  # P, A and T for people
    topology: str
    delivered: int
    failed: int
    measured: LatencyStats
    measured_accuracy: float
    measured_exit_rates: FloatArray  # (L,) over delivered samples
    predicted_accuracy: float  # trace replay over the same rows
    predicted_accuracy_full: float  # over the whole trace
    planner_accuracy: float  # the separate models' replay over the whole trace (plan's default)
    predicted_exit_rates: FloatArray  # (L,) same rows
    predicted_exit_rates_full: FloatArray
    exit_agreement: float  # fraction of delivered samples leaving where predicted
    models: tuple[ModelFigures, ...]
    calibration: Calibration | None

    def model(self, name: str) -> ModelFigures:
        for figures in self.models:
            if figures.model == name:
                return figures
        raise KeyError(name)


def _figures(
    model: str, pred: SamplePrediction, rows: npt.NDArray[np.int64], measured: LatencyStats
) -> ModelFigures:
    return _stats_figures(
        model, LatencyStats.of(pred.distribution(rows)), LatencyStats.of(pred.distribution()),
        measured,
    )  # fmt: skip


def _stats_figures(
    model: str, matched: LatencyStats, full: LatencyStats, measured: LatencyStats
) -> ModelFigures:
    return ModelFigures(
        model=model,
        matched=matched,
        full=full,
        mean_error=(matched.mean_s - measured.mean_s) / measured.mean_s,
        p99_error=(matched.p99_s - measured.p99_s) / measured.p99_s,
    )


def _queueing_figures(
    case: FidelityCase, calibration: Calibration | None, measured: LatencyStats
) -> list[ModelFigures]:
    """Each model replayed with the measurement's clients through shared queues. The
    calibrated model's paths vary by its residual quantiles (around their mean, which the
    replay adds anyway); the others' paths are their one-sample costs."""
    chosen: list[tuple[str, ComputeSource, Calibration | None]] = [
        ("paper", "paper", None),
        ("runtime-timed", "runtime", None),
    ]
    if calibration is not None:
        chosen.append(("calibrated", calibration.compute, calibration))
    figures = []
    for model, compute, fitted in chosen:
        pools = None
        if fitted is not None:  # each exit's path its own spread (``fidelity._spread``)
            base = fitted.jitter_s - fitted.jitter_s.mean()
            per_link = fitted.jitter_per_link_s
            links = links_crossed(case.topology, case.deployment)
            pools = [
                (base if per_link is None else base + links[k] * per_link).tolist()
                for k in range(case.measurement.num_partitions)
            ]
        replay = predict_queueing(case, compute=compute, calibration=fitted, residual_s=pools)
        stats = LatencyStats.of(replay.latency_s)
        figures.append(_stats_figures(model + QUEUEING, stats, stats, measured))
    return figures


@validate_params(
    {
        "case": [InstanceOf(FidelityCase)],
        "calibration": [InstanceOf(Calibration), None],
        "trace_source": [Options(ACCURACY_SOURCES)],
    }
)
def compare(
    case: FidelityCase,
    *,
    calibration: Calibration | None = None,
    trace_source: AccuracySource = "joint",
) -> Comparison:
    """Compare one measurement with the paper model ("paper": the profile's compute times),
    the same formulas on the partitions' measured ONNX Runtime times ("runtime-timed") and,
    when ``calibration`` is given (fitted on *other* configurations), the calibrated model;
    with several clients each of them also through shared queues (``" + queueing"``).

    Exits are replayed from the ``trace_source`` model of the trace: ``"joint"``, the one
    the runtime deploys.
    """
    m = case.measurement
    if not m.delivered.any():
        raise InputError(f"{m.source_file}: no sample was delivered; nothing to compare")
    rows = case.rows
    measured = LatencyStats.of(m.latency_s[m.delivered])
    common = (case.profile, case.trace, case.topology, case.deployment)
    models = []
    paper = predict_samples(*common, compute="paper", trace_source=trace_source)
    models.append(_figures("paper", paper, rows, measured))
    timed = predict_samples(*common, compute="runtime", measurement=m, trace_source=trace_source)
    models.append(_figures("runtime-timed", timed, rows, measured))
    if calibration is not None:
        calibrated = predict_samples(
            *common,
            compute=calibration.compute,
            measurement=m,
            calibration=calibration,
            trace_source=trace_source,
        )
        models.append(_figures("calibrated", calibrated, rows, measured))
    if m.clients > 1:
        models += _queueing_figures(case, calibration, measured)
    planner = predict_samples(*common, trace_source="separate")
    measured_exit = m.exit[m.delivered]
    count = m.num_partitions
    return Comparison(
        name=case.name,
        label=m.label_text(),
        topology=case.topology.name,
        delivered=int(m.delivered.sum()),
        failed=int((~m.delivered).sum()),
        measured=measured,
        measured_accuracy=float(np.mean(m.prediction[m.delivered] == m.label[m.delivered])),
        measured_exit_rates=np.bincount(measured_exit, minlength=count) / len(measured_exit),
        predicted_accuracy=paper.accuracy(rows),
        predicted_accuracy_full=paper.accuracy(),
        planner_accuracy=planner.accuracy(),
        predicted_exit_rates=paper.exit_rates(rows),
        predicted_exit_rates_full=paper.exit_rates(),
        exit_agreement=float(np.mean(paper.exit[rows] == measured_exit)),
        models=tuple(models),
        calibration=calibration,
    )


@returned_type
@dataclass(frozen=True)
class ModelErrors:
    """A model's errors over several configurations (relative, sample-matched)."""

    model: str
    configurations: int
    mean_ape: float  # MAPE of the mean latency
    max_mean_ape: float
    p99_ape: float  # mean |relative error| of p99
    max_p99_ape: float

    @property
    def meets_targets(self) -> bool:
        return self.mean_ape <= MEAN_TARGET and self.max_p99_ape <= P99_TARGET


@returned_type
@dataclass(frozen=True, eq=False)
class FidelitySummary:
    """Comparisons of several measurements and each model's errors over them."""

    comparisons: tuple[Comparison, ...]
    errors: tuple[ModelErrors, ...]
    calibration: Calibration | None  # fitted on every file of the usual mode: for reading only
    calibrated_compute: str | None
    trace_source: str

    def errors_of(self, model: str) -> ModelErrors:
        for errors in self.errors:
            if errors.model == model:
                return errors
        raise KeyError(model)


def _errors(model: str, comparisons: Sequence[Comparison]) -> ModelErrors | None:
    figures = [c.model(model) for c in comparisons if any(f.model == model for f in c.models)]
    if not figures:
        return None
    mean = np.abs([f.mean_error for f in figures])
    p99 = np.abs([f.p99_error for f in figures])
    return ModelErrors(
        model=model,
        configurations=len(figures),
        mean_ape=float(mean.mean()),
        max_mean_ape=float(mean.max()),
        p99_ape=float(p99.mean()),
        max_p99_ape=float(p99.max()),
    )


def _one_client(cases: Sequence[FidelityCase]) -> list[FidelityCase]:
    """The one-client cases, or all of them when none ran alone."""
    alone = [c for c in cases if c.measurement.clients == 1]
    return alone or list(cases)


def _display_calibration(
    cases: Sequence[FidelityCase], compute: ComputeSource
) -> Calibration | None:
    """A fit on every file of the most common compute mode and transport, for reading only."""
    modes = [case.measurement.setting for case in cases]
    common = max(set(modes), key=modes.count)
    chosen = [c for c in cases if c.measurement.setting == common and c.measurement.delivered.any()]
    return calibrate(_one_client(chosen), compute=compute) if chosen else None


@validate_params(
    {
        "cases": [InstanceOf(list, tuple)],
        "calibrate_model": [InstanceOf(bool)],
        "compute": [Options(COMPUTE_SOURCES)],
        "trace_source": [Options(ACCURACY_SOURCES)],
    }
)
def compare_many(
    cases: Sequence[FidelityCase],
    *,
    calibrate_model: bool = False,
    compute: ComputeSource = "runtime",
    trace_source: AccuracySource = "joint",
) -> FidelitySummary:
    """Compare every measurement; with ``calibrate_model``, each one's calibrated prediction
    is fitted on the *other* measurements of the same compute mode (leave one configuration
    out), so no configuration is predicted by a model that has seen it.

    A measurement with no other of its compute mode gets no calibrated figures. The fit uses
    the one-client measurements among the others (all of them when none has one client).
    """
    if not cases:
        raise InputError("give at least one measurement")
    comparisons = []
    for i, case in enumerate(cases):
        fitted = None
        if calibrate_model:
            others = [
                other
                for j, other in enumerate(cases)
                if j != i
                and other.measurement.setting == case.measurement.setting
                and other.measurement.delivered.any()
            ]
            others = _one_client(others)
            fitted = calibrate(others, compute=compute) if others else None
        comparisons.append(compare(case, calibration=fitted, trace_source=trace_source))
    names = [*MODELS, *(m + QUEUEING for m in MODELS)]
    errors = [_errors(model, comparisons) for model in names]
    return FidelitySummary(
        comparisons=tuple(comparisons),
        errors=tuple(e for e in errors if e is not None),
        calibration=_display_calibration(cases, compute) if calibrate_model else None,
        calibrated_compute=compute if calibrate_model else None,
        trace_source=trace_source,
    )
