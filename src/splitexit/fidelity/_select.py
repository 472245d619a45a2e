"""Which configurations to measure: the recommendation and a spread of the Pareto frontier."""

from __future__ import annotations

import numpy as np

from splitexit._validation import (
    InstanceOf,
    Interval,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.planner import Plan, PlanPoint

__all__ = ["configurations_to_measure"]


@validate_params(
    {
        "plan": [InstanceOf(Plan)],
        "count": [Interval(int, 1, None)],
    }
)
def configurations_to_measure(plan: Plan, count: int = 10) -> list[PlanPoint]:
    """The recommendation first, then frontier points evenly spaced by rank (fastest and most
    accurate included), ``count`` in all or the whole frontier if it is smaller.

    >>> from splitexit import load_profile, load_topology, plan
    >>> points = configurations_to_measure(plan(load_profile("example"), load_topology("iot")))
    >>> len(points)
    10
    """
    if count < 1:
        raise InputError(f"count must be >= 1, got {count}")
    chosen = [plan.best]
    frontier = [p for p in plan.pareto if p.config != plan.best.config]
    wanted = min(count - 1, len(frontier))
    if wanted > 0:
        ranks = np.unique(np.linspace(0, len(frontier) - 1, wanted).round().astype(int))
        chosen += [frontier[int(r)] for r in ranks]
    return chosen
