"""`splitexit study`: seed 004's deployment-strategy study, measured on local workers."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from splitexit.cli._common import console
from splitexit.cli._common import user_errors as _user_errors

if TYPE_CHECKING:
    from splitexit.study import Study

__all__ = ["register", "study_command"]


def study_command(
    study_file: Annotated[Path, typer.Argument(help="The study file (splitexit.study/1 YAML).")],
    out: Annotated[Path, typer.Option("--out", help="New (or empty) folder for the results.")],
    quick: Annotated[
        bool, typer.Option("--quick", help="1 repetition of 20 inferences, 5 warm-ups.")
    ] = False,
    compute_mode: Annotated[
        str, typer.Option(help="Tier compute stretch: 'sleep' or 'cpu-quota'.")
    ] = "sleep",
) -> None:
    """Deploy every strategy (operator x tiers), measure, test and report (seed 004)."""
    with _user_errors():
        from splitexit._boundary import check_output_folder
        from splitexit.errors import InputError
        from splitexit.study import load_study
        from splitexit.study._measured import measured_study, quick_study

        check_output_folder(out, "--out")
        if out.is_dir() and any(out.iterdir()):
            raise InputError(f"--out {out}: exists and is not empty; give a new or empty folder")
        if compute_mode not in ("sleep", "cpu-quota"):
            raise InputError(f"--compute-mode must be 'sleep' or 'cpu-quota', got {compute_mode!r}")
        study = load_study(study_file)
        if quick:
            study = quick_study(study)
        con = console()
        started = time.monotonic()

        def say(line: str) -> None:
            con.print(f"[{time.monotonic() - started:7.1f} s] {line}", highlight=False)

        with tempfile.TemporaryDirectory(prefix="splitexit-subjects-") as tmp:
            study = _export_models(study, Path(tmp), say)
            result, check = measured_study(study, out, compute_mode=compute_mode, progress=say)
        tau = check["kendall_tau"]
        confirmed = sum(r["confirmed"] for r in check["recommendations"])
        con.print(
            f"{result.latencies}: {result.events} protocol steps in "
            f"{time.monotonic() - started:.0f} s; Kendall's tau "
            f"{'undefined' if tau is None else f'{tau:.3f}'}; planner recommendations "
            f"confirmed {confirmed}/{len(check['recommendations'])} checked "
            f"({len(check['planner'])} made); report {result.report.markdown}",
            highlight=False,
        )


def _export_models(study: Study, work: Path, say: Callable[[str], None]) -> Study:
    """Each ``model:`` subject exported to ONNX with its held-out samples and labels."""
    models = [s for s in study.spec.subjects if s.model is not None]
    if not models:
        return study
    from splitexit.experiment import export_study_subject
    from splitexit.study import model_profile, with_subject_files

    files = {}
    for subject in models:
        assert subject.model is not None
        exported = export_study_subject(
            model_profile(subject.model, study.base_dir),
            study.topology,
            work / subject.name,
            count=max(study.spec.samples.count, 200),
        )
        say(
            f"{subject.name}: exported model {subject.model} to ONNX with "
            f"{exported.samples} held-out samples (weights: {exported.weights})"
        )
        files[subject.name] = (exported.onnx, exported.data)
    return with_subject_files(study, files)


def register(app: typer.Typer) -> None:
    app.command("study")(study_command)
