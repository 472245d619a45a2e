"""How a configuration is written for people, the same in tables and plots."""

from __future__ import annotations

from splitexit.planner import PlanPoint

__all__ = ["partition_text", "placement_text", "threshold_text"]


def partition_text(point: PlanPoint) -> str:
    """The paper's 1-based P: ``[3,9]``."""
    return "[" + ",".join(str(p + 1) for p in point.config.partition) + "]"


def placement_text(point: PlanPoint, tier_names: list[str], *, sep: str = ", ") -> str:
    """A as tier names: ``[smartphone, edge]``."""
    return "[" + sep.join(tier_names[a] for a in point.config.placement) + "]"


def threshold_text(point: PlanPoint) -> str | None:
    """T as ``0.6``, per-exit thresholds as ``0.6/0.8``, or None for a single partition."""
    if point.threshold is None:
        return None
    if isinstance(point.threshold, tuple):
        return "/".join(f"{t:g}" for t in point.threshold)
    return f"{point.threshold:g}"
