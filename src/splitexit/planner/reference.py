"""The planner written the slow, obvious way: every configuration, one at a time.

The oracle for the vectorized planner's tests and the baseline of its benchmark (this is how
the public successor of seed 000 plans). It uses :func:`reference_estimate`, plain loops and
plain sorting, and shares no code with ``_sweep``; do not use it for real sizes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping

import numpy as np

from splitexit._validation import (
    Callable_,
    InstanceOf,
    Interval,
    Options,
    validate_params,
)
from splitexit.configuration import Configuration
from splitexit.perfmodel import reference_estimate
from splitexit.planner._pareto import ACCURACY_DECIMALS, LATENCY_DECIMALS
from splitexit.profile import ACCURACY_SOURCES, AccuracySource, Profile
from splitexit.topology import Topology

__all__ = [
    "Evaluated",
    "VariantEvaluated",
    "reference_configurations",
    "reference_frontier",
    "reference_optimum",
    "reference_variant_frontier",
    "reference_variant_optimum",
]

# (config, rounded latency, rounded accuracy, rank in enumeration order within its L)
Evaluated = tuple[Configuration, float, float, int]
# config -> (E_k per partition, accuracy), replacing the paper's estimator
Replay = Callable[[Configuration], tuple[tuple[float, ...], float]]


def reference_configurations(
    profile: Profile, topology: Topology, *, per_exit: bool = False
) -> Iterator[Configuration]:
    """Every configuration, in enumeration order: L, then P, then T, then A. With
    ``per_exit``, T runs over threshold vectors (one per exit but the last), exit 1 the
    slowest-changing."""
    n, m = profile.num_blocks, topology.num_tiers
    grid = [float(t) for t in profile.thresholds]
    nt = len(grid)
    for num_parts in range(1, min(n, m) + 1):
        exits = num_parts - 1
        vectors: list[tuple[int, ...]] = (
            list(itertools.product(range(nt), repeat=exits))
            if per_exit
            else [(t,) * exits for t in range(nt if exits else 1)]
        )
        for partition in itertools.combinations(range(n), num_parts):
            for vector in vectors:
                for placement in itertools.permutations(range(m), num_parts):
                    yield Configuration.from_indices(partition, placement, vector, grid)


def _evaluate_all(
    profile: Profile,
    topology: Topology,
    accuracy: AccuracySource,
    replay: Replay | None = None,
    per_exit: bool = False,
) -> list[Evaluated]:
    out: list[Evaluated] = []
    rank = 0
    previous_parts = 0
    for config in reference_configurations(profile, topology, per_exit=per_exit):
        if config.num_partitions != previous_parts:
            rank, previous_parts = 0, config.num_partitions
        est = reference_estimate(
            profile,
            topology,
            config,
            accuracy=accuracy,
            replayed=None if replay is None else replay(config),
        )
        latency = float(np.round(est.latency_s, LATENCY_DECIMALS))
        acc = float(np.round(est.accuracy, ACCURACY_DECIMALS))
        out.append((config, latency, acc, rank))
        rank += 1
    return out


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "topology": [InstanceOf(Topology)],
        "accuracy": [Options(ACCURACY_SOURCES)],
        "replay": [Callable_(), None],
        "per_exit": [InstanceOf(bool)],
    }
)
def reference_frontier(
    profile: Profile,
    topology: Topology,
    *,
    accuracy: AccuracySource = "separate",
    replay: Replay | None = None,
    per_exit: bool = False,
) -> list[Evaluated]:
    """The Pareto frontier by sorting every configuration: by latency, then accuracy (high
    first), then fewer partitions, then enumeration order; keep strict accuracy records."""
    every = _evaluate_all(profile, topology, accuracy, replay, per_exit)
    every.sort(key=lambda e: (e[1], -e[2], e[0].num_partitions, e[3]))
    frontier: list[Evaluated] = []
    for item in every:
        if not frontier or item[2] > frontier[-1][2]:
            frontier.append(item)
    return frontier


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "topology": [InstanceOf(Topology)],
        "min_accuracy": [Interval(float, 0, 1), None],
        "max_latency_s": [Interval(float, 0, None, closed="neither"), None],
        "accuracy": [Options(ACCURACY_SOURCES)],
    }
)
def reference_optimum(
    profile: Profile,
    topology: Topology,
    *,
    min_accuracy: float | None = None,
    max_latency_s: float | None = None,
    accuracy: AccuracySource = "separate",
) -> Evaluated | None:
    """P_lat or P_acc by scanning every configuration (ties: fewer partitions, then latency)."""
    best: Evaluated | None = None
    best_key: tuple[float, ...] | None = None
    for item in _evaluate_all(profile, topology, accuracy):
        config, latency, acc, rank = item
        if min_accuracy is not None:
            if acc < round(min_accuracy, ACCURACY_DECIMALS):
                continue
            key: tuple[float, ...] = (latency, config.num_partitions, -acc, rank)
        else:
            assert max_latency_s is not None
            if latency > round(max_latency_s, LATENCY_DECIMALS):
                continue
            key = (-acc, config.num_partitions, latency, rank)
        if best_key is None or key < best_key:
            best, best_key = item, key
    return best


# (variant index, label, evaluated configuration)
VariantEvaluated = tuple[int, str, Evaluated]


def _evaluate_variants(
    profiles: Mapping[str, Profile], topology: Topology, accuracy: AccuracySource
) -> list[VariantEvaluated]:
    return [
        (v, label, item)
        for v, (label, profile) in enumerate(profiles.items())
        for item in _evaluate_all(profile, topology, accuracy)
    ]


@validate_params(
    {
        "profiles": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "topology": [InstanceOf(Topology)],
        "accuracy": [Options(ACCURACY_SOURCES)],
    }
)
def reference_variant_frontier(
    profiles: Mapping[str, Profile],
    topology: Topology,
    *,
    accuracy: AccuracySource = "separate",
) -> list[VariantEvaluated]:
    """The frontier over every (variant, configuration) by sorting all of them: latency,
    accuracy (high first), fewer partitions, the earlier variant, enumeration order."""
    every = _evaluate_variants(profiles, topology, accuracy)
    every.sort(key=lambda e: (e[2][1], -e[2][2], e[2][0].num_partitions, e[0], e[2][3]))
    frontier: list[VariantEvaluated] = []
    for item in every:
        if not frontier or item[2][2] > frontier[-1][2][2]:
            frontier.append(item)
    return frontier


@validate_params(
    {
        "profiles": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "topology": [InstanceOf(Topology)],
        "min_accuracy": [Interval(float, 0, 1), None],
        "max_latency_s": [Interval(float, 0, None, closed="neither"), None],
        "accuracy": [Options(ACCURACY_SOURCES)],
    }
)
def reference_variant_optimum(
    profiles: Mapping[str, Profile],
    topology: Topology,
    *,
    min_accuracy: float | None = None,
    max_latency_s: float | None = None,
    accuracy: AccuracySource = "separate",
) -> VariantEvaluated | None:
    """P_lat or P_acc over every (variant, configuration), by scanning (ties: fewer
    partitions, then the better other value, then the earlier variant)."""
    best: VariantEvaluated | None = None
    best_key: tuple[float, ...] | None = None
    for item in _evaluate_variants(profiles, topology, accuracy):
        v, _, (config, latency, acc, rank) = item
        if min_accuracy is not None:
            if acc < round(min_accuracy, ACCURACY_DECIMALS):
                continue
            key: tuple[float, ...] = (latency, config.num_partitions, -acc, v, rank)
        else:
            assert max_latency_s is not None
            if latency > round(max_latency_s, LATENCY_DECIMALS):
                continue
            key = (-acc, config.num_partitions, latency, v, rank)
        if best_key is None or key < best_key:
            best, best_key = item, key
    return best
