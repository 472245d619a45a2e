"""Planning over operator variants: several profiles of one model (identity I, quantized Q,
early exit E, QE, ...), each searched over (T, P, A), one frontier and one answer over the
union of (variant, T, P, A).

Partitioned operators (P, QEP of seed 004) are not variants: they are I and QE partitioned,
which the search over partitions and placements already covers.

Each variant's space is searched as :func:`plan` searches one profile (enumerating or
exactly); the union's frontier is the frontier of the variants' frontiers. Exact ties go to
fewer partitions, then to the variant given first, then to the enumeration order within it.
A requirement is answered per variant and the best answer wins: P_lat by (latency, fewer
partitions, higher accuracy, earlier variant), P_acc by (accuracy, fewer partitions, lower
latency, earlier variant).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np

from splitexit._validation import InstanceOf, validate_params
from splitexit.errors import InfeasibleError, InputError
from splitexit.planner._baselines import baselines
from splitexit.planner._pareto import frontier_order
from splitexit.planner._plan import (
    Searched,
    _infeasible_message,
    _point,
    _requirement,
    load_plan_inputs,
    optimum,
    search,
)
from splitexit.planner._result import Plan, PlanPoint, Requirement
from splitexit.planner._sweep import Candidates, SampledPoints
from splitexit.profile import AccuracySource, Profile, Trace
from splitexit.topology import Topology

__all__ = ["PARTITIONED_OPERATORS", "check_variants", "plan_variants", "variant_label"]

# seed 004's partitioned operators: the planner's partitions of I and QE, not variants
PARTITIONED_OPERATORS = {"P": "I", "QEP": "QE"}
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


@validate_params(
    {
        "label": [InstanceOf(str), None],
        "profile": [InstanceOf(Profile)],
        "where": [InstanceOf(str)],
    }
)
def variant_label(label: str | None, profile: Profile, where: str) -> str:
    """The variant's label: ``label`` when given, else the one its profile carries
    (``onnx.operator``, written by ``splitexit profile --onnx --operator``)."""
    found = label if label is not None else (profile.onnx.operator if profile.onnx else None)
    if found is None:
        raise InputError(
            f"{where}: the profile names no operator variant; write LABEL=PROFILE "
            "(e.g. Q=q.json) or profile it with --operator"
        )
    if not _LABEL.fullmatch(found):
        raise InputError(
            f"{where}: variant label {found!r} must be a letter, then letters, digits, '_' or '-'"
        )
    if found in PARTITIONED_OPERATORS:
        raise InputError(
            f"{where}: {found} is not a variant: it is {PARTITIONED_OPERATORS[found]} "
            "partitioned, which the planner searches over (give the "
            f"{PARTITIONED_OPERATORS[found]} profile)"
        )
    return found


@validate_params({"profiles": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")]})
def check_variants(profiles: Mapping[str, Profile]) -> None:
    """Variants are versions of one model on one input: the same input size and classes."""
    if not profiles:
        raise InputError("plan: no profile given")
    first_label, first = next(iter(profiles.items()))
    for label, profile in profiles.items():
        if not _LABEL.fullmatch(label):
            raise InputError(
                f"plan: variant label {label!r} must be a letter, then letters, digits, '_' or '-'"
            )
        if label in PARTITIONED_OPERATORS:
            raise InputError(
                f"plan: {label} is not a variant: it is {PARTITIONED_OPERATORS[label]} partitioned"
            )
        for what, mine, theirs in (
            ("input bits", profile.input_bits, first.input_bits),
            ("classes", profile.num_classes, first.num_classes),
        ):
            if mine != theirs:
                raise InputError(
                    f"plan: variant {label} ({profile.model}) has {mine:g} {what} but variant "
                    f"{first_label} ({first.model}) has {theirs:g}; variants must be versions of "
                    "one model on one input"
                )


def _merged_frontier(spaces: list[Searched]) -> tuple[Candidates, np.ndarray]:
    """The union's frontier and each point's variant index, by increasing latency."""
    width = max(s.frontier.partition.shape[1] for s in spaces)
    merged = Candidates.concat([s.frontier for s in spaces], width)
    variant = np.concatenate(
        [np.full(len(s.frontier), v, dtype=np.int64) for v, s in enumerate(spaces)]
    )
    keep = frontier_order(merged.latency, merged.accuracy, merged.num_parts, variant, merged.order)
    return merged.take(keep), variant[keep]


def _best_answer(spaces: list[Searched], requirement: Requirement) -> tuple[int, Candidates]:
    """The winning variant's index and its answer to ``requirement``."""
    best: tuple[float, ...] | None = None
    found: tuple[int, Candidates] | None = None
    for v, space in enumerate(spaces):
        try:
            chosen = optimum(space, requirement)
        except InfeasibleError:
            continue
        lat, acc = float(chosen.latency[0]), float(chosen.accuracy[0])
        parts = int(chosen.num_parts[0])
        key: tuple[float, ...] = (
            (-acc, parts, lat, v) if requirement.kind == "max_latency" else (lat, parts, -acc, v)
        )
        if best is None or key < best:
            best, found = key, (v, chosen)
    if found is None:
        raise InfeasibleError(_infeasible_message(requirement, _merged_frontier(spaces)[0]))
    return found


def plan_variants(
    profiles: Mapping[str, Profile | str | Path],
    topology: Topology,
    *,
    min_accuracy: float | None,
    max_latency_s: float | None,
    destination: str | None,
    accuracy: AccuracySource,
    solver: Literal["auto", "exact", "enumerate"],
    estimator: Literal["auto", "paper", "trace"],
    per_exit_thresholds: bool,
    sample_size: int,
) -> Plan:
    """What :func:`splitexit.plan` returns for a mapping of variant labels to profiles."""
    loaded: dict[str, Profile] = {}
    traces: dict[str, Trace | None] = {}
    for label, given in profiles.items():
        if isinstance(given, Profile):
            loaded[label], traces[label] = given, None
        else:
            loaded[label], traces[label] = load_plan_inputs(given, estimator)
    check_variants(loaded)
    if min_accuracy is not None and max_latency_s is not None:
        raise InputError("plan: give either a minimum accuracy or a maximum latency, not both")
    if destination is not None:
        topology = topology.with_destination(destination)
    started = time.perf_counter()
    labels = list(loaded)
    each = max(1, sample_size // len(labels))
    spaces = [
        search(
            loaded[label],
            topology,
            accuracy=accuracy,
            solver=solver,
            estimator=estimator,
            trace=traces[label],
            per_exit_thresholds=per_exit_thresholds,
            sample_size=each,
        )
        for label in labels
    ]
    frontier, owner = _merged_frontier(spaces)
    requirement = _requirement(min_accuracy, max_latency_s, frontier)
    winner, chosen = _best_answer(spaces, requirement)
    elapsed = time.perf_counter() - started

    def point(v: int, cands: Candidates, i: int) -> PlanPoint:
        return _point(spaces[v].inputs, loaded[labels[v]], cands, i, labels[v])

    best = point(winner, chosen, 0)
    names = [tier.name for tier in topology.tiers]
    reference = [
        replace(
            baseline,
            description=f"{baseline.description}, variant {labels[0]}",
            point=replace(baseline.point, variant=labels[0]),
        )
        for baseline in baselines(spaces[0].inputs, best.latency_s, names)
    ]
    return Plan(
        profile=loaded[labels[0]],
        topology=topology,
        accuracy_source=accuracy,
        requirement=requirement,
        best=best,
        pareto=tuple(point(int(owner[i]), frontier, i) for i in range(len(frontier))),
        baselines=tuple(reference),
        configurations_evaluated=sum(s.total for s in spaces),
        solver="+".join(dict.fromkeys(s.solver for s in spaces)),
        estimator="+".join(dict.fromkeys(s.estimator for s in spaces)),
        per_exit_thresholds=per_exit_thresholds,
        elapsed_s=elapsed,
        samples=SampledPoints(
            latency=np.concatenate([s.samples.latency for s in spaces]),
            accuracy=np.concatenate([s.samples.accuracy for s in spaces]),
            num_parts=np.concatenate([s.samples.num_parts for s in spaces]),
        ),
        states_explored=_sum_or_none([s.states for s in spaces]),
        labels_kept=_sum_or_none([s.labels for s in spaces]),
        variants=tuple(labels),
        variant_profiles=tuple(loaded[label] for label in labels),
    )


def _sum_or_none(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None
