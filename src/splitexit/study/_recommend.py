"""Recommendations under a requirement, from the predictions, checked by the measurement.

Three requirements: the fastest strategy; the fastest within ``loss`` points of the
identity's accuracy; the most accurate whose latency fits a budget. The recommendation uses
predicted medians only; the check takes the same requirement over measured medians and says
whether the recommended strategy is the measured best or within its noise (Cliff's delta
negligible, or a median within 5 %).

>>> recommend(preds, measured, acc, samples)[0].confirmed  # doctest: +SKIP
True
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.study._accuracy import AccuracyRow
from splitexit.study._effect import cliffs_delta, magnitude
from splitexit.study._schedule import Strategy

__all__ = ["Recommendation", "latencies_by_strategy", "recommend"]


@dataclass(frozen=True)
class Recommendation:
    subject: str
    requirement: str
    recommended: str  # strategy label
    measured_best: str
    predicted_median_s: float
    measured_median_s: float  # of the recommended one
    best_median_s: float
    delta: float  # Cliff's delta, recommended vs measured best
    confirmed: bool

    def to_mapping(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def latencies_by_strategy(path: Path) -> dict[Strategy, list[float]]:
    """The latencies of ``latencies.csv`` grouped by strategy."""
    out: dict[Strategy, list[float]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            s = Strategy(row["subject"], row["operator"], row["tiers"])
            out.setdefault(s, []).append(float(row["latency_s"]))
    return out


def _accuracy(rows: Sequence[AccuracyRow]) -> dict[Strategy, float]:
    out: dict[Strategy, float] = {}
    for r in rows:
        if r.metric in ("top-1", "agreement"):
            out[Strategy(r.subject, r.operator, r.tiers)] = r.value
    return out


def _check(
    subject: str,
    requirement: str,
    fits_pred: list[Strategy],
    fits_meas: list[Strategy],
    predicted: Mapping[Strategy, float],
    latencies: Mapping[Strategy, list[float]],
    key_pred: Any,
    key_meas: Any,
) -> Recommendation | None:
    if not fits_pred or not fits_meas:
        return None
    rec = min(fits_pred, key=key_pred)
    best = min(fits_meas, key=key_meas)
    med = {s: float(np.median(latencies[s])) for s in (rec, best)}
    delta = cliffs_delta(latencies[rec], latencies[best]) if rec != best else 0.0
    same = rec == best or magnitude(delta) == "negligible" or med[rec] <= 1.05 * med[best]
    return Recommendation(
        subject, requirement, rec.label, best.label, predicted[rec], med[rec], med[best],
        delta, same,
    )  # fmt: skip


@validate_params(
    {
        "predicted": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "latencies": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "accuracy": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "loss": [Interval(float, 0, None)],
    }
)
def recommend(
    predicted: Mapping[Strategy, float],
    latencies: Mapping[Strategy, list[float]],
    accuracy: Sequence[AccuracyRow],
    *,
    loss: float = 1.0,
) -> list[Recommendation]:
    """Per subject: fastest; fastest within ``loss`` points of I; most accurate under the
    budget of the median of predicted medians."""
    acc = _accuracy(accuracy)
    measured = {s: float(np.median(v)) for s, v in latencies.items()}
    out: list[Recommendation] = []
    for subject in sorted({s.subject for s in predicted}):
        cells = [s for s in predicted if s.subject == subject and s in measured]
        ident = max((acc.get(s, 0.0) for s in cells if s.operator == "I"), default=None)
        fast = [
            _check(subject, "fastest", cells, cells, predicted, latencies,
                   predicted.__getitem__, measured.__getitem__),
        ]  # fmt: skip
        if ident is not None and acc:
            ok = [s for s in cells if acc.get(s, 0.0) >= ident - loss]
            fast.append(
                _check(subject, f"accuracy >= I - {loss:g} points", ok, ok, predicted,
                       latencies, predicted.__getitem__, measured.__getitem__)
            )  # fmt: skip
            budget = float(np.median([predicted[s] for s in cells]))
            name = f"latency <= {1000 * budget:.3g} ms, best accuracy"
            fast.append(
                _check(
                    subject, name,
                    [s for s in cells if predicted[s] <= budget],
                    [s for s in cells if measured[s] <= budget],
                    predicted, latencies,
                    lambda s: (-acc.get(s, 0.0), predicted[s]),
                    lambda s: (-acc.get(s, 0.0), measured[s]),
                )
            )  # fmt: skip
        out += [r for r in fast if r is not None]
    return out
