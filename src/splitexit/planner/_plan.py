"""The planner: enumerate, keep the Pareto frontier, answer the problems of section 2.4."""

from __future__ import annotations

import math
import time

import numpy as np

from splitexit.errors import InfeasibleError, InputError
from splitexit.perfmodel import Config, ModelInputs, estimate
from splitexit.planner._baselines import baselines
from splitexit.planner._pareto import ACCURACY_DECIMALS, LATENCY_DECIMALS
from splitexit.planner._result import Plan, PlanPoint, Requirement
from splitexit.planner._sweep import Candidates, sweep
from splitexit.profile import Profile
from splitexit.topology import Topology
from splitexit.units import format_duration

__all__ = ["DEFAULT_ACCURACY_MARGIN", "plan"]

DEFAULT_ACCURACY_MARGIN = 0.01  # without a requirement: within 1 point of the best accuracy


def plan(
    profile: Profile,
    topology: Topology,
    *,
    min_accuracy: float | None = None,
    max_latency_s: float | None = None,
    destination: str | None = None,
    accuracy: str = "separate",
    sample_size: int = 20_000,
) -> Plan:
    """Recommend a (threshold, partitioning, placement) for ``profile`` on ``topology``.

    Solves P_lat (minimum latency s.t. accuracy >= ``min_accuracy``) or P_acc (maximum
    accuracy s.t. latency <= ``max_latency_s``); without either, the fastest configuration
    within 1 percentage point of the best achievable accuracy. Ties go to fewer partitions,
    then to lower latency.

    >>> from splitexit import load_profile, load_topology
    >>> result = plan(load_profile("example"), load_topology("mobile"), min_accuracy=0.85)
    >>> result.best.accuracy >= 0.85
    True
    """
    _check_requirement(min_accuracy, max_latency_s)
    if destination is not None:
        topology = topology.with_destination(destination)
    started = time.perf_counter()
    inputs = ModelInputs.build(profile, topology, accuracy=accuracy)
    result = sweep(inputs, sample_size=sample_size)
    frontier = result.frontier()
    if min_accuracy is not None:
        requirement = Requirement("min_accuracy", min_accuracy)
    elif max_latency_s is not None:
        requirement = Requirement("max_latency", max_latency_s)
    else:
        best_accuracy = float(frontier.accuracy.max())
        requirement = Requirement(
            "near_best_accuracy",
            max(0.0, best_accuracy - DEFAULT_ACCURACY_MARGIN),
            margin=DEFAULT_ACCURACY_MARGIN,
        )
    chosen = _solve(result.per_length, requirement, frontier)
    elapsed = time.perf_counter() - started
    best = _point(inputs, profile, chosen, 0)
    names = [tier.name for tier in topology.tiers]
    return Plan(
        profile=profile,
        topology=topology,
        accuracy_source=accuracy,
        requirement=requirement,
        best=best,
        pareto=tuple(_point(inputs, profile, frontier, i) for i in range(len(frontier))),
        baselines=tuple(baselines(inputs, best.latency_s, names)),
        configurations_evaluated=result.evaluated,
        solver="enumerate",
        elapsed_s=elapsed,
        samples=result.samples,
    )


def _check_requirement(min_accuracy: float | None, max_latency_s: float | None) -> None:
    if min_accuracy is not None and max_latency_s is not None:
        raise InputError("give either a minimum accuracy or a maximum latency, not both")
    if min_accuracy is not None and not (0.0 <= min_accuracy <= 1.0):
        raise InputError(f"minimum accuracy must be in [0, 1], got {min_accuracy!r}")
    if max_latency_s is not None and not (max_latency_s > 0 and math.isfinite(max_latency_s)):
        raise InputError(f"maximum latency must be a finite duration > 0, got {max_latency_s!r}")


def _solve(
    per_length: dict[int, Candidates], requirement: Requirement, frontier: Candidates
) -> Candidates:
    """The optimum of the requirement, read from the per-L frontiers (see docs/planner.md)."""
    best: tuple[float, ...] | None = None
    chosen: Candidates | None = None
    for num_parts, cands in sorted(per_length.items()):
        if requirement.kind == "max_latency":
            bound = round(requirement.value, LATENCY_DECIMALS)
            feasible = np.flatnonzero(cands.latency <= bound)
            if feasible.size == 0:
                continue
            i = feasible[np.argmax(cands.accuracy[feasible])]  # frontier: unique per accuracy
            key: tuple[float, ...] = (-cands.accuracy[i], num_parts, cands.latency[i])
        else:
            bound = round(requirement.value, ACCURACY_DECIMALS)
            feasible = np.flatnonzero(cands.accuracy >= bound)
            if feasible.size == 0:
                continue
            i = feasible[np.argmin(cands.latency[feasible])]
            key = (cands.latency[i], num_parts)
        if best is None or key < best:
            best, chosen = key, cands.take(np.array([i]))
    if chosen is None:
        raise InfeasibleError(_infeasible_message(requirement, frontier))
    return chosen


def _infeasible_message(requirement: Requirement, frontier: Candidates) -> str:
    if requirement.kind == "max_latency":
        fastest = float(frontier.latency.min())
        return (
            f"no configuration meets latency <= {format_duration(requirement.value)}; "
            f"the fastest takes {format_duration(fastest)}"
        )
    return (
        f"no configuration reaches accuracy >= {requirement.value:.2%}; "
        f"the best achievable is {float(frontier.accuracy.max()):.2%}"
    )


def _point(inputs: ModelInputs, profile: Profile, cands: Candidates, i: int) -> PlanPoint:
    num_parts = int(cands.num_parts[i])
    t = int(cands.threshold[i])
    config = Config(
        threshold_index=None if t < 0 else t,
        partition=tuple(int(p) for p in cands.partition[i, :num_parts]),
        placement=tuple(int(a) for a in cands.placement[i, :num_parts]),
    )
    threshold = None if t < 0 else float(profile.thresholds[t])
    return PlanPoint(config=config, threshold=threshold, estimate=estimate(inputs, config))
