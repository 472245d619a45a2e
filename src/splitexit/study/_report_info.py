"""What the study report shows, computed before anything is drawn (the house rule)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.study._accuracy import AccuracyRow
from splitexit.study._effect import magnitude_letter
from splitexit.study._findings import Finding, seed_findings
from splitexit.study._log import LatencyLog
from splitexit.study._predict import Prediction, PredictionRow, kendall_tau, prediction_table
from splitexit.study._schedule import Strategy
from splitexit.study._stats import MEDIAN_DEFINITION, StudyStatistics

__all__ = ["BoxPanel", "DesignTable", "QQPanel", "StudyReportInfo", "study_report_info"]


@dataclass(frozen=True)
class DesignTable:
    """One Kruskal-Wallis design in the seed's style: the test, then a matrix whose cell
    (row, column) is Cliff's delta of the row against the column as a sign and letter
    (positive: the column is faster), empty when Conover finds no significant difference."""

    title: str
    dimension: str
    statistic: float | None
    p_value: float | None
    adjusted_p_value: float | None
    labels: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, eq=False)
class BoxPanel:
    title: str
    labels: tuple[str, ...]
    data: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class QQPanel:
    title: str
    theoretical: tuple[float, ...]
    ordered: tuple[float, ...]


@returned_type
@dataclass(frozen=True, eq=False)
class StudyReportInfo:
    name: str
    setting: str  # topology and protocol, in words
    median_definition: str
    stats: StudyStatistics
    tables: tuple[DesignTable, ...]
    box_by_tier: dict[str, tuple[BoxPanel, ...]]  # subject -> panels
    box_by_operator: dict[str, tuple[BoxPanel, ...]]
    qq: dict[str, tuple[QQPanel, ...]]
    accuracy: tuple[AccuracyRow, ...]
    findings: tuple[Finding, ...]
    predictions: tuple[PredictionRow, ...]
    kendall: tuple[float | None, float | None]


def _short(s: Strategy) -> str:
    return f"{s.operator}@{s.tiers}"


def _tables(stats: StudyStatistics) -> list[DesignTable]:
    tables = []
    for k in stats.kruskal:
        labels = tuple(_short(g) for g in k.design.groups)
        index = {g: i for i, g in enumerate(k.design.groups)}
        cells = [["-" if i == j else "" for j in range(len(labels))] for i in range(len(labels))]
        for p in k.pairs:
            if p.significant:
                i, j = index[p.a], index[p.b]
                cells[i][j] = magnitude_letter(p.cliffs_delta)
                cells[j][i] = magnitude_letter(-p.cliffs_delta)
        tables.append(
            DesignTable(
                f"{k.design.subject}: {k.design.name}",
                k.design.dimension,
                k.statistic,
                k.p_value,
                k.adjusted_p_value,
                labels,
                tuple(tuple(row) for row in cells),
            )
        )
    return tables


def _boxes(
    stats: StudyStatistics, groups: Mapping[Strategy, np.ndarray], dimension: str
) -> dict[str, tuple[BoxPanel, ...]]:
    out: dict[str, list[BoxPanel]] = {}
    for k in stats.kruskal:
        if k.design.dimension == dimension:
            out.setdefault(k.design.subject, []).append(
                BoxPanel(
                    k.design.name,
                    tuple(_short(g) for g in k.design.groups),
                    tuple(groups[g] for g in k.design.groups),
                )
            )
    return {subject: tuple(panels) for subject, panels in out.items()}


@validate_params(
    {
        "name": [InstanceOf(str)],
        "setting": [InstanceOf(str)],
        "log": [InstanceOf("splitexit.study._log:LatencyLog")],
        "stats": [InstanceOf("splitexit.study._stats:StudyStatistics")],
        "accuracy": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "predictions": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
    }
)
def study_report_info(
    *,
    name: str,
    setting: str,
    log: LatencyLog,
    stats: StudyStatistics,
    accuracy: Sequence[AccuracyRow] = (),
    predictions: Mapping[Strategy, Prediction] | None = None,
) -> StudyReportInfo:
    """Gather the report's tables, plot data and the seed comparison."""
    groups = log.groups()
    qq: dict[str, list[QQPanel]] = {}
    for t in stats.normality:
        if t.qq_theoretical:
            qq.setdefault(t.strategy.subject, []).append(
                QQPanel(_short(t.strategy), t.qq_theoretical, t.qq_ordered)
            )
    rows: tuple[PredictionRow, ...] = ()
    tau: tuple[float | None, float | None] = (None, None)
    if predictions:
        rows = tuple(prediction_table(predictions, stats.summaries))
        tau = kendall_tau(
            {s: p.median_s for s, p in predictions.items()},
            {m.strategy: m.median_s for m in stats.summaries},
        )
    return StudyReportInfo(
        name=name,
        setting=setting,
        median_definition=MEDIAN_DEFINITION,
        stats=stats,
        tables=tuple(_tables(stats)),
        box_by_tier=_boxes(stats, groups, "tier"),
        box_by_operator=_boxes(stats, groups, "operator"),
        qq={subject: tuple(panels) for subject, panels in qq.items()},
        accuracy=tuple(accuracy),
        findings=seed_findings(stats.summaries, accuracy),
        predictions=rows,
        kendall=tau,
    )
