"""The performance model written the slow, obvious way: one configuration, plain loops.

This is the oracle the vectorized model is tested against and the baseline the benchmarks
compare with (the public successor of seed 000 evaluates configurations like this). It
follows the formulas of seed 000, section 2.3, term by term and shares no code with
``_vectorized``; do not use it in hot paths.
"""

from __future__ import annotations

from splitexit._validation import (
    InstanceOf,
    Options,
    validate_params,
)
from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.perfmodel._types import Estimate
from splitexit.profile import ACCURACY_SOURCES, AccuracySource, Profile
from splitexit.topology import Topology

__all__ = ["reference_estimate"]


def _transfer(topology: Topology, bits: float, a: int, b: int) -> tuple[float, float]:
    """(transmission, propagation) seconds of ``bits`` from tier a to tier b, link by link."""
    transmission = propagation = 0.0
    for j in range(min(a, b), max(a, b)):
        transmission += bits / topology.links[j].bandwidth
        propagation += topology.links[j].latency
    return transmission, propagation


def _message(topology: Topology, a: int, b: int) -> float:
    """Overhead of one message from tier a to tier b: per message, plus per link crossed."""
    return topology.overheads.per_message + topology.overheads.per_hop * abs(b - a)


def _paper_exits(
    profile: Profile, config: Configuration, accuracy: str
) -> tuple[list[float], float]:
    """E_k (the last partition summing through N) and sum_k acc[P_k] E_k."""
    acc = profile.branch_accuracy(accuracy)
    indices = set(config.threshold_indices(profile.thresholds.tolist())) or {0}
    if len(indices) != 1:
        raise InputError("the paper's estimator takes one global threshold, got one per exit")
    alpha = [float(a) for a in profile.exit_rates[indices.pop()]]
    exit_rates = []
    first = 0
    for k, last in enumerate(config.partition):
        stop = profile.num_blocks - 1 if k == config.num_partitions - 1 else last
        exit_rates.append(sum(alpha[first : stop + 1]))
        first = last + 1
    weighted = sum(float(acc[p]) * e for p, e in zip(config.partition, exit_rates, strict=True))
    return exit_rates, weighted


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "topology": [InstanceOf(Topology)],
        "config": [InstanceOf(Configuration)],
        "accuracy": [Options(ACCURACY_SOURCES)],
        "replayed": [InstanceOf(list, tuple), None],
    }
)
def reference_estimate(
    profile: Profile,
    topology: Topology,
    config: Configuration,
    *,
    accuracy: AccuracySource = "separate",
    replayed: tuple[tuple[float, ...], float] | None = None,
) -> Estimate:
    """Estimate one configuration with plain Python arithmetic.

    ``replayed`` = (E_k per partition, accuracy) replaces the paper's estimator, e.g. with
    what :func:`reference_trace_estimate` measured on a per-sample trace.
    """
    parts = config.partition
    num_parts = len(parts)
    if replayed is not None:
        exit_rates, estimated_accuracy = list(replayed[0]), replayed[1]
    else:
        exit_rates, estimated_accuracy = _paper_exits(profile, config, accuracy)

    compute = transmission = propagation = overhead = 0.0
    trans, prop = _transfer(topology, profile.input_bits, topology.source, config.placement[0])
    transmission += trans
    propagation += prop
    overhead += _message(topology, topology.source, config.placement[0])

    reached = 1.0  # S_{k-1}
    first = 0
    for k, last in enumerate(parts):
        tier = config.placement[k]
        work = sum(float(c) for c in profile.block_compute_s[first : last + 1])
        work += float(profile.branch_compute_s[last])
        compute += reached * topology.tiers[tier].compute_ratio * work
        exiting = exit_rates[k]
        staying = reached - exiting if k < num_parts - 1 else 0.0
        trans, prop = _transfer(topology, profile.result_bits, tier, topology.destination)
        transmission += exiting * trans
        propagation += exiting * prop
        overhead += exiting * _message(topology, tier, topology.destination)
        if k < num_parts - 1:
            trans, prop = _transfer(
                topology, float(profile.output_bits[last]), tier, config.placement[k + 1]
            )
            transmission += staying * trans
            propagation += staying * prop
            overhead += staying * _message(topology, tier, config.placement[k + 1])
        reached = staying
        first = last + 1

    return Estimate(
        accuracy=estimated_accuracy,
        compute_s=compute,
        transmission_s=transmission,
        propagation_s=propagation,
        exit_rates=tuple(exit_rates),
        overhead_s=overhead,
    )
