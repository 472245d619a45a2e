"""`splitexit run`: profile (or reuse), plan, export, deploy on the testbed, measure, report.

The report folder is built in a hidden sibling (``.OUT.<random>.partial``) and swapped in for
``OUT`` at the end (``_transaction.Outputs``), so an interrupted or failed run never leaves a
report that looks complete, nor its temporary folder:

```
OUT/experiment.json     the experiment as run (validated, defaults filled in)
OUT/plan.json           `splitexit plan --json` of the profile on the topology
OUT/pareto.png          the Pareto frontier (as `splitexit plan --plot`)
OUT/exports/NN/         ONNX partitions + manifest of configuration NN (01 = recommended)
OUT/measurements/NN.json  splitexit.measurement/1 of configuration NN
OUT/fidelity.json|md|png  predicted against measured (docs/fidelity.md)
OUT/summary.md          what was run, the recommendation, measured against predicted
OUT/report.html         the same with interactive plots (self-contained, opens offline)
```
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitexit._boundary import atomic_write_text, claim_folder, dump_json, mark_folder
from splitexit._transaction import Outputs
from splitexit._validation import (
    Callable_,
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.experiment._pipeline import (
    default_work_dir,
    deploy_and_measure,
    export_configuration,
    export_net,
    open_deployment,
    profile_data,
)
from splitexit.experiment._spec import Experiment

if TYPE_CHECKING:
    from splitexit.profile import Profile
    from splitexit.profiling import ProfileSettings

__all__ = ["ExperimentResult", "run_experiment"]

Say = Callable[[str], None]
Bar = Callable[[str, int], AbstractContextManager[Callable[[], None]]]


@returned_type
@dataclass(frozen=True)
class ExperimentResult:
    """Where the report is and the figures a caller prints."""

    out: Path
    summary_markdown: str
    fidelity: dict[str, Any]
    wall_s: float
    samples: int = 0
    """Samples streamed over every measured configuration."""
    failed: int = 0
    """Of them, those that failed (the CLI's exit status counts them)."""


def _profile_file(experiment: Experiment, say: Say) -> str:
    """The profile to plan with: as named, or first made by training when its file is
    missing and the experiment says how (``train``)."""
    spec = experiment.resolve(experiment.profile)
    if experiment.train is not None and spec.endswith(".json") and not Path(spec).exists():
        train = _train_inputs(experiment)
        say(f"profiling {train[0]} on {train[1]} into {spec}")
        _train_profile(experiment, Path(spec))
    elif experiment.train is not None and spec.endswith(".json"):
        _refuse_stale(experiment, spec)
    return spec


def _refuse_stale(experiment: Experiment, spec: str) -> None:
    """A profile made with other train settings (or model source, or data) is never reused."""
    from splitexit.profile import load_profile

    recorded = (load_profile(spec).training or {}).get("cache_key")
    expected = _profile_settings(experiment).key()
    if recorded != expected:
        raise InputError(
            f"{spec}: made with other train settings, model source or data than the "
            f"experiment's train section (cache key {str(recorded)[:12]}, expected "
            f"{expected[:12]}); delete it to profile again"
        )


def _train_profile(experiment: Experiment, out: Path) -> None:
    from splitexit.profiling import profile_model, write_profile

    profile, trace = profile_model(_profile_settings(experiment))
    write_profile(profile, trace, out)


def _profile_settings(experiment: Experiment) -> ProfileSettings:
    import dataclasses

    from splitexit.profiling import ProfileSettings
    from splitexit.training import TrainConfig, default_precision

    train = experiment.train
    assert train is not None
    model, dataset = _train_inputs(experiment)
    joint = TrainConfig(epochs=train.epochs, seed=train.seed, precision=default_precision("cpu"))
    settings = ProfileSettings(
        model=model,
        dataset=dataset,
        # checkpoints in the cache folder of these inputs unless the experiment names one
        work_dir=experiment.path(experiment.work_dir) if experiment.work_dir else None,
        joint=joint,
        separate=dataclasses.replace(joint, epochs=train.separate_epochs, lr=0.02),
        width=train.width,
        data_dir=experiment.path(experiment.data_dir) if experiment.data_dir else None,
    )
    return settings


def _train_inputs(experiment: Experiment) -> tuple[str, str]:
    """The train section's model and dataset, user files read from the experiment's folder
    (``my_model.py:factory``, ``data.npz``); built-in names as they are."""
    train = experiment.train
    assert train is not None
    model = train.model
    where, colon, factory = model.rpartition(":")
    if colon and where.endswith(".py"):
        model = f"{experiment.resolve(where)}:{factory}"
    return model, experiment.resolve(train.dataset)


def _work_dir(experiment: Experiment, profile: Profile) -> Path:
    """Where the profile's checkpoints are: the experiment's ``work_dir``, else the cache
    folder the profile records, else ``runs/MODEL-DATASET`` (profiles made before the cache)."""
    if experiment.work_dir is not None:
        return experiment.path(experiment.work_dir)
    from splitexit.training import profile_run_dir

    return profile_run_dir(profile) or default_work_dir(profile.model, profile.dataset)


_REPORT_FILES = frozenset(
    {"experiment.json", "plan.json", "pareto.png", "measurements", "exports", "fidelity.json",
     "fidelity.md", "fidelity.png", "summary.md"}
)  # fmt: skip


@validate_params({"out": [PathLike()], "option": [InstanceOf(str)]})
def check_report_folder(out: Path, option: str = "out") -> None:
    """Refuse ``out`` unless it is new, empty or an earlier report of `splitexit run` (marked,
    or written before reports were marked); nothing else is ever replaced.

    >>> check_report_folder(Path("runs/experiments/new-one"))
    """
    _adopt_earlier_report(out)
    claim_folder(out, option, "run")


def _adopt_earlier_report(out: Path) -> None:
    """Mark a report folder written before folders were marked: it holds summary.md and only
    files this command writes."""
    if out.is_dir() and (out / "summary.md").is_file():
        names = {p.name for p in out.iterdir()}
        if names <= _REPORT_FILES:
            mark_folder(out, "run")


@validate_params(
    {
        "experiment": [InstanceOf(Experiment)],
        "out": [PathLike()],
        "say": [Callable_()],
        "bar": [Callable_(), None],
    }
)
def run_experiment(
    experiment: Experiment, out: Path, *, say: Say = print, bar: Bar | None = None
) -> ExperimentResult:
    """Run ``experiment`` end to end and write its report folder ``out`` (replaced).

    ``bar(description, samples)``, when given, makes a context manager per configuration
    whose value is the testbed's ``progress`` hook (the CLI's progress bar)."""
    from splitexit.export import load_profile_joint
    from splitexit.fidelity import (
        compare_many,
        configurations_to_measure,
        make_case,
        measurement_from_mapping,
    )
    from splitexit.planner import plan
    from splitexit.profile import load_profile, load_profile_trace, profile_path
    from splitexit.reports import (
        fidelity_info,
        fidelity_json,
        fidelity_markdown,
        fidelity_section,
        pareto_plot_info,
        pareto_section,
        render_fidelity_plot,
        render_pareto_plot,
        write_html_report,
    )
    from splitexit.runtime import TestbedOptions
    from splitexit.topology import load_topology

    check_report_folder(out)  # never replace a folder this command did not write
    started = time.monotonic()
    options = TestbedOptions(
        samples=experiment.measure.samples,
        clients=experiment.measure.clients,
        compute_mode=experiment.measure.compute_mode,
        threads=experiment.measure.threads,
        deadline_s=experiment.measure.deadline_s,
        transport=experiment.measure.transport,
        network=experiment.measure.network,
        warmup=experiment.measure.warmup,
    )
    spec = _profile_file(experiment, say)
    profile = load_profile(spec)
    if profile.trace is None:
        raise InputError(
            f"{spec}: the profile has no per-sample trace; `splitexit run` predicts each "
            "sample's exit from it (profile with `splitexit profile`)"
        )
    trace = load_profile_trace(profile, profile_path(spec))
    if profile.timings is not None and "onnxruntime" in profile.timings:
        profile = profile.for_engine("onnxruntime")  # the workers' engine
    if (warning := profile.timing_warning()) is not None:
        say(f"warning: {warning}")
    topology = load_topology(experiment.resolve(experiment.topology))
    onnx = profile.onnx is not None  # a user's ONNX model: pieces, its own samples
    joint, data = None, None
    if not onnx:
        folder = _work_dir(experiment, profile)
        joint = load_profile_joint(profile, spec, folder)
        data_dir = experiment.path(experiment.data_dir) if experiment.data_dir else None
        data = profile_data(profile, data_dir)  # as profiled: the recorded preprocessing

    with Outputs() as outputs:  # the report folder appears whole at the end, or not at all
        partial = outputs.folder(out, owner="run")
        (partial / "measurements").mkdir()
        atomic_write_text(
            partial / "experiment.json",
            dump_json(experiment.model_dump(mode="json", by_alias=True)),
        )

        say(f"planning {profile.model} on {profile.dataset} over {topology.name}")
        result = plan(
            profile,
            topology,
            min_accuracy=experiment.requirement.min_accuracy,
            max_latency_s=experiment.requirement.max_latency_s,
            trace=trace,
            per_exit_thresholds=experiment.per_exit_thresholds,
        )
        atomic_write_text(partial / "plan.json", dump_json(result.to_dict()))
        pareto_info = pareto_plot_info(result)
        render_pareto_plot(pareto_info, partial / "pareto.png")
        points = configurations_to_measure(result, experiment.measure.configurations)
        if onnx:  # an ONNX model's one exit is its last block: partitionings must reach it
            points = [p for p in points if p.config.partition[-1] == profile.num_blocks - 1]

        exports = []
        for n, point in enumerate(points, start=1):
            export_dir = partial / "exports" / f"{n:02d}"
            if joint is None:
                export_configuration(spec, point.config, topology, export_dir)
            else:
                export_net(joint.net, point.config, topology, profile, export_dir)
            exports.append(export_dir)
        if experiment.measure.interleave > 1:
            documents = _measure_interleaved(
                experiment, exports, points, topology, profile, options, spec, data, say
            )
        else:
            documents = _measure_in_turn(
                exports, points, topology, profile, options, spec, data, say, bar
            )
        cases = []
        samples = failed = 0
        for n, measured in enumerate(documents, start=1):
            summary_of = measured.get("summary")
            if isinstance(summary_of, dict):
                samples += int(summary_of.get("samples", 0))
                failed += int(summary_of.get("failed", 0))
            path = partial / "measurements" / f"{n:02d}.json"
            atomic_write_text(path, dump_json(measured, indent=1, where=str(path)))
            cases.append(
                make_case(
                    measurement_from_mapping(measured, source=str(path)), profile, trace, topology
                )
            )

        summary = compare_many(cases, calibrate_model=experiment.calibrate and len(cases) > 1)
        info = fidelity_info(summary)
        fidelity = fidelity_json(info)
        markdown = fidelity_markdown(info)
        atomic_write_text(partial / "fidelity.json", dump_json(fidelity))
        atomic_write_text(partial / "fidelity.md", markdown)
        render_fidelity_plot(info, partial / "fidelity.png")
        wall_s = time.monotonic() - started
        text = _summary(experiment, spec, topology.name, result, points, markdown, wall_s)
        atomic_write_text(partial / "summary.md", text)
        write_html_report(
            partial / "report.html",
            f"Experiment {experiment.name}",
            [pareto_section(pareto_info), fidelity_section(info)],
        )
        claim_folder(out, "out", "run")  # still ours (or empty) after the long run
    return ExperimentResult(
        out=out, summary_markdown=text, fidelity=fidelity, wall_s=wall_s, samples=samples,
        failed=failed,
    )  # fmt: skip


def _label(n: int, count: int, point: Any, topology: Any) -> str:
    shown = ",".join(str(p + 1) for p in point.config.partition)
    placement = ", ".join(topology.tiers[a].name for a in point.config.placement)
    return f"[{n}/{count}] T={point.threshold} P=[{shown}] A=[{placement}]"


def _measure_in_turn(
    exports: list[Path],
    points: list[Any],
    topology: Any,
    profile: Any,
    options: Any,
    spec: str,
    data: Any,
    say: Say,
    bar: Bar | None,
) -> list[dict[str, Any]]:
    """Each configuration deployed, measured whole and torn down, one after the other."""
    documents = []
    for n, (export_dir, point) in enumerate(zip(exports, points, strict=True), start=1):
        say(f"{_label(n, len(points), point, topology)}: measuring {options.samples} samples")
        hook = nullcontext(None) if bar is None else bar(f"[{n}/{len(points)}]", options.samples)
        with hook as progress:
            documents.append(
                deploy_and_measure(
                    export_dir,
                    topology,
                    profile,
                    options,
                    profile_name=spec,
                    data=data,
                    progress=progress,
                )
            )
    return documents


def _measure_interleaved(
    experiment: Experiment,
    exports: list[Path],
    points: list[Any],
    topology: Any,
    profile: Any,
    options: Any,
    spec: str,
    data: Any,
    say: Say,
) -> list[dict[str, Any]]:
    """Every configuration deployed at once, their samples measured in interleaved blocks
    (``runtime.measure_interleaved``), all torn down at the end."""
    from splitexit.runtime import measure_interleaved

    blocks = experiment.measure.interleave
    with ExitStack() as stack:
        sessions = []
        for n, (export_dir, point) in enumerate(zip(exports, points, strict=True), start=1):
            say(f"{_label(n, len(points), point, topology)}: deploying")
            sessions.append(
                stack.enter_context(
                    open_deployment(
                        export_dir, topology, profile, options, profile_name=spec, data=data
                    )
                )
            )
        say(
            f"measuring {options.samples} samples of each of {len(points)} configurations in "
            f"{blocks} interleaved blocks (seed {experiment.measure.interleave_seed})"
        )
        return measure_interleaved(sessions, blocks, seed=experiment.measure.interleave_seed)


def _summary(
    experiment: Experiment,
    spec: str,
    topology: str,
    result: Any,
    points: list[Any],
    fidelity_md: str,
    wall_s: float,
) -> str:
    best = result.best
    shown = ",".join(str(p + 1) for p in best.config.partition)
    tiers = [result.topology.tiers[a].name for a in best.config.placement]
    requirement = experiment.requirement
    if requirement.min_accuracy is not None:
        rule = f"minimum latency with accuracy >= {requirement.min_accuracy:.2%}"
    elif requirement.max_latency_s is not None:
        rule = f"maximum accuracy with latency <= {requirement.max_latency_s * 1e3:g} ms"
    else:
        rule = "the fastest configuration within 1 percentage point of the best accuracy"
    return "\n".join(
        [
            f"# Experiment `{experiment.name}`",
            "",
            f"- profile: `{spec}`; topology: `{topology}`; requirement: {rule}",
            f"- recommended: T={best.threshold}, P=[{shown}], A=[{', '.join(tiers)}]: "
            f"predicted {best.estimate.accuracy:.2%} accuracy, "
            f"{best.estimate.latency_s * 1e3:.2f} ms",
            f"- measured {len(points)} configurations (the recommendation is 01) with "
            f"{experiment.measure.samples} samples each, compute stretch "
            f"`{experiment.measure.compute_mode}`, transport `{experiment.measure.transport}`; "
            f"the run took {wall_s:.0f} s",
            "",
            "![Pareto frontier](pareto.png)",
            "",
            "## Predicted against measured",
            "",
            "![predicted against measured](fidelity.png)",
            "",
            fidelity_md.strip(),
            "",
        ]
    )
