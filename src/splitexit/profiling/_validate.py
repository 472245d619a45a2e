"""Validation of the estimators against final models (seed 000, section 3.2).

For K random partitionings P, a *final model* with only the exits of P is trained; on the
held-out test split its accuracy and per-exit exit rates are measured for every threshold,
by replaying its own cascade. Each estimator predicts the same quantities from the profile
(made on the profiling split): ``paper/separate`` and ``paper/joint`` (alpha sums and acc_i
over all samples, ``perfmodel.partition_terms``) and ``trace/joint`` and ``trace/separate``
(the exact replay of the per-sample trace, ``perfmodel.CascadeTable``). The scores are the
mean absolute error, the largest error, and the least-squares line measured = slope x
predicted + intercept with its R^2, over every (P, T) for accuracy and every (P, T, k) for
exit rates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.datasets import Split
from splitexit.errors import InputError
from splitexit.nets import MultiExitNet
from splitexit.perfmodel import ModelInputs, partition_terms
from splitexit.perfmodel._trace import CascadeTable
from splitexit.profile import Profile, Trace
from splitexit.profiling._measure import normalized_entropy
from splitexit.topology import load_topology
from splitexit.training import predict_logits

__all__ = [
    "ESTIMATORS",
    "Fit",
    "Measurement",
    "ValidationResult",
    "choose_partitions",
    "measure_final",
    "predict",
    "validation_result",
]

ESTIMATORS = ("paper/separate", "paper/joint", "trace/joint", "trace/separate")
FloatArray = npt.NDArray[np.float64]


@returned_type
@dataclass(frozen=True)
class Fit:
    """How predictions compare with measurements (fractions, not percentage points)."""

    mae: float
    max_error: float
    slope: float  # of measured against predicted (1 is ideal); nan if predictions are constant
    intercept: float
    r2: float  # of that line
    points: int

    @classmethod
    def of(cls, predicted: FloatArray, measured: FloatArray) -> Fit:
        """Scores of ``predicted`` against ``measured`` (same shape, flattened)."""
        x, y = np.ravel(predicted), np.ravel(measured)
        error = np.abs(x - y)
        slope = intercept = r2 = math.nan
        if len(x) > 1 and np.ptp(x) > 0:
            slope, intercept = (float(v) for v in np.polyfit(x, y, 1))
            residual = y - (slope * x + intercept)
            total = float(((y - y.mean()) ** 2).sum())
            r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else math.nan
        return cls(
            mae=float(error.mean()),
            max_error=float(error.max()),
            slope=slope,
            intercept=intercept,
            r2=r2,
            points=len(x),
        )


@returned_type
@dataclass(frozen=True, eq=False)
class Measurement:
    """Accuracy (T,) and exit rates (T, L) of one partitioning, measured or predicted."""

    accuracy: FloatArray
    exit_rates: FloatArray


@returned_type
@dataclass(frozen=True, eq=False)
class ValidationResult:
    """Everything the validation measured and predicted, and the scores (the plot's info)."""

    thresholds: FloatArray
    partitions: list[tuple[int, ...]]  # 0-based last blocks
    measured: list[Measurement]
    predicted: dict[str, list[Measurement]]
    accuracy_fit: dict[str, Fit] = field(default_factory=dict)
    exit_rate_fit: dict[str, Fit] = field(default_factory=dict)

    @property
    def best(self) -> str:
        """The estimator with the lowest accuracy MAE (ties: lowest exit-rate MAE)."""
        return min(self.accuracy_fit, key=lambda e: (self.accuracy_fit[e].mae, self._rate(e)))

    def _rate(self, estimator: str) -> float:
        return self.exit_rate_fit[estimator].mae

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: 1-based partitionings, every point, every score."""

        def fit(f: Fit) -> dict[str, float | int | None]:
            values = f.__dict__.items()
            return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values}

        return {
            "thresholds": self.thresholds.tolist(),
            "partitions": [[p + 1 for p in parts] for parts in self.partitions],
            "measured": [_points(m) for m in self.measured],
            "predicted": {e: [_points(m) for m in ms] for e, ms in self.predicted.items()},
            "accuracy": {e: fit(f) for e, f in self.accuracy_fit.items()},
            "exit_rates": {e: fit(f) for e, f in self.exit_rate_fit.items()},
            "best": self.best,
        }


def _points(m: Measurement) -> dict[str, Any]:
    return {"accuracy": m.accuracy.tolist(), "exit_rates": m.exit_rates.tolist()}


@validate_params(
    {
        "num_blocks": [Interval(int, None, None)],
        "k": [Interval(int, None, None)],
        "max_parts": [Interval(int, None, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def choose_partitions(
    num_blocks: int, k: int, *, max_parts: int, seed: int
) -> list[tuple[int, ...]]:
    """``k`` distinct random partitionings with 2..``max_parts`` partitions (0-based)."""
    if k < 1:
        raise InputError(f"k must be >= 1, got {k}")
    top = min(max_parts, num_blocks)
    if top < 2:
        raise InputError(f"max parts must be >= 2 with at least 2 blocks, got {max_parts}")
    possible = sum(math.comb(num_blocks, n) for n in range(2, top + 1))
    if k > possible:
        raise InputError(f"k = {k} exceeds the {possible} partitionings with 2..{top} parts")
    rng = np.random.default_rng(seed)
    chosen: list[tuple[int, ...]] = []
    while len(chosen) < k:
        size = int(rng.integers(2, top + 1))
        parts = tuple(sorted(int(b) for b in rng.choice(num_blocks, size, replace=False)))
        if parts not in chosen:
            chosen.append(parts)
    return chosen


@validate_params(
    {
        "net": [InstanceOf(MultiExitNet)],
        "split": [InstanceOf(Split)],
        "thresholds": [InstanceOf(np.ndarray)],
        "device": [InstanceOf(str)],
    }
)
def measure_final(
    net: MultiExitNet, split: Split, thresholds: FloatArray, *, device: str = "cpu"
) -> Measurement:
    """Accuracy and exit rates of a final model's own cascade on ``split``, per threshold."""
    logits = predict_logits(net, split.images, device=device)
    entropy = np.stack([normalized_entropy(out) for out in logits], axis=1)
    correct = np.stack([out.argmax(axis=1) == split.labels for out in logits], axis=1)
    table = CascadeTable.build(entropy, correct, thresholds)
    last = len(logits)
    exits, accuracy = table.evaluate(np.arange(last)[None, :], np.arange(len(thresholds)))
    return Measurement(accuracy=accuracy[0], exit_rates=exits[0])


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "trace": [InstanceOf(Trace)],
        "partitions": [InstanceOf(list, tuple)],
    }
)
def predict(
    profile: Profile, trace: Trace, partitions: list[tuple[int, ...]]
) -> dict[str, list[Measurement]]:
    """Every estimator's accuracy and exit rates for each partitioning, every threshold."""
    t_idx = np.arange(profile.num_thresholds)
    topology = load_topology("mobile")  # latency plays no part in accuracy and exit rates
    out: dict[str, list[Measurement]] = {}
    for source in ("separate", "joint"):
        inputs = ModelInputs.build(profile, topology, accuracy=source)
        terms = [partition_terms(inputs, np.array([p]), t_idx) for p in partitions]
        out[f"paper/{source}"] = [Measurement(t.accuracy, t.exit_rates) for t in terms]
    for source in ("joint", "separate"):
        table = CascadeTable.from_trace(trace, profile.thresholds, source=source)
        replays = [table.evaluate(np.array([p]), t_idx) for p in partitions]
        out[f"trace/{source}"] = [Measurement(acc[0], exits[0]) for exits, acc in replays]
    return {name: out[name] for name in ESTIMATORS}


@validate_params(
    {
        "thresholds": [InstanceOf(np.ndarray)],
        "partitions": [InstanceOf(list, tuple)],
        "measured": [InstanceOf(list, tuple)],
        "predicted": [InstanceOf(dict)],
    }
)
def validation_result(
    thresholds: FloatArray,
    partitions: list[tuple[int, ...]],
    measured: list[Measurement],
    predicted: dict[str, list[Measurement]],
) -> ValidationResult:
    """Score every estimator against the measurements."""
    result = ValidationResult(thresholds, partitions, measured, predicted)
    true_acc = np.concatenate([m.accuracy for m in measured])
    true_rates = np.concatenate([m.exit_rates.ravel() for m in measured])
    for name, guesses in predicted.items():
        result.accuracy_fit[name] = Fit.of(np.concatenate([g.accuracy for g in guesses]), true_acc)
        rates = np.concatenate([g.exit_rates.ravel() for g in guesses])
        result.exit_rate_fit[name] = Fit.of(rates, true_rates)
    return result
