from __future__ import annotations

from splitexit.study import AccuracyRow, Strategy
from splitexit.study._recommend import recommend


def test_recommend_checks_predictions_against_measurements() -> None:
    i, q, e = (Strategy("m", op, "E") for op in ("I", "Q", "E"))
    predicted = {i: 3.0, q: 2.0, e: 1.0}
    latencies = {i: [3.0, 3.1, 3.2], q: [1.0, 1.1, 1.2], e: [2.0, 2.1, 2.2]}
    accuracy = [
        AccuracyRow("m", "I", "E", "top-1", 99.0),
        AccuracyRow("m", "Q", "E", "top-1", 98.5),
        AccuracyRow("m", "E", "E", "top-1", 90.0),
    ]
    recs = {r.requirement: r for r in recommend(predicted, latencies, accuracy)}
    fastest = recs["fastest"]
    assert (fastest.recommended, fastest.measured_best) == ("m E@E", "m Q@E")
    assert not fastest.confirmed and fastest.delta == 1.0  # every E latency above every Q one
    within = recs["accuracy >= I - 1 points"]
    assert (within.recommended, within.measured_best, within.confirmed) == ("m Q@E", "m Q@E", True)
    budget = next(r for k, r in recs.items() if k.startswith("latency"))
    assert budget.recommended == "m Q@E" and budget.confirmed
