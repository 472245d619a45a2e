"""The planner's recommendations checked by the measurement.

For each requirement the planner answered (``_planned``), the same requirement is taken over
the measured strategies of the subject (the study's cells and the extra ones the planner
asked for): the fastest measured strategy with any accuracy; the fastest within ``loss``
points of I's measured accuracy; the most accurate (then fastest) whose measured median fits
the budget. The recommendation is confirmed when its strategy is the measured best or within
its noise (Cliff's delta negligible, or a median within 5 %).

>>> check_picks(picks, latencies, accuracy)[0].confirmed  # doctest: +SKIP
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

__all__ = [
    "NOISE_MEDIAN_RATIO",
    "Recommendation",
    "accuracy_by_strategy",
    "check_picks",
    "latencies_by_strategy",
]

NOISE_MEDIAN_RATIO = 1.05  # a median within 5 % of the best one is within its noise


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
    planner: dict[str, Any] | None = None  # the planner's configuration (``PlannerPick``)

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


@validate_params({"rows": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")]})
def accuracy_by_strategy(rows: Sequence[AccuracyRow]) -> dict[Strategy, float]:
    """Top-1 (or agreement with I) in percent per strategy."""
    return {
        Strategy(r.subject, r.operator, r.tiers): r.value
        for r in rows
        if r.metric in ("top-1", "agreement")
    }


def _confirm(
    pick: Any, best: Strategy, latencies: Mapping[Strategy, list[float]]
) -> Recommendation:
    rec = pick.strategy
    med = {s: float(np.median(latencies[s])) for s in (rec, best)}
    delta = cliffs_delta(latencies[rec], latencies[best]) if rec != best else 0.0
    same = (
        rec == best
        or magnitude(delta) == "negligible"
        or med[rec] <= NOISE_MEDIAN_RATIO * med[best]
    )
    return Recommendation(
        pick.subject, pick.requirement, rec.label, best.label, pick.predicted_s, med[rec],
        med[best], delta, same, pick.to_mapping(),
    )  # fmt: skip


@validate_params(
    {
        "picks": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "latencies": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "accuracy": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "loss": [Interval(float, 0, None)],
    }
)
def check_picks(
    picks: Sequence[Any],
    latencies: Mapping[Strategy, list[float]],
    accuracy: Mapping[Strategy, float],
    *,
    loss: float = 1.0,
) -> list[Recommendation]:
    """Each planner pick (``PlannerPick``) against the measured best for its requirement;
    a requirement no measured strategy meets (or a pick that was not measured) is left out."""
    measured = {s: float(np.median(v)) for s, v in latencies.items()}
    out: list[Recommendation] = []
    for pick in picks:
        if pick.strategy not in measured:
            continue
        cells = [s for s in measured if s.subject == pick.subject and s in accuracy]
        if pick.kind == "budget":
            fits = [s for s in cells if measured[s] <= pick.budget_s]
            key: Any = lambda s: (-accuracy[s], measured[s])  # noqa: E731
        else:
            floor = 0.0
            if pick.kind == "near_identity":
                ident = [accuracy[s] for s in cells if s.operator == "I"]
                if not ident:
                    continue
                floor = max(ident) - loss
            fits = [s for s in cells if accuracy[s] >= floor and accuracy[s] > 0]
            key = measured.__getitem__
        if fits:
            out.append(_confirm(pick, min(fits, key=key), latencies))
    return out
