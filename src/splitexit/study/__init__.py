"""Seed 004's deployment-strategy study: the `splitexit.study/1` file, the measurement
protocol as a schedule, the latency log, the statistics (scipy, scikit-posthocs), the
report and predicted-vs-measured helpers. The runtime plugs in as a ``StrategyExecutor``.

scipy, scikit-posthocs, statsmodels and matplotlib are imported only when used (the
``study`` extra of pyproject.toml).

>>> from splitexit.study import cliffs_delta, magnitude
>>> magnitude(cliffs_delta([1, 2, 3], [2, 4]))
'large'
"""

from splitexit.study._accuracy import (
    SEED_ACCURACY_PAIRS,
    AccuracyRow,
    WilcoxonTest,
    accuracy_tests,
)
from splitexit.study._designs import Design, study_designs
from splitexit.study._effect import cliffs_delta, magnitude, magnitude_letter
from splitexit.study._findings import Finding, seed_findings
from splitexit.study._json import statistics_from_csv, statistics_json, write_statistics
from splitexit.study._log import COLUMNS, LatencyLog, read_latencies
from splitexit.study._predict import Prediction, PredictionRow, kendall_tau, prediction_table
from splitexit.study._render import ReportFiles, write_report
from splitexit.study._report_info import StudyReportInfo, study_report_info
from splitexit.study._run import (
    StrategyExecutor,
    StudyResult,
    run_study,
    study_schedule,
    study_strategies,
)
from splitexit.study._schedule import Event, Strategy, choose_samples, make_schedule
from splitexit.study._spec import (
    OPERATORS,
    TIER_SETS,
    Study,
    StudySpec,
    load_study,
    model_profile,
    seed_tier_sets,
    study_from_mapping,
    with_subject_files,
)
from splitexit.study._stats import (
    KruskalTest,
    NormalityTest,
    PairTest,
    StrategySummary,
    StudyStatistics,
    adjust,
    compute_statistics,
)

__all__ = [
    "COLUMNS",
    "OPERATORS",
    "SEED_ACCURACY_PAIRS",
    "TIER_SETS",
    "AccuracyRow",
    "Design",
    "Event",
    "Finding",
    "KruskalTest",
    "LatencyLog",
    "NormalityTest",
    "PairTest",
    "Prediction",
    "PredictionRow",
    "ReportFiles",
    "RuntimeExecutor",
    "Strategy",
    "StrategyExecutor",
    "StrategySummary",
    "Study",
    "StudyReportInfo",
    "StudyResult",
    "StudySpec",
    "StudyStatistics",
    "WilcoxonTest",
    "accuracy_tests",
    "adjust",
    "check_picks",
    "choose_samples",
    "cliffs_delta",
    "compute_statistics",
    "kendall_tau",
    "load_study",
    "magnitude",
    "magnitude_letter",
    "make_schedule",
    "measured_study",
    "model_profile",
    "plan_study",
    "prediction_table",
    "quick_study",
    "read_latencies",
    "run_study",
    "seed_findings",
    "seed_tier_sets",
    "statistics_from_csv",
    "statistics_json",
    "study_designs",
    "study_from_mapping",
    "study_report_info",
    "study_schedule",
    "study_strategies",
    "with_subject_files",
    "write_report",
    "write_statistics",
]


_LAZY = {
    "RuntimeExecutor": "splitexit.study._executor",
    "measured_study": "splitexit.study._measured",
    "quick_study": "splitexit.study._measured",
    "check_picks": "splitexit.study._recommend",
    "plan_study": "splitexit.study._planned",
}


def __getattr__(name: str) -> object:
    """The runtime executor and its pipeline load the operators room only when asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'splitexit.study' has no attribute {name!r}")
