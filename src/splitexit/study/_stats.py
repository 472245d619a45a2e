"""The study's statistics (seed 004, section 4.6), computed by scipy and scikit-posthocs.

Shapiro-Wilk per strategy (with Q-Q data), Kruskal-Wallis per design (Tables 3 and 4),
Conover post-hoc per design with a named p-value adjustment, Cliff's delta on every pair,
and speedups as ratios of pooled medians. Adjusted p-values are taken within a family:
all strategies for Shapiro-Wilk, all designs of one dimension for Kruskal-Wallis, the pairs
of one design for Conover (scikit-posthocs does it), all compared pairs for Wilcoxon.
scipy, scikit-posthocs and statsmodels are imported when called, never by `splitexit`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from splitexit._validation import InstanceOf, Interval, Options, returned_type, validate_params
from splitexit.study._designs import Design, study_designs
from splitexit.study._effect import cliffs_delta, magnitude
from splitexit.study._log import LatencyLog
from splitexit.study._schedule import Strategy

if TYPE_CHECKING:
    from splitexit.study._accuracy import WilcoxonTest

__all__ = [
    "MEDIAN_DEFINITION",
    "KruskalTest",
    "NormalityTest",
    "PairTest",
    "StrategySummary",
    "StudyStatistics",
    "adjust",
    "compute_statistics",
]

MEDIAN_DEFINITION = (
    "median of all latencies of a strategy, its repetitions and samples pooled "
    "(speedup of a over b = median(a) / median(b), > 1 when b is faster)"
)


def finite(value: float) -> float | None:
    """``value`` as a float, or None when it is NaN or infinite (JSON has neither)."""
    number = float(value)
    return number if math.isfinite(number) else None


@validate_params(
    {
        "p_values": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "method": [Options(("holm", "bonferroni"))],
    }
)
def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values (``holm`` or ``bonferroni``) by statsmodels' ``multipletests``.

    >>> adjust([0.01, 0.04], "bonferroni")
    [0.02, 0.08]
    """
    if not p_values:
        return []
    from statsmodels.stats.multitest import multipletests

    kept = [i for i, p in enumerate(p_values) if math.isfinite(p)]
    out = [math.nan] * len(p_values)
    if kept:
        corrected = multipletests([p_values[i] for i in kept], method=method)[1]
        for i, p in zip(kept, corrected, strict=True):
            out[i] = float(p)
    return out


@returned_type
@dataclass(frozen=True)
class StrategySummary:
    strategy: Strategy
    n: int
    median_s: float
    p99_s: float
    mean_s: float
    repetition_median_s: float  # the median of the repetitions' medians


@returned_type
@dataclass(frozen=True)
class NormalityTest:
    strategy: Strategy
    statistic: float | None
    p_value: float | None
    adjusted_p_value: float | None
    normal: bool | None  # adjusted p >= alpha; None when not testable (n < 3)
    qq_theoretical: tuple[float, ...] = field(repr=False, default=())
    qq_ordered: tuple[float, ...] = field(repr=False, default=())


@returned_type
@dataclass(frozen=True)
class PairTest:
    """Conover post-hoc on one pair of a design, with Cliff's delta and the speedup."""

    a: Strategy
    b: Strategy
    p_value: float | None
    adjusted_p_value: float | None
    significant: bool
    cliffs_delta: float  # delta(a, b) < 0: a tends to be faster
    magnitude: str
    speedup: float | None  # median(a) / median(b)


@returned_type
@dataclass(frozen=True)
class KruskalTest:
    design: Design
    statistic: float | None
    p_value: float | None
    adjusted_p_value: float | None
    significant: bool
    pairs: tuple[PairTest, ...]


@returned_type
@dataclass(frozen=True)
class StudyStatistics:
    """Everything ``statistics.json`` holds, before it is written."""

    alpha: float
    p_adjust: str
    summaries: tuple[StrategySummary, ...]
    normality: tuple[NormalityTest, ...]
    kruskal: tuple[KruskalTest, ...]
    wilcoxon: tuple[WilcoxonTest, ...] = ()  # see accuracy_tests


def _summaries(log: LatencyLog) -> list[StrategySummary]:
    reps = log.repetition_medians()
    return [
        StrategySummary(
            strategy=s,
            n=int(x.size),
            median_s=float(np.median(x)),
            p99_s=float(np.quantile(x, 0.99)),
            mean_s=float(np.mean(x)),
            repetition_median_s=float(np.median(reps[s])),
        )
        for s, x in log.groups().items()
    ]


def _normality(
    groups: Mapping[Strategy, np.ndarray], alpha: float, method: str
) -> list[NormalityTest]:
    from scipy import stats

    raw: list[tuple[Strategy, float, float, tuple[float, ...], tuple[float, ...]]] = []
    for s, x in groups.items():
        if x.size < 3 or np.ptp(x) == 0:
            raw.append((s, math.nan, math.nan, (), ()))
            continue
        result = stats.shapiro(x)
        (osm, osr), _ = stats.probplot(x, dist="norm")
        raw.append(
            (
                s,
                float(result.statistic),
                float(result.pvalue),
                tuple(map(float, osm)),
                tuple(map(float, osr)),
            )
        )
    adjusted = adjust([r[2] for r in raw], method)
    return [
        NormalityTest(
            s,
            finite(w),
            finite(p),
            finite(q),
            None if math.isnan(q) else bool(q >= alpha),
            osm,
            osr,
        )
        for (s, w, p, osm, osr), q in zip(raw, adjusted, strict=True)
    ]


def _pairs(
    design: Design, groups: Mapping[Strategy, np.ndarray], alpha: float, method: str
) -> list[PairTest]:
    import scikit_posthocs as sp

    data = [groups[s] for s in design.groups]
    raw = np.asarray(sp.posthoc_conover(data, p_adjust=None).to_numpy(), dtype=np.float64)
    adj = np.asarray(sp.posthoc_conover(data, p_adjust=method).to_numpy(), dtype=np.float64)
    out: list[PairTest] = []
    for i, a in enumerate(design.groups):
        for j in range(i + 1, len(design.groups)):
            b = design.groups[j]
            delta = cliffs_delta(groups[a], groups[b])
            median_b = float(np.median(groups[b]))
            q = finite(adj[i, j])
            out.append(
                PairTest(
                    a=a,
                    b=b,
                    p_value=finite(raw[i, j]),
                    adjusted_p_value=q,
                    significant=q is not None and q < alpha,
                    cliffs_delta=delta,
                    magnitude=magnitude(delta),
                    speedup=finite(float(np.median(groups[a])) / median_b)
                    if median_b > 0
                    else None,
                )
            )
    return out


def _kruskal(groups: Mapping[Strategy, np.ndarray], alpha: float, method: str) -> list[KruskalTest]:
    from scipy import stats

    designs = study_designs(list(groups))
    raw: list[tuple[Design, float, float]] = []
    for design in designs:
        data = [groups[s] for s in design.groups]
        if np.ptp(np.concatenate(data)) == 0:  # all equal: the test is undefined
            raw.append((design, math.nan, math.nan))
            continue
        result = stats.kruskal(*data)
        raw.append((design, float(result.statistic), float(result.pvalue)))
    tests: list[KruskalTest] = []
    for dimension in ("tier", "operator"):
        family = [r for r in raw if r[0].dimension == dimension]
        adjusted = adjust([r[2] for r in family], method)
        for (design, h, p), q in zip(family, adjusted, strict=True):
            pairs = _pairs(design, groups, alpha, method) if math.isfinite(p) else []
            tests.append(
                KruskalTest(
                    design,
                    finite(h),
                    finite(p),
                    finite(q),
                    math.isfinite(p) and p < alpha,
                    tuple(pairs),
                )
            )
    return tests


@validate_params(
    {
        "log": [InstanceOf("splitexit.study._log:LatencyLog")],
        "alpha": [Interval(float, 0, 1, closed="neither")],
        "p_adjust": [InstanceOf(str)],
        "wilcoxon": [InstanceOf(tuple)],
    }
)
def compute_statistics(
    log: LatencyLog,
    *,
    alpha: float = 0.05,
    p_adjust: str = "holm",
    wilcoxon: tuple[WilcoxonTest, ...] = (),
) -> StudyStatistics:
    """All latency statistics of a study from its log; ``wilcoxon`` carries the accuracy
    tests (see ``accuracy_tests``) through.

    The Kruskal-Wallis significance follows the seed (raw p < alpha); the adjusted p is
    reported beside it. A Conover pair is significant when its adjusted p < alpha.

    >>> log = LatencyLog()
    >>> log.add(Strategy("m", "I", "M"), 1, range(5), [5, 6, 7, 8, 9])
    >>> log.add(Strategy("m", "I", "E"), 1, range(5), [1, 2, 3, 4, 5])
    >>> compute_statistics(log).kruskal[0].pairs[0].magnitude
    'large'
    """
    if p_adjust not in ("holm", "bonferroni"):
        raise ValueError(f"p_adjust must be holm or bonferroni, got {p_adjust!r}")
    groups = log.groups()
    return StudyStatistics(
        alpha=alpha,
        p_adjust=p_adjust,
        summaries=tuple(_summaries(log)),
        normality=tuple(_normality(groups, alpha, p_adjust)),
        kruskal=tuple(_kruskal(groups, alpha, p_adjust)),
        wilcoxon=wilcoxon,
    )
