"""Accuracy comparisons of operators (seed 004, section 4.6.2): the Wilcoxon signed-rank
test on paired accuracy values, Bonferroni over the compared pairs, and Cliff's delta.

The seed pairs, per operator, every (subject, tiers, metric) value, e.g. 6 metrics x 3
tiers = 18 pairs, and compares I-Q, I-E, Q-QE and E-QE with alpha / 4. scipy's exact
distribution is used when the differences have no zeros and no ties (18 same-sign pairs
then give p = 2 / 2**18 = 7.6e-6, the seed's value); otherwise scipy's ``auto`` choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.study._effect import cliffs_delta, magnitude
from splitexit.study._stats import adjust, finite

__all__ = ["SEED_ACCURACY_PAIRS", "AccuracyRow", "WilcoxonTest", "accuracy_tests"]

SEED_ACCURACY_PAIRS: tuple[tuple[str, str], ...] = (
    ("I", "Q"),
    ("I", "E"),
    ("Q", "QE"),
    ("E", "QE"),
)


@returned_type
@dataclass(frozen=True)
class AccuracyRow:
    """One accuracy value in percent: top-1, top-5, mIoU or agreement with identity."""

    subject: str
    operator: str
    tiers: str
    metric: str
    value: float


@returned_type
@dataclass(frozen=True)
class WilcoxonTest:
    a: str  # operator
    b: str
    n: int
    method: str  # "exact" or "auto"
    statistic: float | None
    p_value: float | None
    adjusted_p_value: float | None  # Bonferroni over the compared pairs
    significant: bool
    cliffs_delta: float  # delta(a, b) > 0: a tends to be more accurate
    magnitude: str
    loss_min: float  # min and max of a - b, in points
    loss_max: float


def _paired(rows: Sequence[AccuracyRow], a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    def values(op: str) -> dict[tuple[str, str, str], float]:
        return {(r.subject, r.tiers, r.metric): r.value for r in rows if r.operator == op}

    va, vb = values(a), values(b)
    keys = [k for k in va if k in vb]
    return (
        np.asarray([va[k] for k in keys], dtype=np.float64),
        np.asarray([vb[k] for k in keys], dtype=np.float64),
    )


def wilcoxon_method(x: np.ndarray, y: np.ndarray) -> str:
    """``exact`` when the differences have no zeros and no ties, else ``auto``."""
    d = np.abs(x - y)
    return "exact" if np.all(d > 0) and np.unique(d).size == d.size else "auto"


@validate_params(
    {
        "rows": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "pairs": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "alpha": [Interval(float, 0, 1, closed="neither")],
    }
)
def accuracy_tests(
    rows: Sequence[AccuracyRow],
    *,
    pairs: Sequence[tuple[str, str]] = SEED_ACCURACY_PAIRS,
    alpha: float = 0.05,
) -> tuple[WilcoxonTest, ...]:
    """Wilcoxon signed-rank for each operator pair with paired values, Bonferroni-adjusted.

    >>> rows = [AccuracyRow("m", op, "E", f"k{k}", 90.0 - k * (op == "Q") - 0.1 * k)
    ...         for op in ("I", "Q") for k in range(1, 19)]
    >>> test = accuracy_tests(rows)[0]
    >>> test.method, test.p_value == 2 / 2**18
    ('exact', True)
    """
    from scipy import stats

    raw: list[tuple[str, str, np.ndarray, np.ndarray, str, float, float]] = []
    for a, b in pairs:
        x, y = _paired(rows, a, b)
        if x.size == 0:
            continue
        method = wilcoxon_method(x, y)
        if np.all(x == y):  # no differences at all: nothing to test
            raw.append((a, b, x, y, method, math.nan, math.nan))
            continue
        result = stats.wilcoxon(x, y, method=method)
        raw.append((a, b, x, y, method, float(result.statistic), float(result.pvalue)))
    adjusted = adjust([r[6] for r in raw], "bonferroni")
    out: list[WilcoxonTest] = []
    for (a, b, x, y, method, w, p), q in zip(raw, adjusted, strict=True):
        delta = cliffs_delta(x, y)
        out.append(
            WilcoxonTest(
                a=a,
                b=b,
                n=int(x.size),
                method=method,
                statistic=finite(w),
                p_value=finite(p),
                adjusted_p_value=finite(q),
                significant=math.isfinite(q) and q < alpha,
                cliffs_delta=delta,
                magnitude=magnitude(delta),
                loss_min=float(np.min(x - y)),
                loss_max=float(np.max(x - y)),
            )
        )
    return tuple(out)
