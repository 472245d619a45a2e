"""A plan printed for people with rich: recommendation, breakdown, frontier, baselines."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from splitexit._validation import (
    InstanceOf,
    validate_params,
)
from splitexit.planner import Plan, PlanPoint
from splitexit.reports._format import partition_text, placement_text, threshold_text
from splitexit.units import format_duration

__all__ = ["print_plan"]

_FRONTIER_ROWS = 20


def _partition(point: PlanPoint) -> str:
    return escape(partition_text(point))


def _placement(point: PlanPoint, names: list[str]) -> str:
    return escape(placement_text(point, names))


def _threshold(point: PlanPoint) -> str:
    return threshold_text(point) or "-"


def _share(part: float, total: float) -> str:
    return f"{format_duration(part)} ({part / total:.0%})" if total > 0 else format_duration(part)


def _frontier_rows(count: int, chosen: int | None, show_all: bool) -> list[int]:
    if show_all or count <= _FRONTIER_ROWS:
        return list(range(count))
    rows = set(np.linspace(0, count - 1, _FRONTIER_ROWS).round().astype(int).tolist())
    if chosen is not None:
        rows.add(chosen)
    return sorted(rows)


@validate_params(
    {
        "plan": [InstanceOf(Plan)],
        "console": [InstanceOf(Console)],
        "show_all": [InstanceOf(bool)],
    }
)
def print_plan(plan: Plan, console: Console, *, show_all: bool = False) -> None:
    """Print the plan: header, recommendation with its latency breakdown, frontier, baselines."""
    names = [tier.name for tier in plan.topology.tiers]
    topo = plan.topology
    best = plan.best
    est = best.estimate
    what = (
        f"{escape(plan.subject)}[/] ({escape(plan.profile.dataset)})"
        if plan.variants
        else f"{escape(plan.profile.model)}[/] ({escape(plan.profile.dataset)}, "
        f"N = {plan.profile.num_blocks} blocks)"
    )
    console.print(
        f"[bold]{what} on [bold]{escape(topo.name)}[/] "
        f"({escape(' -> '.join(names))}), source "
        f"{names[topo.source]}, destination {names[topo.destination]}, accuracy from "
        f"{plan.accuracy_source} training, {plan.estimator} estimator"
        + (", one threshold per exit" if plan.per_exit_thresholds else "")
    )
    if plan.variants:
        console.print(
            "operator variants (ties go to the earlier): "
            + ", ".join(
                f"{escape(v)} ({escape(p.model)}, N = {p.num_blocks})"
                for v, p in zip(plan.variants, plan.variant_profiles, strict=True)
            )
        )
    if plan.solver == "exact":
        console.print(
            f"{plan.configurations_evaluated:,} configurations covered exactly in "
            f"{format_duration(plan.elapsed_s)} by dynamic programming ({plan.states_explored:,} "
            f"states, {plan.labels_kept:,} labels kept), {len(plan.pareto)} on the Pareto frontier"
        )
    else:
        rate = plan.configurations_evaluated / plan.elapsed_s if plan.elapsed_s > 0 else 0.0
        console.print(
            f"{plan.configurations_evaluated:,} configurations evaluated in "
            f"{format_duration(plan.elapsed_s)} ({rate:,.0f} per second), "
            f"{len(plan.pareto)} on the Pareto frontier"
        )
    console.print(f"\n[bold]Recommendation[/]: {plan.requirement.describe()}")
    console.print(
        ("  " if best.variant is None else f"  variant {escape(best.variant)}, ")
        + f"threshold T = {_threshold(best)}, partition P = {_partition(best)}, "
        f"placement A = {_placement(best, names)}"
    )
    console.print(
        f"  accuracy {est.accuracy:.2%}, expected latency [bold]{format_duration(est.latency_s)}[/]"
        f" = compute {_share(est.compute_s, est.latency_s)}"
        f" + transmission {_share(est.transmission_s, est.latency_s)}"
        f" + propagation {_share(est.propagation_s, est.latency_s)}"
        + (
            f" + message overheads {_share(est.overhead_s, est.latency_s)}"
            if est.overhead_s
            else ""
        )
    )
    exits = ", ".join(
        f"{names[a]} {e:.1%}" for a, e in zip(best.config.placement, est.exit_rates, strict=True)
    )
    console.print(f"  samples leaving at each partition's exit: {exits}")

    table = Table(title="Pareto frontier (latency vs accuracy)", show_lines=False)
    columns = ["#", "T", "P", "A", "accuracy", "latency", "compute", "transm.", "propag."]
    if plan.variants:
        columns.insert(1, "variant")
    for column in columns:
        table.add_column(column, justify="right" if column not in ("P", "A") else "left")
    chosen = next(
        (
            i
            for i, p in enumerate(plan.pareto)
            if p.config == best.config and p.variant == best.variant
        ),
        None,
    )
    rows = _frontier_rows(len(plan.pareto), chosen, show_all)
    for i in rows:
        point = plan.pareto[i]
        e = point.estimate
        table.add_row(
            str(i + 1),
            *([] if not plan.variants else [escape(point.variant or "-")]),
            _threshold(point),
            _partition(point),
            _placement(point, names),
            f"{e.accuracy:.2%}",
            format_duration(e.latency_s),
            format_duration(e.compute_s),
            format_duration(e.transmission_s),
            format_duration(e.propagation_s),
            style="bold red" if i == chosen else None,
        )
    console.print(table)
    if len(rows) < len(plan.pareto):
        console.print(
            f"  showing {len(rows)} of {len(plan.pareto)} frontier points; --all or --json for all"
        )

    baselines = Table(title="Baselines on the same model")
    for column in ("baseline", "P", "A", "accuracy", "latency", "recommended is"):
        baselines.add_column(
            column, justify="left" if column in ("baseline", "P", "A") else "right"
        )
    for baseline in plan.baselines:
        p = baseline.point
        speed = "-" if baseline.speedup is None else f"{baseline.speedup:.2f}x faster"
        baselines.add_row(
            escape(baseline.description),
            _partition(p),
            _placement(p, names),
            f"{p.accuracy:.2%}",
            format_duration(p.latency_s),
            speed,
        )
    console.print(baselines)
