from __future__ import annotations

import pytest
from scipy import stats as st

from splitexit.study import Prediction, Strategy, compute_statistics, kendall_tau, prediction_table
from tests.study.synthetic import synthetic_log


def test_kendall_tau_equals_scipy() -> None:
    s = [Strategy("a", "I", t) for t in "MEC"] + [Strategy("a", "P", "ME")]
    predicted = dict(zip(s, [2.0, 1.0, 4.0, 3.0], strict=True))
    measured = dict(zip(s, [2.5, 0.9, 3.0, 3.5], strict=True))
    tau, p = kendall_tau(predicted, measured)
    direct = st.kendalltau([2.0, 1.0, 4.0, 3.0], [2.5, 0.9, 3.0, 3.5])
    assert (tau, p) == (direct.statistic, direct.pvalue)
    assert tau == pytest.approx(2 / 3)


def test_kendall_tau_undefined_cases_are_none() -> None:
    a, b = Strategy("a", "I", "M"), Strategy("a", "I", "E")
    assert kendall_tau({a: 1.0}, {a: 2.0}) == (None, None)
    assert kendall_tau({a: 1.0, b: 1.0}, {a: 2.0, b: 3.0}) == (None, None)


def test_prediction_table_rows_errors_and_ranks() -> None:
    summaries = compute_statistics(synthetic_log()).summaries
    measured = {m.strategy: m for m in summaries}
    ie, im = Strategy("a", "I", "E"), Strategy("a", "I", "M")
    predictions = {
        ie: Prediction(median_s=1.1, p99_s=1.5),
        im: Prediction(0.5, 0.6),
        Strategy("zzz", "I", "E"): Prediction(1.0, 1.0),
    }  # not measured: left out
    rows = prediction_table(predictions, summaries)
    assert [r.strategy for r in rows] == [ie, im]  # measured order: I@E is faster
    assert [r.measured_rank for r in rows] == [1, 2]
    assert [r.predicted_rank for r in rows] == [2, 1]
    assert rows[0].median_error == pytest.approx(
        (1.1 - measured[ie].median_s) / measured[ie].median_s
    )
    assert rows[1].p99_error == pytest.approx((0.6 - measured[im].p99_s) / measured[im].p99_s)
