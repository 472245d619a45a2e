"""`splitexit export`: write the ONNX partitions and manifest of a configuration (torch)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from splitexit._cli_common import check_threads, default_work_dir, torch_threads
from splitexit._cli_common import user_errors as _user_errors
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.export import ExportConfig
    from splitexit.profile import Profile
    from splitexit.topology import Topology

__all__ = ["export_command"]


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
    work_dir: Annotated[
        Path | None,
        typer.Option(help="The profile run's checkpoints (default runs/MODEL-DATASET)."),
    ] = None,
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 1,
) -> None:
    """Export the jointly trained model's partitions of a configuration (T, P, A) to ONNX."""
    with _user_errors():
        check_threads(threads)
        from splitexit.profile import load_profile, profile_path
        from splitexit.topology import load_topology

        loaded = load_profile(profile)
        topo = load_topology(topology)
        folder = work_dir or default_work_dir(loaded.model, loaded.dataset)
        checkpoint = folder / "joint.pt"
        if not checkpoint.exists():
            source = profile_path(profile)
            target = source if source.exists() and source == Path(profile) else "PROFILE.json"
            raise InputError(
                f"{checkpoint}: no joint checkpoint; `splitexit profile --model {loaded.model} "
                f"--dataset {loaded.dataset} --out {target} --work-dir {folder}` trains one"
            )
        export = _resolve_config(profile, loaded, topo, config)
        torch_threads(threads)
        from splitexit.export import export_partitions, input_shape_from_bits, load_joint_net

        net = load_joint_net(
            checkpoint, model=loaded.model, dataset=loaded.dataset, num_classes=loaded.num_classes
        )
        if net.num_blocks != loaded.num_blocks:
            raise InputError(
                f"{checkpoint}: the network has {net.num_blocks} blocks, the profile "
                f"{loaded.num_blocks}"
            )
        in_channels = int(next(net.parameters()).shape[1])
        manifest = export_partitions(
            net,
            partition=export.partition,
            placement=export.placement,
            threshold=export.threshold,
            destination=topo.tiers[topo.destination].name,
            model=loaded.model,
            dataset=loaded.dataset,
            input_shape=input_shape_from_bits(loaded.input_bits, in_channels),
            out_dir=out,
        )
        shown = ",".join(str(p.last_block) for p in manifest.partitions)
        print(
            f"exported P=[{shown}] on {', '.join(manifest.tiers)} with T={manifest.threshold}: "
            f"{len(manifest.partitions)} ONNX files and {out / 'manifest.json'}"
        )


def _resolve_config(spec: str, loaded: Profile, topo: Topology, config: str) -> ExportConfig:
    """``best`` runs the planner as `splitexit plan` does by default; else read the file."""
    from splitexit.export import ExportConfig, config_from_file

    if config != "best":
        return config_from_file(Path(config), topo, num_blocks=loaded.num_blocks)
    from splitexit.planner import plan
    from splitexit.profile import load_profile_trace, profile_path

    trace = None if loaded.trace is None else load_profile_trace(loaded, profile_path(spec))
    best = plan(loaded, topo, trace=trace).best
    if isinstance(best.threshold, tuple):
        raise InputError("per-exit thresholds cannot be exported yet")
    return ExportConfig(
        threshold=best.threshold,
        partition=best.config.partition,
        placement=tuple(topo.tiers[a].name for a in best.config.placement),
    )
