"""Plots of the spatial study: info objects first, pixels second (matplotlib, PNG).

:class:`BarsInfo` holds grouped bars (images per second per method, one group per case);
:class:`LinesInfo` holds curves (per-image latency over time, IPS against alpha). Tests check
the info objects; the renderers only draw them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitexit._boundary import atomic_write_png
from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.spatial.experiments._compare import Comparison

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "BarsInfo",
    "LinesInfo",
    "bars_info",
    "lines_markdown",
    "print_comparison",
    "render_bars",
    "render_lines",
]


@returned_type
@dataclass(frozen=True)
class BarsInfo:
    """Grouped bars: ``values[g][m]`` for group ``groups[g]`` and method ``methods[m]``."""

    title: str
    ylabel: str
    groups: tuple[str, ...]
    methods: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]


@returned_type
@dataclass(frozen=True)
class LinesInfo:
    """Curves ``y[c]`` over ``x[c]`` labelled ``labels[c]``."""

    title: str
    xlabel: str
    ylabel: str
    labels: tuple[str, ...]
    x: tuple[tuple[float, ...], ...]
    y: tuple[tuple[float, ...], ...]
    logy: bool = False


@validate_params({"records": [InstanceOf(tuple, list)], "title": [InstanceOf(str)]})
def bars_info(records: Sequence[Mapping[str, Any]], title: str) -> BarsInfo:
    """Images per second of every method in every case (``Comparison.to_dict`` records)."""
    methods = tuple(str(r["method"]) for r in records[0]["results"])
    groups = tuple(str(r.get("notes", {}).get("case", r["cluster"])) for r in records)
    values = tuple(
        tuple(float(next(x["ips"] for x in r["results"] if x["method"] == m)) for m in methods)
        for r in records
    )
    return BarsInfo(title, "images per second", groups, methods, values)


@validate_params(
    {"info": [InstanceOf(LinesInfo)], "first": [InstanceOf(str)], "column": [InstanceOf(str)]}
)
def lines_markdown(info: LinesInfo, first: str, column: str) -> str:
    """A Markdown table of curves sharing their x values: one row per curve."""
    head = "| " + first + " | " + " | ".join(column.format(x) for x in info.x[0]) + " |\n"
    rule = "|---|" + "---|" * len(info.x[0]) + "\n"
    rows = "".join(
        f"| {label} | " + " | ".join(f"{y:.2f}" for y in ys) + " |\n"
        for label, ys in zip(info.labels, info.y, strict=True)
    )
    return head + rule + rows


def _save(figure: object, path: Path) -> None:
    atomic_write_png(figure, path, dpi=110, bbox_inches="tight")


@validate_params({"info": [InstanceOf(BarsInfo)], "path": [PathLike()]})
def render_bars(info: BarsInfo, path: Path) -> None:
    """Draw :class:`BarsInfo` as grouped bars into a PNG file."""
    from matplotlib.figure import Figure  # no pyplot: the global backend stays as it was

    groups, methods = len(info.groups), len(info.methods)
    width = 0.8 / methods
    fig = Figure(figsize=(max(6.0, 1.3 * groups + 3), 4.0))
    ax = fig.subplots()
    for m, method in enumerate(info.methods):
        xs = [g + (m - (methods - 1) / 2) * width for g in range(groups)]
        ax.bar(xs, [info.values[g][m] for g in range(groups)], width, label=method)
    ax.set_xticks(range(groups), info.groups)
    ax.set_ylabel(info.ylabel)
    ax.set_title(info.title)
    ax.legend(fontsize=7, ncols=3)
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)


@validate_params({"info": [InstanceOf(LinesInfo)], "path": [PathLike()]})
def render_lines(info: LinesInfo, path: Path) -> None:
    """Draw :class:`LinesInfo` as lines into a PNG file."""
    from matplotlib.figure import Figure  # no pyplot: the global backend stays as it was

    fig = Figure(figsize=(7.0, 4.0))
    ax = fig.subplots()
    for label, xs, ys in zip(info.labels, info.x, info.y, strict=True):
        ax.plot(xs, ys, label=label, marker="." if len(xs) < 20 else None, linewidth=1.2)
    ax.set_xlabel(info.xlabel)
    ax.set_ylabel(info.ylabel)
    ax.set_title(info.title)
    if info.logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    _save(fig, path)


@validate_params(
    {"comparison": [InstanceOf(Comparison)], "console": [InstanceOf("rich.console:Console")]}
)
def print_comparison(comparison: Comparison, console: Console) -> None:
    """The comparison as a rich table: one row per method.

    ``*`` marks the best of the paper's methods (the baselines and DistrEdge); ``fast`` is
    ours and ranked apart, with its starting points and evaluation budget said below.
    """
    from rich.table import Table

    from splitexit.units import format_duration

    links = ", ".join(
        f"{name} {b / 1e6:g}Mbps"
        for name, b in zip(comparison.devices, comparison.bandwidths, strict=True)
    )
    table = Table(title=f"{comparison.model} on {comparison.cluster}: {links}")
    columns = ("method", "images/s", "latency", "volumes", "busy providers", "max compute",
               "max send", "planning")  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "method" else "right")
    paper = [r.ips for r in comparison.results if r.method != "fast"]
    best = max(paper) if paper else None
    for r in comparison.results:
        mark = " (ours, ranked apart)" if r.method == "fast" else (" *" if r.ips == best else "")
        table.add_row(
            r.method + mark,
            f"{r.ips:.2f}",
            format_duration(r.latency_s),
            str(r.strategy.num_volumes),
            str(r.busy_providers),
            format_duration(r.max_compute_s),
            format_duration(r.max_send_s),
            format_duration(r.plan_s),
        )
    console.print(table)
    if "distredge_train_s" in comparison.notes:
        console.print(
            f"DistrEdge: DDPG trained {comparison.notes['distredge_episodes']} episodes in "
            f"{comparison.notes['distredge_train_s']:.1f} s (included in its planning time)."
        )
    if "fast_starts" in comparison.notes:
        console.print(
            f"fast: {comparison.notes['fast_evaluations']} simulator evaluations from these "
            f"starts: {comparison.notes['fast_starts']}."
        )
