"""`splitexit fidelity`: the model's predictions against the runtime's measurements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from splitexit._boundary import atomic_write_text
from splitexit.cli._common import console as _console
from splitexit.cli._common import user_errors as _user_errors
from splitexit.errors import InputError

__all__ = ["fidelity_command", "register"]


def fidelity_command(
    measurements: Annotated[
        list[Path],
        typer.Argument(help="Measurement files (splitexit.measurement/1 JSON) of the runtime."),
    ],
    profile: Annotated[
        str | None,
        typer.Option(help="Profile file or bundled name (default: the one each file names)."),
    ] = None,
    topology: Annotated[
        str | None,
        typer.Option(help="Topology file or preset (default: the one each file names)."),
    ] = None,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Add the calibrated model: runtime overheads fitted on the other files "
            "(leave one configuration out).",
        ),
    ] = False,
    compute: Annotated[
        str,
        typer.Option(
            help="Compute times under the calibrated model: 'runtime' (each partition's "
            "measured ONNX Runtime time) or 'paper' (the profile's)."
        ),
    ] = "runtime",
    trace_source: Annotated[
        str,
        typer.Option(help="Trace entropies that decide exits: 'joint' (deployed) or 'separate'."),
    ] = "joint",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the comparison as JSON here.")
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(help="Plot predicted vs measured mean and p99 here (.png, .svg or .pdf)."),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(help="Write a self-contained HTML report (interactive plot) here."),
    ] = None,
    markdown: Annotated[Path | None, typer.Option(help="Write the Markdown tables here.")] = None,
) -> None:
    """Compare predicted and measured latency (mean, p50, p95, p99), accuracy and exit rates."""
    with _user_errors():
        from splitexit.fidelity import compare_many, load_cases
        from splitexit.reports import (
            check_figure_path,
            fidelity_info,
            fidelity_json,
            fidelity_markdown,
            fidelity_section,
            render_fidelity_plot,
            write_html_report,
        )

        check_figure_path(plot)
        if compute not in ("paper", "runtime"):
            raise InputError(f"--compute must be 'paper' or 'runtime', got {compute!r}")
        if trace_source not in ("joint", "separate"):
            raise InputError(f"--trace-source must be 'joint' or 'separate', got {trace_source!r}")
        cases = load_cases(measurements, profile=profile, topology=topology)
        if calibrate and len(cases) < 2:
            raise InputError("--calibrate fits on the other measurements; give at least two files")
        summary = compare_many(
            cases,
            calibrate_model=calibrate,
            compute=cast(Any, compute),  # compare_many checks the options and names them
            trace_source=cast(Any, trace_source),
        )
        info = fidelity_info(summary)
        text = fidelity_markdown(info)
        out = _console()
        if out.is_terminal:  # rich tables on a terminal; Markdown as it is when piped
            from rich.markdown import Markdown

            out.print(Markdown(text))
        else:
            print(text, end="")
        if json_out is not None:
            atomic_write_text(json_out, json.dumps(fidelity_json(info), indent=2) + "\n")
            print(f"wrote {json_out}")
        if markdown is not None:
            atomic_write_text(markdown, text)
            print(f"wrote {markdown}")
        if plot is not None:
            render_fidelity_plot(info, plot)
            print(f"wrote {plot}")
        if html is not None:
            write_html_report(html, "splitexit fidelity", [fidelity_section(info)])
            print(f"wrote {html}")


def register(app: typer.Typer) -> None:
    """Add ``splitexit fidelity`` to ``app``."""
    app.command("fidelity")(fidelity_command)
