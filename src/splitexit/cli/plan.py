"""`splitexit plan` (the planner's recommendation and frontier) and `splitexit presets`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console

from splitexit._transaction import Outputs
from splitexit.cli._common import check_json_out, check_plot, cli_duration
from splitexit.cli._common import console as _console
from splitexit.cli._common import user_errors as _user_errors
from splitexit.cli._outputs import check_output_file, is_stdout
from splitexit.errors import InputError

__all__ = ["plan_command", "presets_command", "register"]


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
    value = cli_duration(text, "--max-latency")
    if value <= 0:
        raise InputError(f"--max-latency must be > 0, got {text!r}")
    return value


def plan_command(
    profile: Annotated[
        list[str] | None,
        typer.Option(
            help="Profile file (splitexit.profile/1 JSON) or a bundled one: "
            "'resnet20-fashion-mnist' (measured, the default) or 'example' (synthetic). "
            "Repeat it to plan over operator variants, each LABEL=FILE (Q=q.json) or a "
            "profile written with --operator."
        ),
    ] = None,
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
        Literal["separate", "joint"],
        typer.Option(
            help="Branch accuracies from 'separate' training (paper) or the 'joint' model."
        ),
    ] = "separate",
    solver: Annotated[
        str,
        typer.Option(
            metavar="[auto|enumerate|exact]",  # checked by plan(), which names the options
            help="'enumerate' all, 'exact' dynamic programming, or 'auto' (by size).",
        ),
    ] = "auto",
    estimator: Annotated[
        Literal["auto", "paper", "trace"],
        typer.Option(
            help="'trace' (replay the profile's per-sample trace), 'paper' (full-configuration "
            "exit rates), or 'auto': trace when the profile names one."
        ),
    ] = "auto",
    per_exit_thresholds: Annotated[
        bool,
        typer.Option(
            "--per-exit-thresholds",
            help="One threshold per selected exit (|T|^(L-1) choices; needs --estimator trace).",
        ),
    ] = False,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the plan as JSON here.")
    ] = None,
    plot: Annotated[
        Path | None, typer.Option(help="Write the Pareto plot here (.png, .svg or .pdf).")
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(help="Write a self-contained HTML report (interactive Pareto plot) here."),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Print every frontier point.")] = False,
) -> None:
    """Recommend (threshold, partitioning, placement) and show the latency/accuracy frontier."""
    with _user_errors():
        from splitexit.planner import load_plan_inputs, plan
        from splitexit.reports import (
            html_page,
            pareto_plot_info,
            pareto_section,
            print_plan,
            render_pareto_plot,
        )
        from splitexit.topology import load_topology

        if accuracy not in ("separate", "joint"):
            raise InputError(f"--accuracy must be 'separate' or 'joint', got {accuracy!r}")
        check_plot(plot)
        check_json_out(json_out)
        check_output_file(html, "--html")
        needed_accuracy = None if min_accuracy is None else _min_accuracy(min_accuracy)
        needed_latency = None if max_latency is None else _max_latency(max_latency)
        given = profile or ["resnet20-fashion-mnist"]
        loaded: Any
        if len(given) == 1 and not _labelled(given[0]):
            loaded, trace = load_plan_inputs(given[0], estimator)  # as splitexit.plan() loads it
            warnings = [loaded.timing_warning()]
        else:
            loaded, warnings = _variants(given, estimator)
            trace = None
        for warning in warnings:
            if warning is not None:
                print(f"warning: {warning}", file=sys.stderr)
        result = plan(
            loaded,
            load_topology(topology),
            min_accuracy=needed_accuracy,
            max_latency_s=needed_latency,
            destination=destination,
            accuracy=cast(Any, accuracy),  # plan checks the options and names them
            solver=cast(Any, solver),
            estimator=cast(Any, estimator),
            trace=trace,
            per_exit_thresholds=per_exit_thresholds,
        )
        to_stdout = json_out is not None and str(json_out) == "-"
        shown_on = Console(stderr=True) if to_stdout else _console()  # stdout holds the JSON
        print_plan(result, shown_on, show_all=show_all)
        human = sys.stderr if is_stdout(json_out) else sys.stdout
        with Outputs() as out:  # all or none
            if json_out is not None:
                out.write_json(json_out, result.to_dict())
            if plot is not None:
                render_pareto_plot(pareto_plot_info(result), out.file(plot))
            if html is not None:
                title = f"splitexit plan: {result.subject} on {result.topology.name}"
                sections = [pareto_section(pareto_plot_info(result))]
                out.write_text(html, html_page(title, sections))
        for path in out.targets:
            print(f"wrote {path}", file=human)


def _labelled(spec: str) -> bool:
    """``LABEL=FILE``: a label before the first '=' that is not a path."""
    label, sep, _ = spec.partition("=")
    return bool(sep) and bool(label) and "/" not in label and "\\" not in label


def _variants(given: list[str], estimator: str) -> tuple[dict[str, Any], list[str | None]]:
    """``--profile`` repeated: each variant's label (given or from its profile) and file, which
    ``splitexit.plan()`` loads; a label used twice is refused. Also the timing warnings."""
    from splitexit.planner import load_plan_inputs, variant_label

    out: dict[str, Any] = {}
    warnings: list[str | None] = []
    for spec in given:
        label, path = spec.split("=", 1) if _labelled(spec) else (None, spec)
        loaded, _ = load_plan_inputs(path, estimator)
        name = variant_label(label, loaded, f"--profile {spec}")
        if name in out:
            raise InputError(
                f"--profile {spec}: variant {name} is given twice; each variant needs its own label"
            )
        out[name] = path
        warnings.append(loaded.timing_warning())
    return out, warnings


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


def register(app: typer.Typer) -> None:
    """Add `plan` and `presets` to ``app``."""
    app.command("plan")(plan_command)
    app.command("presets")(presets_command)
