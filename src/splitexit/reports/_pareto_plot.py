"""The latency-accuracy trade-off plot (Ebrahimi et al., Combining DNN Partitioning and Early
Exit, EdgeSys '22, Fig. 4): sampled configurations, the Pareto frontier, the recommendation and
the baselines. Info first, pixels second (PNG, SVG or PDF by the file's extension; the
interactive HTML form is in :mod:`splitexit.reports._html`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.planner import Plan, PlanPoint
from splitexit.reports._figure import new_figure, save_figure
from splitexit.reports._format import partition_text, placement_text, threshold_text

__all__ = ["ParetoPlotInfo", "PointInfo", "pareto_plot_info", "render_pareto_plot"]

FloatArray = npt.NDArray[np.float64]


@returned_type
@dataclass(frozen=True)
class PointInfo:
    """One configuration as people read it: T, P, A, accuracy and the latency's parts (ms)."""

    name: str  # "frontier", "recommended" or a baseline's name
    latency_ms: float
    accuracy_pct: float
    threshold: str  # "-" when no exit is selected
    partition: str
    placement: str
    compute_ms: float
    transmission_ms: float
    propagation_ms: float


def _point_info(name: str, point: PlanPoint, tier_names: list[str]) -> PointInfo:
    est = point.estimate
    return PointInfo(
        name=name if point.variant is None else f"{name} (variant {point.variant})",
        latency_ms=point.latency_s * 1e3,
        accuracy_pct=point.accuracy * 100,
        threshold=threshold_text(point) or "-",
        partition=partition_text(point),
        placement=placement_text(point, tier_names, sep=","),
        compute_ms=est.compute_s * 1e3,
        transmission_ms=est.transmission_s * 1e3,
        propagation_ms=est.propagation_s * 1e3,
    )


@returned_type
@dataclass(frozen=True, eq=False)
class ParetoPlotInfo:
    """What the plot shows, in milliseconds and percent."""

    title: str
    sample_latency_ms: FloatArray
    sample_accuracy_pct: FloatArray
    sample_partitions: npt.NDArray[np.int64]
    frontier_latency_ms: FloatArray
    frontier_accuracy_pct: FloatArray
    chosen: tuple[float, float, str]  # latency ms, accuracy %, label
    baselines: tuple[tuple[float, float, str], ...]
    requirement: tuple[str, float] | None  # ("accuracy", pct) or ("latency", ms)
    log_latency: bool
    configurations_evaluated: int
    frontier: tuple[PointInfo, ...] = ()
    recommended: PointInfo | None = None
    baseline_points: tuple[PointInfo, ...] = ()


def _label(point: PlanPoint, tier_names: list[str]) -> str:
    threshold = threshold_text(point)
    text = f"P={partition_text(point)} A={placement_text(point, tier_names, sep=',')}"
    if point.variant is not None:
        text = f"{point.variant} {text}"
    return text if threshold is None else f"{text} T={threshold}"


@validate_params(
    {
        "plan": [InstanceOf(Plan)],
    }
)
def pareto_plot_info(plan: Plan) -> ParetoPlotInfo:
    """Compute the plot's content from a plan."""
    names = [tier.name for tier in plan.topology.tiers]
    samples = plan.samples
    frontier_lat = np.array([p.latency_s for p in plan.pareto]) * 1e3
    frontier_acc = np.array([p.accuracy for p in plan.pareto]) * 100
    lat = np.concatenate([samples.latency * 1e3, frontier_lat])
    positive = lat[lat > 0]
    spread = positive.max() / positive.min() if positive.size else 1.0
    requirement: tuple[str, float] | None = None
    if plan.requirement.kind == "max_latency":
        requirement = ("latency", plan.requirement.value * 1e3)
    else:
        requirement = ("accuracy", plan.requirement.value * 100)
    return ParetoPlotInfo(
        title=f"{plan.subject} on {plan.topology.name}",
        sample_latency_ms=samples.latency * 1e3,
        sample_accuracy_pct=samples.accuracy * 100,
        sample_partitions=samples.num_parts,
        frontier_latency_ms=frontier_lat,
        frontier_accuracy_pct=frontier_acc,
        chosen=(plan.best.latency_s * 1e3, plan.best.accuracy * 100, _label(plan.best, names)),
        baselines=tuple(
            (b.point.latency_s * 1e3, b.point.accuracy * 100, b.name) for b in plan.baselines
        ),
        requirement=requirement,
        log_latency=bool(spread > 30),
        configurations_evaluated=plan.configurations_evaluated,
        frontier=tuple(_point_info("frontier", p, names) for p in plan.pareto),
        recommended=_point_info("recommended", plan.best, names),
        baseline_points=tuple(_point_info(b.name, b.point, names) for b in plan.baselines),
    )


@validate_params(
    {
        "info": [InstanceOf(ParetoPlotInfo)],
        "path": [PathLike()],
    }
)
def render_pareto_plot(info: ParetoPlotInfo, path: Path) -> None:
    """Draw ``info`` to a PNG, SVG or PDF file (by ``path``'s extension), written atomically.

    Baselines are told apart by marker and named in the legend, never by text next to the
    point: "source" and "fastest" often sit on the same spot and their labels collided.
    """
    fig = new_figure(8, 5.5)
    ax = fig.subplots()
    for num_parts in np.unique(info.sample_partitions):
        mask = info.sample_partitions == num_parts
        ax.scatter(
            info.sample_latency_ms[mask],
            info.sample_accuracy_pct[mask],
            s=3,
            alpha=0.35,
            label=f"L = {num_parts} ({mask.sum()} sampled)",
        )
    ax.step(
        info.frontier_latency_ms,
        info.frontier_accuracy_pct,
        where="post",
        color="black",
        linewidth=1.2,
        label="Pareto frontier",
    )
    markers = ("s", "D", "^", "v", "P", "X", "h")
    for k, (lat, acc, name) in enumerate(info.baselines):
        ax.scatter(
            [lat],
            [acc],
            marker=markers[k % len(markers)],
            s=44 + 16 * k,  # growing sizes: coinciding baselines stay visible
            facecolors="none",
            edgecolors="dimgray",
            zorder=4,
            label=f"{name} ({lat:.0f} ms, {acc:.1f}%)"
            if lat >= 10
            else f"{name} ({lat:.3g} ms, {acc:.1f}%)",
        )
    lat, acc, label = info.chosen
    ax.scatter(
        [lat], [acc], marker="*", s=160, color="red", zorder=5, label=f"recommended: {label}"
    )
    if info.requirement is not None:
        kind, value = info.requirement
        line = ax.axhline if kind == "accuracy" else ax.axvline
        line(value, linestyle="--", color="gray", linewidth=1)
    if info.log_latency:
        ax.set_xscale("log")
    ax.set_xlabel("expected end-to-end latency (ms)")
    ax.set_ylabel("estimated accuracy (%)")
    ax.set_title(f"{info.title}: {info.configurations_evaluated:,} configurations")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)
