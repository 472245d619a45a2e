"""`splitexit fidelity`: the model's predictions against the runtime's measurements."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from splitexit._transaction import Outputs
from splitexit.cli._common import check_json_out, check_plot
from splitexit.cli._common import console as _console
from splitexit.cli._common import user_errors as _user_errors
from splitexit.cli._outputs import check_output_file, is_stdout
from splitexit.errors import InputError

__all__ = ["fidelity_command", "register"]


# the two options every command over measurement files takes
ProfileOption = Annotated[
    str | None,
    typer.Option(help="Profile file or bundled name (default: the one each file names)."),
]
TopologyOption = Annotated[
    str | None,
    typer.Option(help="Topology file or preset (default: the one each file names)."),
]


def fidelity_command(
    measurements: Annotated[
        list[Path],
        typer.Argument(help="Measurement files (splitexit.measurement/1 JSON) of the runtime."),
    ],
    profile: ProfileOption = None,
    topology: TopologyOption = None,
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
            metavar="[runtime|paper]",
            help="Compute times under the calibrated model: 'runtime' (each partition's "
            "measured ONNX Runtime time) or 'paper' (the profile's).",
        ),
    ] = "runtime",
    trace_source: Annotated[
        Literal["joint", "separate"],
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
            fidelity_info,
            fidelity_json,
            fidelity_markdown,
            fidelity_section,
            html_page,
            render_fidelity_plot,
        )

        check_plot(plot)
        check_json_out(json_out)
        check_output_file(markdown, "--markdown")
        check_output_file(html, "--html")
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
        to_stdout = json_out is not None and str(json_out) == "-"
        if not to_stdout:
            out = _console()
            if out.is_terminal:  # rich tables on a terminal; Markdown as it is when piped
                from rich.markdown import Markdown

                out.print(Markdown(text))
            else:
                print(text, end="")
        human = sys.stderr if to_stdout else sys.stdout
        with Outputs() as outputs:  # all or none
            if json_out is not None:
                outputs.write_json(json_out, fidelity_json(info))
            if markdown is not None:
                outputs.write_text(markdown, text)
            if plot is not None:
                render_fidelity_plot(info, outputs.file(plot))
            if html is not None:
                outputs.write_text(html, html_page("splitexit fidelity", [fidelity_section(info)]))
        for path in outputs.targets:
            print(f"wrote {path}", file=human)


def fidelity_overheads_command(
    measurements: Annotated[
        list[Path],
        typer.Argument(
            help="Measurement files of one network (compute mode, transport, emulated or "
            "netns) and one topology; leave out the configurations you mean to predict."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(help="Write the topology with the fitted `overheads:` here (.yaml)."),
    ],
    profile: ProfileOption = None,
    topology: TopologyOption = None,
    onto: Annotated[
        str | None,
        typer.Option(
            help="Write this topology (file or preset) with the fitted overheads instead of "
            "the measured one: another topology on the same network, e.g. a study's."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the fit as JSON here.")
    ] = None,
) -> None:
    """Fit the per-message overheads of a network (docs/fidelity.md) and write a topology
    that declares them, for `splitexit plan --topology` and `splitexit fidelity --topology`."""
    with _user_errors():
        import yaml

        from splitexit.fidelity import fit_overheads, load_cases
        from splitexit.topology import load_topology
        from splitexit.units import format_duration

        check_output_file(out, "--out", suffixes=(".yaml", ".yml"))
        check_json_out(json_out)
        target = load_topology(onto) if onto is not None else None
        cases = load_cases(measurements, profile=profile, topology=topology)
        fit = fit_overheads(cases)
        fitted = fit.topology(target if target is not None else cases[0].topology)
        text = yaml.safe_dump(fitted.to_mapping(), sort_keys=False)
        with Outputs() as outputs:  # the topology and the JSON: both or neither
            outputs.write_text(out, text)
            if json_out is not None:
                outputs.write_json(json_out, fit.to_dict())
        human = sys.stderr if is_stdout(json_out) else sys.stdout
        edge = 50 / len(fit.jitter_s)  # the outermost quantile levels, percent
        print(
            f"per message {format_duration(fit.per_message_s)}, per link crossed "
            f"{format_duration(fit.per_hop_s)} ({fit.samples} samples in "
            f"{len(fit.fitted_on)} files, network {fit.network}, transport {fit.setting[1]}); "
            f"variation around it {format_duration(float(fit.jitter_s[0]))} to "
            f"{format_duration(float(fit.jitter_s[-1]))} ({edge:g}% to {100 - edge:g}%) with no "
            "link, "
            f"{format_duration(float(fit.jitter_per_link_s[0]))} to "
            f"{format_duration(float(fit.jitter_per_link_s[-1]))} more per link crossed",
            file=human,
        )
        for path in outputs.targets:
            print(f"wrote {path}", file=human)


def register(app: typer.Typer) -> None:
    """Add ``splitexit fidelity`` and ``splitexit fidelity-overheads`` to ``app``."""
    app.command("fidelity")(fidelity_command)
    app.command("fidelity-overheads")(fidelity_overheads_command)
