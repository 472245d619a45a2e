"""The planner: enumerate, keep the Pareto frontier, answer the problems of section 2.4."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from splitexit._validation import InstanceOf, Interval, Options, Unit, validate_params
from splitexit.configuration import Configuration
from splitexit.errors import InfeasibleError, InputError
from splitexit.perfmodel import (
    CascadeTable,
    ExitModel,
    ModelInputs,
    PerExitTable,
    decode_thresholds,
    estimate,
)
from splitexit.planner._baselines import baselines
from splitexit.planner._exact import exact_box, exact_frontier
from splitexit.planner._pareto import ACCURACY_DECIMALS, LATENCY_DECIMALS
from splitexit.planner._result import Plan, PlanPoint, Requirement
from splitexit.planner._sample import sample_configurations
from splitexit.planner._space import count_configurations
from splitexit.planner._sweep import Candidates, SampledPoints, sweep
from splitexit.profile import ACCURACY_SOURCES, AccuracySource, Profile, Trace
from splitexit.topology import Topology
from splitexit.units import format_duration, parse_duration, parse_fraction

__all__ = [
    "AUTO_EXACT_ABOVE",
    "DEFAULT_ACCURACY_MARGIN",
    "ENUMERATE_AT_MOST",
    "ESTIMATORS",
    "SOLVERS",
    "load_plan_inputs",
    "plan",
]

DEFAULT_ACCURACY_MARGIN = 0.01  # without a requirement: within 1 point of the best accuracy
SOLVERS = ("auto", "exact", "enumerate")
ESTIMATORS = ("auto", "paper", "trace")
AUTO_EXACT_ABOVE = 10_000_000  # "auto" enumerates up to this many configurations
ENUMERATE_AT_MOST = 5_000_000_000  # beyond this, enumeration would take minutes to hours


@validate_params({"spec": [InstanceOf(str, Path)], "estimator": [Options(ESTIMATORS)]})
def load_plan_inputs(spec: str | Path, estimator: str = "auto") -> tuple[Profile, Trace | None]:
    """The profile named by ``spec`` (a file or a bundled name) and, unless ``estimator`` is
    ``"paper"``, the per-sample trace it names: what ``splitexit plan`` and :func:`plan` load.
    Compute times are ONNX Runtime's (the workers' engine) whenever the profile has them.

    >>> profile, trace = load_plan_inputs("resnet20-fashion-mnist")
    >>> trace is not None
    True
    """
    from splitexit.profile import load_profile, load_profile_trace, profile_path

    loaded = load_profile(spec)
    if loaded.timings is not None and "onnxruntime" in loaded.timings:
        loaded = loaded.for_engine("onnxruntime")  # the workers' engine, when it was timed
    if estimator == "trace" or (estimator == "auto" and loaded.trace is not None):
        return loaded, load_profile_trace(loaded, profile_path(spec))
    return loaded, None


@validate_params(
    {
        "profile": [
            InstanceOf(
                Profile,
                str,
                Path,
                dict,
                "collections.abc:Mapping",
                name="a Profile, a str or Path, or a mapping of variant labels to them",
            )
        ],
        "topology": [InstanceOf(Topology)],
        "min_accuracy": [Unit(parse_fraction, "fraction", Interval(float, 0, 1)), None],
        "max_latency_s": [
            Unit(parse_duration, "duration", Interval(float, 0, None, closed="neither")),
            None,
        ],
        "destination": [InstanceOf(str), None],
        "accuracy": [Options(ACCURACY_SOURCES)],
        "solver": [Options(SOLVERS)],
        "estimator": [Options(ESTIMATORS)],
        "trace": [InstanceOf(Trace), None],
        "per_exit_thresholds": [InstanceOf(bool)],
        "sample_size": [Interval(int, 1, None)],
    }
)
def plan(
    profile: Profile | str | Path | Mapping[str, Profile | str | Path],
    topology: Topology,
    *,
    min_accuracy: float | str | None = None,
    max_latency_s: float | str | None = None,
    destination: str | None = None,
    accuracy: AccuracySource = "separate",
    solver: Literal["auto", "exact", "enumerate"] = "auto",
    estimator: Literal["auto", "paper", "trace"] = "auto",
    trace: Trace | None = None,
    per_exit_thresholds: bool = False,
    sample_size: int = 20_000,
) -> Plan:
    """Recommend a (threshold, partitioning, placement) for ``profile`` on ``topology``.

    Solves P_lat (minimum latency s.t. accuracy >= ``min_accuracy``) or P_acc (maximum
    accuracy s.t. latency <= ``max_latency_s``); without either, the fastest configuration
    within 1 percentage point of the best achievable accuracy. Ties go to fewer partitions,
    then to lower latency. ``solver`` is ``"enumerate"`` (every configuration, blockwise),
    ``"exact"`` (dynamic programming over partial plans, same answer without enumerating) or
    ``"auto"`` (enumerate up to ``AUTO_EXACT_ABOVE`` configurations, exact beyond).
    ``estimator`` is ``"paper"`` (exit rates of the full configuration, seed 000),
    ``"trace"`` (the per-sample ``trace`` replayed exactly for each (T, P); enumeration only,
    since which samples reach a partition then depends on every earlier exit), or ``"auto"``:
    the trace estimator when a trace is given and the space can be enumerated (it validated
    best, docs/profiling.md), else the paper's.
    ``per_exit_thresholds`` gives every selected exit its own threshold (|T|^(L-1) vectors
    per partitioning instead of |T|); it needs the trace estimator. ``min_accuracy`` and
    ``max_latency_s`` may be written as people write them, ``"92%"`` and ``"80ms"``.
    ``profile`` may be a file or a bundled profile's name: then it is loaded with its trace
    exactly as ``splitexit plan --profile`` loads it (:func:`load_plan_inputs`).
    ``profile`` may also map operator-variant labels to profiles (``{"I": ..., "Q": ...}``,
    ``splitexit plan --profile`` repeated): the frontier and the answer are then taken over
    (variant, T, P, A), and every point names its variant (docs/planner.md, "Operator
    variants"; P and QEP are not variants but I and QE partitioned).

    >>> from splitexit import load_profile, load_topology
    >>> result = plan(load_profile("example"), load_topology("mobile"), min_accuracy=0.85)
    >>> result.best.accuracy >= 0.85
    True
    """
    assert not isinstance(min_accuracy, str) and not isinstance(max_latency_s, str)  # parsed
    if isinstance(profile, Mapping):
        from splitexit.planner._variants import plan_variants

        if trace is not None:
            raise InputError("plan: with several variants, each profile brings its own trace")
        return plan_variants(
            profile, topology, min_accuracy=min_accuracy, max_latency_s=max_latency_s,
            destination=destination, accuracy=accuracy, solver=solver, estimator=estimator,
            per_exit_thresholds=per_exit_thresholds, sample_size=sample_size,
        )  # fmt: skip
    if not isinstance(profile, Profile):
        profile, loaded_trace = load_plan_inputs(profile, estimator)
        trace = trace if trace is not None else loaded_trace
    if min_accuracy is not None and max_latency_s is not None:
        raise InputError("plan: give either a minimum accuracy or a maximum latency, not both")
    if destination is not None:
        topology = topology.with_destination(destination)
    started = time.perf_counter()
    space = search(
        profile, topology, accuracy=accuracy, solver=solver, estimator=estimator, trace=trace,
        per_exit_thresholds=per_exit_thresholds, sample_size=sample_size,
    )  # fmt: skip
    requirement = _requirement(min_accuracy, max_latency_s, space.frontier)
    chosen = optimum(space, requirement)
    elapsed = time.perf_counter() - started
    best = _point(space.inputs, profile, chosen, 0)
    names = [tier.name for tier in topology.tiers]
    return Plan(
        profile=profile,
        topology=topology,
        accuracy_source=accuracy,
        requirement=requirement,
        best=best,
        pareto=tuple(
            _point(space.inputs, profile, space.frontier, i) for i in range(len(space.frontier))
        ),
        baselines=tuple(baselines(space.inputs, best.latency_s, names)),
        configurations_evaluated=space.total,
        solver=space.solver,
        estimator=space.estimator,
        per_exit_thresholds=per_exit_thresholds,
        elapsed_s=elapsed,
        samples=space.samples,
        states_explored=space.states,
        labels_kept=space.labels,
    )


@dataclass(frozen=True, eq=False)
class Searched:
    """One profile's space searched: its frontier and what answers a requirement on it."""

    inputs: ModelInputs
    frontier: Candidates
    per_length: dict[int, Candidates] | None  # enumeration only: the per-L frontiers
    samples: SampledPoints
    solver: str
    estimator: str
    total: int
    states: int | None
    labels: int | None


def search(
    profile: Profile,
    topology: Topology,
    *,
    accuracy: AccuracySource,
    solver: str,
    estimator: str,
    trace: Trace | None,
    per_exit_thresholds: bool,
    sample_size: int,
) -> Searched:
    """Build the model inputs of ``profile`` and find its whole frontier (enumerating or
    exact, as ``solver`` and the space's size say)."""
    total = count_configurations(
        profile.num_blocks,
        topology.num_tiers,
        profile.num_thresholds,
        per_exit=per_exit_thresholds,
    )
    if estimator == "auto":
        # the trace estimator validated best, but it can only enumerate
        enumerable = solver != "exact" and total <= ENUMERATE_AT_MOST
        estimator = "trace" if trace is not None and enumerable else "paper"
    inputs = ModelInputs.build(
        profile,
        topology,
        accuracy=accuracy,
        exit_model=_exit_model(estimator, trace, profile, accuracy, per_exit_thresholds),
        per_exit_thresholds=per_exit_thresholds,
    )
    used = _choose_solver(solver, total, decomposable=inputs.exit_model is None)
    if used == "enumerate":
        result = sweep(inputs, sample_size=sample_size)
        return Searched(
            inputs, result.frontier(), result.per_length, result.samples, used, estimator,
            total, None, None,
        )  # fmt: skip
    exact = exact_frontier(inputs)
    return Searched(
        inputs, exact.frontier, None, sample_configurations(inputs, sample_size), used,
        estimator, total, exact.states_explored, exact.labels_kept,
    )  # fmt: skip


def optimum(space: Searched, requirement: Requirement) -> Candidates:
    """The configuration answering ``requirement`` (InfeasibleError when none does)."""
    if space.per_length is not None:
        return _solve(space.per_length, requirement, space.frontier)
    return _solve_exact(space.inputs, requirement, space.frontier)


def _exit_model(
    estimator: str, trace: Trace | None, profile: Profile, accuracy: str, per_exit: bool
) -> ExitModel | None:
    if per_exit and estimator != "trace":
        raise InputError(
            "per-exit thresholds need the trace estimator: the paper's exit rates are measured "
            "with one threshold for every branch"
        )
    if estimator == "paper":
        return None
    if trace is None:
        raise InputError(f"estimator 'trace' needs the per-sample trace of {profile.model!r}")
    if trace.num_blocks != profile.num_blocks:
        raise InputError(
            f"trace has {trace.num_blocks} branches but profile {profile.model!r} has "
            f"{profile.num_blocks} blocks"
        )
    if per_exit:
        entropy, correct = trace.arrays(accuracy)
        return PerExitTable.build(entropy, correct, profile.thresholds).evaluate
    return CascadeTable.from_trace(trace, profile.thresholds, source=accuracy).evaluate


def _choose_solver(solver: str, total: int, *, decomposable: bool = True) -> str:
    if not decomposable:
        if solver == "exact":
            raise InputError(
                "the exact solver needs the paper estimator; the trace estimator does not "
                "decompose over consecutive partitions (use --solver enumerate)"
            )
        solver = "enumerate"
    if solver == "auto":
        return "exact" if total > AUTO_EXACT_ABOVE else "enumerate"
    if solver == "enumerate" and total > ENUMERATE_AT_MOST:
        advice = (
            "use the exact solver"
            if decomposable
            else "the trace estimator cannot use the exact solver; use fewer thresholds or blocks"
        )
        raise InputError(
            f"{total:.3g} configurations are too many to enumerate "
            f"(limit {ENUMERATE_AT_MOST:.0e}); {advice}"
        )
    return solver


def _requirement(
    min_accuracy: float | None, max_latency_s: float | None, frontier: Candidates
) -> Requirement:
    if min_accuracy is not None:
        return Requirement("min_accuracy", min_accuracy)
    if max_latency_s is not None:
        return Requirement("max_latency", max_latency_s)
    best_accuracy = float(frontier.accuracy.max())
    return Requirement(
        "near_best_accuracy",
        max(0.0, best_accuracy - DEFAULT_ACCURACY_MARGIN),
        margin=DEFAULT_ACCURACY_MARGIN,
    )


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


def _solve_exact(inputs: ModelInputs, requirement: Requirement, frontier: Candidates) -> Candidates:
    """The optimum read from the global frontier, then its exact ties resolved in favour of
    fewer partitions by searching each smaller L inside the box of equally good plans."""
    if requirement.kind == "max_latency":
        feasible = np.flatnonzero(frontier.latency <= round(requirement.value, LATENCY_DECIMALS))
        if feasible.size == 0:
            raise InfeasibleError(_infeasible_message(requirement, frontier))
        i = int(feasible[-1])  # frontier accuracy increases with latency
        box = {"max_latency_s": requirement.value, "min_accuracy": float(frontier.accuracy[i])}
    else:
        feasible = np.flatnonzero(frontier.accuracy >= round(requirement.value, ACCURACY_DECIMALS))
        if feasible.size == 0:
            raise InfeasibleError(_infeasible_message(requirement, frontier))
        i = int(feasible[0])
        box = {"max_latency_s": float(frontier.latency[i]), "min_accuracy": requirement.value}
    for num_parts in range(1, int(frontier.num_parts[i])):
        tied = exact_box(inputs, num_parts, **box)
        if len(tied):
            # P_acc: all tied plans share the best accuracy, take the fastest (first);
            # P_lat: all share the best latency, take the most accurate (last).
            return tied.take(np.array([0 if requirement.kind == "max_latency" else len(tied) - 1]))
    return frontier.take(np.array([i]))


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


def _point(
    inputs: ModelInputs, profile: Profile, cands: Candidates, i: int, variant: str | None = None
) -> PlanPoint:
    num_parts = int(cands.num_parts[i])
    t = int(cands.threshold[i])
    exits = num_parts - 1
    if t < 0 or exits == 0:
        vector: list[int] = []
    elif inputs.per_exit_thresholds:
        vector = decode_thresholds(np.array([t]), exits, inputs.num_thresholds)[0].tolist()
    else:
        vector = [t] * exits
    config = Configuration.from_indices(
        cands.partition[i, :num_parts].tolist(),
        cands.placement[i, :num_parts].tolist(),
        vector,
        profile.thresholds.tolist(),
    )
    per_exit = inputs.per_exit_thresholds
    return PlanPoint(
        config=config, estimate=estimate(inputs, config), per_exit=per_exit, variant=variant
    )
