"""The planner's recommendations checked by the measurement.

For each requirement the planner answered (``_planned``), the same requirement is taken over
the measured strategies of the subject (the study's cells and the extra ones the planner
asked for): the fastest measured strategy above the pick's accuracy floor (chance level);
the fastest within ``loss`` points of I's measured accuracy; the most accurate (then
fastest) whose measured median fits the budget. The recommendation is confirmed when its
strategy is the measured best or within the measured noise (``within_noise``): the
repetition is the protocol's unit (each block has its own workers, warm-up and stretch
reference), so the noise is the spread of the repetition medians: the recommended strategy's
median may exceed the best's by at most the best's own spread (max - min of its repetition
medians: how far the best moved when measured again). With one repetition there is no spread
and only the measured best is confirmed.

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
from splitexit.study._effect import cliffs_delta
from splitexit.study._schedule import Strategy

__all__ = [
    "Recommendation",
    "accuracy_by_strategy",
    "check_picks",
    "latencies_by_strategy",
    "repetition_medians",
    "within_noise",
]


@dataclass(frozen=True)
class Recommendation:
    subject: str
    requirement: str
    recommended: str  # strategy label
    measured_best: str
    predicted_median_s: float
    measured_median_s: float  # of the recommended one
    best_median_s: float
    delta: float  # Cliff's delta, recommended vs measured best (reported, not the rule)
    confirmed: bool
    planner: dict[str, Any] | None = None  # the planner's configuration (``PlannerPick``)
    noise_s: float | None = None  # the best's repetition-median spread; None: 1 repetition
    candidates: int = 0  # measured strategies that meet the requirement

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
    """Top-1, mIoU or agreement with I in percent per strategy."""
    return {
        Strategy(r.subject, r.operator, r.tiers): r.value
        for r in rows
        if r.metric in ("top-1", "agreement", "mIoU")
    }


def repetition_medians(path: Path) -> dict[Strategy, list[float]]:
    """Each strategy's median latency per repetition of ``latencies.csv``, in repetition
    order."""
    found: dict[Strategy, dict[int, list[float]]] = {}
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            s = Strategy(row["subject"], row["operator"], row["tiers"])
            found.setdefault(s, {}).setdefault(int(row["repetition"]), []).append(
                float(row["latency_s"])
            )
    return {s: [float(np.median(reps[r])) for r in sorted(reps)] for s, reps in found.items()}


@validate_params(
    {
        "median": [Interval(float, 0, None)],
        "best": [Interval(float, 0, None)],
        "repetitions": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
    }
)
def within_noise(
    median: float, best: float, repetitions: Sequence[float]
) -> tuple[bool, float | None]:
    """Whether ``median`` is within the measured noise of ``best``, and that noise: max - min
    of the best's repetition medians ``repetitions``; None, and only a median no larger
    than the best's counts, with fewer than two repetitions.

    >>> within_noise(2.1, 2.0, [1.9, 2.2])
    (True, 0.3...)
    >>> within_noise(2.5, 2.0, [1.9, 2.2])
    (False, 0.3...)
    """
    if len(repetitions) < 2:
        return median <= best, None
    noise = max(repetitions) - min(repetitions)
    return median - best <= noise, noise


def _confirm(
    pick: Any,
    best: Strategy,
    latencies: Mapping[Strategy, list[float]],
    repetitions: Mapping[Strategy, Sequence[float]],
    candidates: int,
) -> Recommendation:
    rec = pick.strategy
    med = {s: float(np.median(latencies[s])) for s in (rec, best)}
    delta = cliffs_delta(latencies[rec], latencies[best]) if rec != best else 0.0
    close, noise = within_noise(med[rec], med[best], list(repetitions.get(best, ())))
    return Recommendation(
        pick.subject, pick.requirement, rec.label, best.label, pick.predicted_s, med[rec],
        med[best], delta, rec == best or close, pick.to_mapping(), noise, candidates,
    )  # fmt: skip


@validate_params(
    {
        "picks": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "latencies": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "accuracy": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "loss": [Interval(float, 0, None)],
        "repetitions": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
    }
)
def check_picks(
    picks: Sequence[Any],
    latencies: Mapping[Strategy, list[float]],
    accuracy: Mapping[Strategy, float],
    *,
    loss: float = 1.0,
    repetitions: Mapping[Strategy, Sequence[float]] | None = None,
) -> list[Recommendation]:
    """Each planner pick (``PlannerPick``) against the measured best for its requirement;
    a requirement no measured strategy meets (or a pick that was not measured) is left out.
    ``repetitions`` (``repetition_medians``) gives the noise; without it only the measured
    best is confirmed. "fastest" keeps the strategies above the pick's ``min_accuracy``
    (chance level), as the planner did."""
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
            floor = float(getattr(pick, "min_accuracy", 0.0))
            if pick.kind == "near_identity":
                ident = [accuracy[s] for s in cells if s.operator == "I"]
                if not ident:
                    continue
                floor = max(ident) - loss
            if pick.kind == "fastest":  # above chance: a guess is no recommendation
                fits = [s for s in cells if accuracy[s] > floor]
            else:
                fits = [s for s in cells if accuracy[s] >= floor and accuracy[s] > 0]
            key = measured.__getitem__
        if fits:
            best = min(fits, key=key)
            out.append(_confirm(pick, best, latencies, repetitions or {}, len(fits)))
    return out
