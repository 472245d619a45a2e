"""Predicted against measured strategies: the comparison table and the rank agreement
(Kendall's tau by scipy) between predicted and measured medians. The predictions come
from the operators' profiles and the performance model; here they are plain numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.study._schedule import Strategy
from splitexit.study._stats import StrategySummary, finite

__all__ = ["Prediction", "PredictionRow", "kendall_tau", "prediction_table"]


@validate_params({"median_s": [Interval(float, 0, None)], "p99_s": [Interval(float, 0, None)]})
@dataclass(frozen=True)
class Prediction:
    """The model's figures for one strategy, in seconds."""

    median_s: float
    p99_s: float


@returned_type
@dataclass(frozen=True)
class PredictionRow:
    strategy: Strategy
    predicted_median_s: float
    measured_median_s: float
    predicted_p99_s: float
    measured_p99_s: float
    median_error: float  # (predicted - measured) / measured
    p99_error: float
    predicted_rank: int  # 1 = fastest, by median, among the compared strategies
    measured_rank: int


@validate_params(
    {
        "predicted": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "measured": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
    }
)
def kendall_tau(
    predicted: Mapping[Strategy, float], measured: Mapping[Strategy, float]
) -> tuple[float | None, float | None]:
    """Kendall's tau (scipy, tau-b) and its p-value over the strategies in both maps;
    (None, None) when fewer than two strategies or a constant side leave it undefined.

    >>> s = [Strategy("m", "I", t) for t in "MEC"]
    >>> kendall_tau(dict(zip(s, [3, 1, 2])), dict(zip(s, [30, 10, 20])))[0]
    1.0
    """
    from scipy import stats

    common = [s for s in predicted if s in measured]
    if len(common) < 2:
        return None, None
    result = stats.kendalltau([predicted[s] for s in common], [measured[s] for s in common])
    return finite(result.statistic), finite(result.pvalue)


def _ranks(values: Mapping[Strategy, float]) -> dict[Strategy, int]:
    order = sorted(values, key=lambda s: (values[s], s))
    return {s: i + 1 for i, s in enumerate(order)}


@validate_params(
    {
        "predictions": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "summaries": [InstanceOf(tuple, list)],
    }
)
def prediction_table(
    predictions: Mapping[Strategy, Prediction], summaries: tuple[StrategySummary, ...]
) -> list[PredictionRow]:
    """One row per strategy that was both predicted and measured, in measured order."""
    measured = {m.strategy: m for m in summaries if m.strategy in predictions}
    pred_rank = _ranks({s: predictions[s].median_s for s in measured})
    meas_rank = _ranks({s: m.median_s for s, m in measured.items()})
    rows = [
        PredictionRow(
            strategy=s,
            predicted_median_s=predictions[s].median_s,
            measured_median_s=m.median_s,
            predicted_p99_s=predictions[s].p99_s,
            measured_p99_s=m.p99_s,
            median_error=(predictions[s].median_s - m.median_s) / m.median_s
            if m.median_s > 0
            else float("inf"),
            p99_error=(predictions[s].p99_s - m.p99_s) / m.p99_s if m.p99_s > 0 else float("inf"),
            predicted_rank=pred_rank[s],
            measured_rank=meas_rank[s],
        )
        for s, m in measured.items()
    ]
    return sorted(rows, key=lambda r: r.measured_rank)
