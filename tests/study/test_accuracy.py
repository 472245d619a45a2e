from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as st

from splitexit.study import AccuracyRow, accuracy_tests, cliffs_delta

SUBJECTS = ("resnet", "resnext", "fcn", "duc")


def _rows(op: str, values: list[float]) -> list[AccuracyRow]:
    keys = [
        (s, t, m)
        for t in "MEC"
        for s, m in (
            ("resnet", "top1"),
            ("resnet", "top5"),
            ("resnext", "top1"),
            ("resnext", "top5"),
            ("fcn", "miou"),
            ("duc", "miou"),
        )
    ]
    return [AccuracyRow(s, op, t, m, v) for (s, t, m), v in zip(keys, values, strict=True)]


def test_wilcoxon_exact_18_same_sign_pairs_is_the_seeds_p() -> None:
    identity = [80.0 + k for k in range(18)]
    quant = [v - 0.05 - 0.01 * k for k, v in enumerate(identity)]  # 18 distinct losses
    (test,) = accuracy_tests(_rows("I", identity) + _rows("Q", quant))
    assert test.method == "exact" and test.n == 18
    assert test.p_value == 2 / 2**18
    assert f"{test.p_value:.1e}" == "7.6e-06"
    assert test.statistic == 0.0
    assert test.adjusted_p_value == test.p_value  # one pair compared: Bonferroni x 1
    assert test.significant
    assert test.loss_min == pytest.approx(0.05) and test.loss_max == pytest.approx(0.22)


def test_wilcoxon_bonferroni_over_the_compared_pairs() -> None:
    rng = np.random.default_rng(3)
    base = list(80 + rng.random(18) * 10)
    rows = _rows("I", base)
    rows += _rows("Q", [v - 0.1 - rng.random() for v in base])
    rows += _rows("E", [v - 3 - rng.random() for v in base])
    rows += _rows("QE", [v - 3.5 - rng.random() for v in base])
    tests = accuracy_tests(rows)
    assert [(t.a, t.b) for t in tests] == [("I", "Q"), ("I", "E"), ("Q", "QE"), ("E", "QE")]
    for t in tests:
        x = np.array([r.value for r in rows if r.operator == t.a])
        y = np.array([r.value for r in rows if r.operator == t.b])
        direct = st.wilcoxon(x, y, method=t.method)
        assert t.p_value == direct.pvalue
        assert t.adjusted_p_value == min(1.0, 4 * direct.pvalue)
        assert t.cliffs_delta == cliffs_delta(x, y)


def test_wilcoxon_with_ties_falls_back_to_scipy_auto() -> None:
    identity = [80.0 + k for k in range(18)]
    (test,) = accuracy_tests(_rows("I", identity) + _rows("Q", [v - 1.0 for v in identity]))
    assert test.method == "auto"
    direct = st.wilcoxon(identity, [v - 1.0 for v in identity])
    assert test.p_value == direct.pvalue


def test_wilcoxon_identical_values_give_null_p() -> None:
    values = [80.0] * 18
    (test,) = accuracy_tests(_rows("I", values) + _rows("Q", values))
    assert test.p_value is None and not test.significant and test.magnitude == "negligible"


def test_accuracy_tests_skip_pairs_without_data() -> None:
    assert accuracy_tests(_rows("I", [1.0] * 18)) == ()
