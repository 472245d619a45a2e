"""The latency-accuracy trade-off plot of seed 000, Fig. 4: sampled configurations, the
Pareto frontier, the recommendation and the baselines. Info first, pixels second.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._boundary import atomic_write_png
from splitexit._validation import (
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.planner import Plan, PlanPoint
from splitexit.reports._format import partition_text, placement_text, threshold_text

__all__ = ["ParetoPlotInfo", "pareto_plot_info", "render_pareto_plot"]

FloatArray = npt.NDArray[np.float64]


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


def _label(point: PlanPoint, tier_names: list[str]) -> str:
    threshold = threshold_text(point)
    text = f"P={partition_text(point)} A={placement_text(point, tier_names, sep=',')}"
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
        title=f"{plan.profile.model} on {plan.topology.name}",
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
    )


@validate_params(
    {
        "info": [InstanceOf(ParetoPlotInfo)],
        "path": [PathLike()],
    }
)
def render_pareto_plot(info: ParetoPlotInfo, path: Path) -> None:
    """Draw ``info`` to a PNG file, written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    try:
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
        for lat, acc, name in info.baselines:
            ax.scatter([lat], [acc], marker="s", s=40, facecolors="none", edgecolors="dimgray")
            ax.annotate(name, (lat, acc), textcoords="offset points", xytext=(4, -10), fontsize=7)
        lat, acc, label = info.chosen
        ax.scatter([lat], [acc], marker="*", s=160, color="red", zorder=5, label="recommended")
        ax.annotate(label, (lat, acc), textcoords="offset points", xytext=(6, 6), fontsize=8)
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
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        atomic_write_png(fig, path)
    finally:
        plt.close(fig)
