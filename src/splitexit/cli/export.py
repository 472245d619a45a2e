"""`splitexit export`: write the ONNX partitions and manifest of a configuration (torch)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from splitexit._boundary import check_output_folder
from splitexit.cli._common import (
    check_device_option,
    check_threads,
    default_work_dir,
    torch_threads,
)
from splitexit.cli._common import user_errors as _user_errors
from splitexit.cli._outputs import check_output_file
from splitexit.cli._progress import (
    LogLevelOpt,
    QuietOpt,
    VerboseOpt,
    progress_enabled,
    set_log_level,
    status,
)
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.training import FinalSettings

__all__ = ["export_command", "register", "retime_command"]

WEIGHT_SOURCES = ("joint", "final")


def export_command(
    profile: Annotated[
        str, typer.Option(help="Profile written by `splitexit profile` (or a bundled name).")
    ],
    out: Annotated[Path, typer.Option(help="Folder for the ONNX partitions and manifest.json.")],
    config: Annotated[
        str,
        typer.Option(
            help="'best' (plan now with the defaults of `splitexit plan`) or a JSON file: "
            "`splitexit plan --json` output or {threshold, partition, placement}."
        ),
    ] = "best",
    topology: Annotated[
        str, typer.Option(help="Topology YAML file or preset name (mobile, iot, mec).")
    ] = "mobile",
    per_exit_thresholds: Annotated[
        bool,
        typer.Option(
            "--per-exit-thresholds",
            help="With --config best: one threshold per exit, as `splitexit plan` plans it.",
        ),
    ] = False,
    weights: Annotated[
        str,
        typer.Option(
            help="'joint' (the full configuration, instant) or 'final' (a model trained with "
            "only the configuration's exits; cached in WORK_DIR/final-INIT)."
        ),
    ] = "joint",
    work_dir: Annotated[
        Path | None,
        typer.Option(help="The profile run's checkpoints (default: its cache folder)."),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Checkpoint cache (as `profile`'s --cache).")
    ] = None,
    init: Annotated[
        str, typer.Option(help="Final model starts from the 'joint' weights or 'scratch'.")
    ] = "joint",
    final_epochs: Annotated[int, typer.Option(help="Epochs of the final model.")] = 1,
    final_lr: Annotated[float, typer.Option(help="Peak learning rate, final model.")] = 0.02,
    precision: Annotated[
        str, typer.Option(help="Final training precision: auto (bf16 where native), fp32, bf16.")
    ] = "auto",
    width: Annotated[
        float | None,
        typer.Option(help="Width of a final model from scratch (default: joint.pt's, else 1)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder of the dataset files (final training).")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu, or cuda when present (training).")] = "cpu",
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
) -> None:
    """Export a configuration (T, P, A) of the joint or the final model to ONNX partitions."""
    with _user_errors():
        check_threads(threads)
        check_device_option(device)
        check_output_folder(out, "--out")
        from splitexit.export import check_export_folder

        check_export_folder(out, "--out")  # before any work: a folder of yours is never taken
        if weights not in WEIGHT_SOURCES:
            raise InputError(f"--weights must be 'joint' or 'final', got {weights!r}")
        from splitexit.experiment import export_configuration, resolve_configuration
        from splitexit.profile import load_profile
        from splitexit.topology import load_topology

        final: FinalSettings | None = None
        if weights == "final":
            from splitexit.training import FinalSettings

            if precision not in ("auto", "fp32", "bf16"):
                raise InputError(f"--precision must be auto, fp32 or bf16, got {precision!r}")
            final = FinalSettings(
                init=init, epochs=final_epochs, lr=final_lr, precision=precision, width=width,
                data_dir=data_dir, device=device,
            )  # fmt: skip
        topo = load_topology(topology)
        loaded = load_profile(profile)
        if work_dir is None and cache is not None:
            from splitexit.training import profile_run_dir

            work_dir = profile_run_dir(loaded, cache)
        configuration = resolve_configuration(
            profile, loaded, topo, config, per_exit_thresholds=per_exit_thresholds
        )
        torch_threads(threads)
        result = export_configuration(
            profile, configuration, topo, out, weights=weights, work_dir=work_dir, final=final,
            console=None if quiet else Console(stderr=True, highlight=False),
        )  # fmt: skip
        manifest = result.manifest
        shown = ",".join(str(p.last_block) for p in manifest.partitions)
        single = len(set(manifest.thresholds)) <= 1
        rule = manifest.threshold if single else list(manifest.thresholds)
        print(
            f"exported P=[{shown}] on {', '.join(manifest.tiers)} with T={rule}: "
            f"{len(manifest.partitions)} ONNX files and {out / 'manifest.json'}; "
            f"weights: {result.weights}"
        )


def retime_command(
    out: Annotated[Path, typer.Option(help="Profile to write (JSON); the trace goes beside.")],
    profile: Annotated[
        str, typer.Option(help="Profile to re-time (bundled name or file).")
    ] = "resnet20-fashion-mnist",
    work_dir: Annotated[
        Path | None,
        typer.Option(help="The profile run's checkpoints (default: its cache folder)."),
    ] = None,
    cache: Annotated[
        Path | None, typer.Option(help="Checkpoint cache (as `profile`'s --cache).")
    ] = None,
    runs: Annotated[int, typer.Option(help="Timed batch-1 runs per block and branch.")] = 300,
    percentile: Annotated[
        float, typer.Option(help="Percentile kept (50: what the testbed's stretch uses).")
    ] = 50.0,
    threads: Annotated[int, typer.Option(help="ONNX Runtime (and torch) threads.")] = 1,
    quiet: QuietOpt = False,
    log_level: LogLevelOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Re-time a profile's blocks and branches with ONNX Runtime, as the workers run them."""
    with _user_errors():
        set_log_level(log_level, verbose)
        check_threads(threads)
        check_output_file(out, "--out", suffixes=(".json",))
        check_output_file(out.with_name(out.stem + ".trace.npz"), "--out (its trace)")
        from splitexit._transaction import Outputs
        from splitexit.export import load_profile_joint
        from splitexit.profile import load_profile, profile_path, save_profile
        from splitexit.profiling import RetimeSettings, retime_profile

        settings = RetimeSettings(runs=runs, percentile=percentile, threads=threads)
        if out.suffix.lower() != ".json":
            raise InputError(f"--out {out}: the profile is a .json file")
        loaded = load_profile(profile)
        folder = (
            work_dir or _cache_dir(loaded, cache) or default_work_dir(loaded.model, loaded.dataset)
        )
        joint = load_profile_joint(loaded, profile, folder)
        torch_threads(threads)
        text = f"re-timing {loaded.num_blocks} blocks and branches, {runs} runs each"
        with status(text, enabled=progress_enabled(quiet)):
            retimed = retime_profile(loaded, joint.net, settings)
        with Outputs() as outputs:  # the profile and its trace: both or neither
            if loaded.trace is not None:
                source = profile_path(profile).parent / loaded.trace
                target = out.with_name(out.stem + ".trace.npz")
                if source.resolve() != target.resolve():
                    outputs.write_bytes(target, source.read_bytes())
                retimed = dataclasses.replace(retimed, trace=target.name)
            save_profile(retimed, outputs.file(out))
        before = loaded.block_compute_s.sum() + loaded.branch_compute_s[-1]
        after = retimed.block_compute_s.sum() + retimed.branch_compute_s[-1]
        print(
            f"wrote {out}: whole model {before * 1e3:.3f} ms -> {after * 1e3:.3f} ms per sample "
            f"({retimed.reference_device})"
        )


def _cache_dir(profile: Any, cache: Path | None = None) -> Path | None:
    """The checkpoint cache folder the profile's run used (``cache``, $SPLITEXIT_CACHE or the
    default)."""
    from splitexit.training import profile_run_dir

    found: Path | None = profile_run_dir(profile, cache)
    return found


def register(app: typer.Typer) -> None:
    """Add `export` and `retime` to ``app``."""
    app.command("export")(export_command)
    app.command("retime")(retime_command)
