"""``statistics.json``: every test with its statistic, p-value and adjusted p-value.

Numbers are finite or null (JSON has no NaN); Conover's statistic is null because
scikit-posthocs reports p-values only. Q-Q data stays out (it is in the report's plots).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splitexit._boundary import atomic_write_text
from splitexit._validation import InstanceOf, Interval, Options, PathLike, validate_params
from splitexit.study._accuracy import AccuracyRow, accuracy_tests
from splitexit.study._log import read_latencies
from splitexit.study._schedule import Strategy
from splitexit.study._stats import MEDIAN_DEFINITION, StudyStatistics, compute_statistics

__all__ = ["STATISTICS_SCHEMA", "statistics_from_csv", "statistics_json", "write_statistics"]

STATISTICS_SCHEMA = "splitexit.statistics/1"


def _strategy(s: Strategy) -> dict[str, str]:
    return {"subject": s.subject, "operator": s.operator, "tiers": s.tiers}


@validate_params({"stats": [InstanceOf("splitexit.study._stats:StudyStatistics")]})
def statistics_json(stats: StudyStatistics) -> dict[str, Any]:
    """The JSON document of ``stats`` (plain dicts, lists, finite numbers, null)."""
    return {
        "schema": STATISTICS_SCHEMA,
        "alpha": stats.alpha,
        "p_adjust": stats.p_adjust,
        "median": MEDIAN_DEFINITION,
        "strategies": [
            {
                **_strategy(s.strategy),
                "n": s.n,
                "median_s": s.median_s,
                "p99_s": s.p99_s,
                "mean_s": s.mean_s,
                "repetition_median_s": s.repetition_median_s,
            }
            for s in stats.summaries
        ],
        "shapiro_wilk": [
            {
                **_strategy(t.strategy),
                "test": "shapiro-wilk",
                "statistic": t.statistic,
                "p_value": t.p_value,
                "adjusted_p_value": t.adjusted_p_value,
                "normal": t.normal,
            }
            for t in stats.normality
        ],
        "kruskal_wallis": [
            {
                "test": "kruskal-wallis",
                "design": k.design.name,
                "dimension": k.design.dimension,
                "subject": k.design.subject,
                "groups": [f"{g.operator}@{g.tiers}" for g in k.design.groups],
                "statistic": k.statistic,
                "p_value": k.p_value,
                "adjusted_p_value": k.adjusted_p_value,
                "significant": k.significant,
                "conover": [
                    {
                        "test": "conover",
                        "a": f"{p.a.operator}@{p.a.tiers}",
                        "b": f"{p.b.operator}@{p.b.tiers}",
                        "statistic": None,
                        "p_value": p.p_value,
                        "adjusted_p_value": p.adjusted_p_value,
                        "significant": p.significant,
                        "cliffs_delta": p.cliffs_delta,
                        "magnitude": p.magnitude,
                        "speedup": p.speedup,
                    }
                    for p in k.pairs
                ],
            }
            for k in stats.kruskal
        ],
        "wilcoxon": [
            {
                "test": "wilcoxon",
                "a": w.a,
                "b": w.b,
                "n": w.n,
                "method": w.method,
                "statistic": w.statistic,
                "p_value": w.p_value,
                "adjusted_p_value": w.adjusted_p_value,
                "adjustment": "bonferroni",
                "significant": w.significant,
                "cliffs_delta": w.cliffs_delta,
                "magnitude": w.magnitude,
                "loss_min": w.loss_min,
                "loss_max": w.loss_max,
            }
            for w in stats.wilcoxon
        ],
    }


@validate_params(
    {"stats": [InstanceOf("splitexit.study._stats:StudyStatistics")], "path": [PathLike()]}
)
def write_statistics(stats: StudyStatistics, path: Path) -> None:
    """Write ``statistics.json`` atomically; a non-finite number is a bug, not output."""
    text = json.dumps(statistics_json(stats), indent=2, allow_nan=False)
    atomic_write_text(path, text + "\n")


@validate_params(
    {
        "path": [PathLike()],
        "alpha": [Interval(float, 0, 1, closed="neither")],
        "p_adjust": [Options(("holm", "bonferroni"))],
        "accuracy": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
    }
)
def statistics_from_csv(
    path: Path,
    *,
    alpha: float = 0.05,
    p_adjust: str = "holm",
    accuracy: Sequence[AccuracyRow] = (),
) -> StudyStatistics:
    """Recompute every statistic from ``latencies.csv`` alone (plus accuracy, if any).

    >>> stats = statistics_from_csv(Path("out/latencies.csv"))  # doctest: +SKIP
    """
    log = read_latencies(path)
    wilcoxon = accuracy_tests(accuracy, alpha=alpha) if accuracy else ()
    return compute_statistics(log, alpha=alpha, p_adjust=p_adjust, wilcoxon=wilcoxon)
