"""``run_study``: schedule -> executor -> latencies.csv -> statistics.json -> report.

The executor that deploys and times strategies on the runtime plugs in through
:class:`StrategyExecutor` (or a plain function). The folder is built in a hidden sibling and
swapped in at the end (``_transaction.Outputs``), so a failed or interrupted study leaves no
half-written ``OUT`` and no temporary folder.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from splitexit._boundary import claim_folder
from splitexit._transaction import Outputs
from splitexit._validation import Callable_, InstanceOf, PathLike, returned_type, validate_params
from splitexit.study._accuracy import AccuracyRow, accuracy_tests
from splitexit.study._json import write_statistics
from splitexit.study._log import LatencyLog
from splitexit.study._predict import Prediction
from splitexit.study._render import ReportFiles, write_report
from splitexit.study._report_info import study_report_info
from splitexit.study._schedule import Event, Strategy, choose_samples, make_schedule
from splitexit.study._spec import Study
from splitexit.study._stats import StudyStatistics, compute_statistics

__all__ = ["StrategyExecutor", "StudyResult", "run_study", "study_schedule", "study_strategies"]

RunFunction = Callable[[Strategy, Sequence[int]], Sequence[float]]


@runtime_checkable
class StrategyExecutor(Protocol):
    """Runs strategies: ``run_strategy`` returns one round-trip latency in seconds per
    sample, in order; ``restart`` gives the strategy fresh workers."""

    def run_strategy(self, strategy: Strategy, samples: Sequence[int]) -> Sequence[float]: ...

    def restart(self, strategy: Strategy) -> None: ...


@dataclass(frozen=True)
class _FunctionExecutor:
    function: RunFunction

    def run_strategy(self, strategy: Strategy, samples: Sequence[int]) -> Sequence[float]:
        return self.function(strategy, samples)

    def restart(self, strategy: Strategy) -> None:
        """A plain function has no workers to restart."""


@returned_type
@dataclass(frozen=True)
class StudyResult:
    out: Path
    latencies: Path
    statistics_path: Path
    report: ReportFiles
    statistics: StudyStatistics
    events: int


@validate_params({"study": [InstanceOf("splitexit.study._spec:Study")]})
def study_strategies(study: Study) -> list[Strategy]:
    """Every (subject, operator, tiers) cell of the study, subjects first."""
    return [Strategy(subject, op, tiers) for subject in study.subjects for op, tiers in study.cells]


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "input_sizes": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
        "extra": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
    }
)
def study_schedule(
    study: Study,
    input_sizes: Mapping[str, Sequence[int]] | None = None,
    extra: Sequence[Strategy] = (),
) -> list[Event]:
    """The study's protocol. With ``input_sizes`` (per subject, one size per sample of its
    set) the samples follow ``samples.choice``; without, they are 0 .. count - 1. ``extra``
    strategies (the planner's recommendations that are not study cells) join the schedule
    after the study's own, measured the same way."""
    spec = study.spec
    samples: dict[str, tuple[int, ...]] = {}
    for subject in study.subjects:
        if input_sizes is not None and subject in input_sizes:
            samples[subject] = choose_samples(
                input_sizes[subject],
                spec.samples.count,
                choice=spec.samples.choice,
                seed=spec.samples.seed,
            )
        else:
            samples[subject] = tuple(range(spec.samples.count))
    strategies = study_strategies(study)
    strategies += [s for s in dict.fromkeys(extra) if s not in strategies]
    return make_schedule(
        strategies,
        samples,
        repetitions=spec.repetitions,
        warmup=spec.warmup,
        inferences=spec.inferences,
        order=spec.order.kind,
        seed=spec.order.seed,
    )


def _setting(study: Study) -> str:
    spec, topo = study.spec, study.topology
    tiers = ", ".join(f"{letter} = {name}" for letter, name in spec.tiers.items())
    return (
        f"Topology {topo.name} ({tiers}). Per strategy: {spec.warmup} warm-up inferences "
        f"after each restart, {spec.repetitions} repetitions of {spec.inferences} "
        f"sequential inferences over {spec.samples.count} samples ({spec.samples.choice}), "
        f"order {spec.order.kind}. Alpha {spec.alpha}, p-values adjusted by "
        f"{spec.p_adjust} (Wilcoxon: Bonferroni)."
    )


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "out": [PathLike()],
        "executor": [Callable_(), InstanceOf(StrategyExecutor, name="a StrategyExecutor")],
        "input_sizes": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
        "accuracy": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "predictions": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
        "extra": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "finish": [Callable_(), None],
    }
)
def run_study(
    study: Study,
    out: Path,
    executor: StrategyExecutor | RunFunction,
    *,
    input_sizes: Mapping[str, Sequence[int]] | None = None,
    accuracy: Sequence[AccuracyRow] = (),
    predictions: Mapping[Strategy, Prediction] | None = None,
    extra: Sequence[Strategy] = (),
    finish: Callable[[StudyResult], None] | None = None,
) -> StudyResult:
    """Run the protocol through ``executor`` and write the study folder ``out`` (new, empty
    or an earlier study's: anything else is refused before the protocol starts). ``finish``,
    when given, may add to the folder before it is swapped in: it gets the result with paths
    inside the hidden staging folder.

    >>> result = run_study(load_study("s.yaml"), Path("out"), fake)  # doctest: +SKIP
    >>> result.statistics.kruskal[0].significant  # doctest: +SKIP
    True
    """
    claim_folder(out, "out", "study")  # before the protocol, never a folder of the user's
    runner = executor if isinstance(executor, StrategyExecutor) else _FunctionExecutor(executor)
    events = study_schedule(study, input_sizes, extra)
    log = LatencyLog()
    for event in events:
        if event.kind == "restart":
            runner.restart(event.strategy)
        elif event.kind == "warmup":
            runner.run_strategy(event.strategy, event.samples)
        else:
            latencies = runner.run_strategy(event.strategy, event.samples)
            log.add(event.strategy, event.repetition, event.samples, latencies)
    spec = study.spec
    wilcoxon = accuracy_tests(accuracy, alpha=spec.alpha) if accuracy else ()
    stats = compute_statistics(log, alpha=spec.alpha, p_adjust=spec.p_adjust, wilcoxon=wilcoxon)
    with Outputs() as outputs:  # the folder appears whole at the end, or not at all
        partial = outputs.folder(out, owner="study")
        log.write(partial / "latencies.csv")
        write_statistics(stats, partial / "statistics.json")
        info = study_report_info(
            name=spec.name,
            setting=_setting(study),
            log=log,
            stats=stats,
            accuracy=accuracy,
            predictions=predictions,
        )
        write_report(info, partial)
        if finish is not None:
            finish(_result(partial, stats, len(events)))
    return _result(out, stats, len(events))


def _result(folder: Path, stats: StudyStatistics, events: int) -> StudyResult:
    report = ReportFiles(
        folder / "report.md",
        folder / "report.html",
        tuple(sorted((folder / "figures").glob("*.png"))),
    )
    return StudyResult(
        folder, folder / "latencies.csv", folder / "statistics.json", report, stats, events
    )
