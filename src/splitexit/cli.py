"""The command line: parse, call the library, render, and turn user errors into exit status 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from splitexit._boundary import atomic_write_text
from splitexit.errors import InputError, SplitexitError
from splitexit.units import parse_duration

app = typer.Typer(
    name="splitexit",
    help="Plan DNN deployments that combine partitioning, early exit and placement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

USER_ERROR = 2


def _console() -> Console:
    """Stdout console; piped output gets 120 columns rather than rich's default of 80."""
    console = Console()
    return console if console.is_terminal else Console(width=120)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Print a SplitexitError as one line on stderr and exit with status 2."""
    try:
        yield
    except SplitexitError as exc:
        Console(stderr=True, highlight=False).print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(USER_ERROR) from None


def _min_accuracy(text: str) -> float:
    """``0.92`` or ``92%`` -> 0.92."""
    raw = text.strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise InputError(
            f"--min-accuracy must be a fraction like 0.92 or a percentage like 92%, got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"--min-accuracy must be in [0, 1] (or 0% to 100%), got {text!r}")
    return value


def _max_latency(text: str) -> float:
    try:
        value = parse_duration(text)
    except InputError as exc:
        raise InputError(f"--max-latency: {exc}") from None
    if value <= 0:
        raise InputError(f"--max-latency must be > 0, got {text!r}")
    return value


@app.command("plan")
def plan_command(
    profile: Annotated[
        str, typer.Option(help="Profile file (splitexit.profile/1 JSON), or 'example'.")
    ] = "example",
    topology: Annotated[
        str, typer.Option(help="Topology YAML file or preset name (mobile, iot, mec).")
    ] = "mobile",
    min_accuracy: Annotated[
        str | None,
        typer.Option(help="Solve P_lat: minimum latency with accuracy >= this (0.92 or 92%)."),
    ] = None,
    max_latency: Annotated[
        str | None,
        typer.Option(help="Solve P_acc: maximum accuracy with latency <= this (e.g. 300ms)."),
    ] = None,
    destination: Annotated[
        str | None, typer.Option(help="Tier that consumes the results (default: the topology's).")
    ] = None,
    accuracy: Annotated[
        str,
        typer.Option(
            help="Branch accuracies from 'separate' training (paper) or the 'joint' model."
        ),
    ] = "separate",
    solver: Annotated[
        str,
        typer.Option(help="'enumerate' all, 'exact' dynamic programming, or 'auto' (by size)."),
    ] = "auto",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the plan as JSON here.")
    ] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the Pareto plot (PNG) here.")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Print every frontier point.")] = False,
) -> None:
    """Recommend (threshold, partitioning, placement) and show the latency/accuracy frontier."""
    with _user_errors():
        from splitexit.planner import plan
        from splitexit.profile import load_profile
        from splitexit.reports import pareto_plot_info, print_plan, render_pareto_plot
        from splitexit.topology import load_topology

        if accuracy not in ("separate", "joint"):
            raise InputError(f"--accuracy must be 'separate' or 'joint', got {accuracy!r}")
        if plot is not None and plot.suffix.lower() != ".png":
            raise InputError(f"--plot {plot}: the plot is a PNG file; give a name ending in .png")
        result = plan(
            load_profile(profile),
            load_topology(topology),
            min_accuracy=None if min_accuracy is None else _min_accuracy(min_accuracy),
            max_latency_s=None if max_latency is None else _max_latency(max_latency),
            destination=destination,
            accuracy=accuracy,
            solver=solver,
        )
        print_plan(result, _console(), show_all=show_all)
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(result.to_dict(), indent=2) + "\n")
            print(f"wrote {json_out}")
        if plot is not None:
            render_pareto_plot(pareto_plot_info(result), plot)
            print(f"wrote {plot}")


@app.command("presets")
def presets_command() -> None:
    """List the bundled topologies with their tiers and links."""
    from rich.table import Table

    from splitexit.topology import load_topology, preset_names
    from splitexit.units import format_bandwidth, format_duration

    console = _console()
    for name in preset_names():
        topo = load_topology(name)
        table = Table(
            title=f"{name}: source {topo.tiers[topo.source].name}, destination "
            f"{topo.tiers[topo.destination].name}"
        )
        table.add_column("tier")
        table.add_column("compute ratio", justify="right")
        table.add_column("link to next tier", justify="right")
        for j, tier in enumerate(topo.tiers):
            link = topo.links[j] if j < len(topo.links) else None
            text = (
                ""
                if link is None
                else (f"{format_bandwidth(link.bandwidth)}, {format_duration(link.latency)}")
            )
            table.add_row(tier.name, f"{tier.compute_ratio:g}", text)
        console.print(table)


# --- profiling commands (issue 3) go here ---


@app.command("profile")
def profile_command(
    model: Annotated[str, typer.Option(help="Backbone: resnet8, resnet20, resnet56, ...")],
    dataset: Annotated[str, typer.Option(help="Dataset: fashion-mnist or digits.")],
    out: Annotated[Path, typer.Option(help="Profile to write (JSON); the trace goes beside.")],
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Checkpoints (default runs/MODEL-DATASET); existing ones are reused."),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Folder of the Fashion-MNIST IDX files (or $SPLITEXIT_FASHION_MNIST_DIR)."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(help="Epochs of the joint training.")] = 10,
    separate_epochs: Annotated[int, typer.Option(help="Epochs of each separate model.")] = 4,
    batch_size: Annotated[int, typer.Option(help="Training batch size.")] = 128,
    lr: Annotated[float, typer.Option(help="Peak learning rate (SGD, one-cycle).")] = 0.1,
    width: Annotated[float, typer.Option(help="Channel width multiplier.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Seed of initialization, order, augmentation.")] = 0,
    device: Annotated[str, typer.Option(help="cpu, or cuda when present.")] = "cpu",
    threads: Annotated[int, typer.Option(help="torch CPU threads.")] = 2,
    percentile: Annotated[float, typer.Option(help="Percentile of batch-1 timings.")] = 99.0,
    timing_samples: Annotated[int, typer.Option(help="Training samples timed.")] = 500,
    quiet: Annotated[bool, typer.Option(help="No progress output.")] = False,
) -> None:
    """Train (joint and separate), profile, and write a splitexit.profile/1 file and trace."""
    with _user_errors():
        if threads < 1:
            raise InputError(f"--threads must be >= 1, got {threads}")
        from splitexit.nets import model_spec
        from splitexit.training import DATASET_NAMES

        model_spec(model)  # unknown names fail before any import of the data
        if dataset not in DATASET_NAMES:
            raise InputError(
                f"--dataset must be one of {', '.join(DATASET_NAMES)}, got {dataset!r}"
            )
        import torch

        from splitexit.profiling import ProfileSettings, profile_model, write_profile
        from splitexit.training import TrainConfig

        torch.set_num_threads(threads)
        settings = ProfileSettings(
            model=model,
            dataset=dataset,
            work_dir=work_dir or Path("runs") / f"{model}-{dataset}",
            joint=TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed),
            separate=TrainConfig(epochs=separate_epochs, batch_size=batch_size, lr=lr, seed=seed),
            width=width,
            data_dir=data_dir,
            device=device,
            percentile=percentile,
            timing_samples=timing_samples,
        )
        console = None if quiet else Console(stderr=True, highlight=False)
        profile, trace = profile_model(settings, console=console)
        trace_path = write_profile(profile, trace, out)
        print(f"wrote {out} and {trace_path}")
        print("branch accuracy (separate): " + " ".join(f"{a:.4f}" for a in profile.accuracy))
        if profile.accuracy_joint is not None:
            shown = " ".join(f"{a:.4f}" for a in profile.accuracy_joint)
            print(f"branch accuracy (joint):    {shown}")


# --- spatial (DistrEdge) commands (issue 4) go here ---


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())


if __name__ == "__main__":
    main()
