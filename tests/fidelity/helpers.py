"""Synthetic measurement files: what the runtime would write if it paid known overheads."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from splitexit.configuration import Configuration, exit_partitions
from splitexit.fidelity import path_costs
from splitexit.profile import Profile, Trace, load_profile, load_profile_trace, profile_path
from splitexit.topology import Topology

PROFILE = "resnet20-fashion-mnist"


@functools.cache
def bundled() -> tuple[Profile, Trace]:
    profile = load_profile(PROFILE)
    return profile, load_profile_trace(profile, profile_path(PROFILE))


@dataclass(frozen=True)
class Overheads:
    """What the fake runtime pays beyond the emulated delays (seconds)."""

    message_s: float = 2e-3  # per message (input, forward, result)
    per_bit_s: float = 2e-9
    call_s: float = 5e-4  # per partition call
    noise_s: float = 0.0  # scale of exponential noise per message
    reference_scale: float = 1.0  # ORT time / the profile's time
    local_message_s: float | None = None  # an input or result crossing no link (else message_s)
    per_hop_s: float = 0.0  # per link a message crosses


def measurement_mapping(
    topology: Topology,
    deployment: Configuration,
    *,
    rows: int = 400,
    overheads: Overheads | None = None,
    seed: int = 0,
    failed: int = 0,
    network: str = "emulated",
) -> dict[str, Any]:
    """A ``splitexit.measurement/1`` mapping for ``deployment`` on ``topology``.

    ``network="netns"`` times it as the kernel-shaped testbed does: nobody sleeps the links
    (``link_s`` = 0), the transfer happens between the stamps, and each receiver sleeps the
    propagation after stamping the arrival (the result's is added to the latency)."""
    netns = network == "netns"
    cost = overheads or Overheads()
    profile, trace = bundled()
    rng = np.random.default_rng(seed)
    paper = path_costs(profile, topology, deployment)
    reference = paper.work_s / topology.compute_ratios[list(deployment.placement)]
    reference = reference * cost.reference_scale
    pl, ib = topology.path_latency, topology.path_inverse_bandwidth
    tiers = [topology.tiers[a].name for a in deployment.placement]
    src, dst = topology.source, topology.destination
    index = np.sort(rng.choice(trace.num_samples, rows, replace=False))
    chosen = trace.entropy_joint[index][:, list(deployment.partition)]
    leave = exit_partitions(chosen, deployment.exit_thresholds)
    count = len(deployment.partition)

    def gap(bits: float, local: bool = False, hops: int = 0) -> float:
        base = cost.message_s + cost.per_hop_s * hops
        if local and cost.local_message_s is not None:
            base = cost.local_message_s
        return base + cost.per_bit_s * bits + float(rng.exponential(cost.noise_s))

    samples = []
    for n, (row, exit_k) in enumerate(zip(index.tolist(), leave.tolist(), strict=True)):
        label = int(trace.labels[row])
        right = bool(trace.correct_joint[row, deployment.partition[exit_k]])
        first = deployment.placement[0]
        input_link = float(pl[src, first] + profile.input_bits * ib[src, first])
        clock = input_link + gap(profile.input_bits, first == src, abs(first - src))
        delay = 0.0  # netns: the propagation the receiver sleeps after stamping
        if netns:
            delay = float(pl[src, first])
            clock -= delay
            input_link = 0.0
        hops = []
        for k in range(exit_k + 1):
            here = deployment.placement[k]
            busy = topology.tiers[here].compute_ratio * reference[k] + cost.call_s
            if k < exit_k:
                bits = float(profile.output_bits[deployment.partition[k]])
                to = deployment.placement[k + 1]
            else:
                bits, to = profile.result_bits, dst
            link = float(pl[here, to] + bits * ib[here, to])
            hops.append(
                {
                    "partition": k + 1,
                    "tier": tiers[k],
                    "arrive_s": clock,
                    "compute_s": reference[k],
                    "busy_s": busy,
                    "link_s": 0.0 if netns else link,
                }
            )
            clock += delay + busy + link + gap(bits, k == exit_k and here == dst, abs(to - here))
            if netns and k < exit_k:  # the next receiver sleeps this hop's propagation
                delay = float(pl[here, to])
                clock -= delay
        delivered = n >= failed
        samples.append(
            {
                "index": row,
                "label": label,
                "prediction": (label if right else (label + 1) % 10) if delivered else None,
                "exit": exit_k + 1 if delivered else None,
                "status": "delivered" if delivered else "failed",
                "reason": None if delivered else "deadline",
                "latency_s": clock if delivered else None,
                "input_link_s": input_link,
                "hops": hops if delivered else [],
            }
        )
    thresholds = deployment.thresholds
    same = len(set(thresholds)) <= 1
    return {
        "format": "splitexit.measurement/1",
        "profile": PROFILE,
        "topology": topology.name,
        "config": {
            "threshold": thresholds[0] if same and thresholds else None,
            "thresholds": None if same else list(thresholds),
            "partition": [p + 1 for p in deployment.partition],
            "placement": tiers,
        },
        "source": topology.tiers[src].name,
        "destination": topology.tiers[dst].name,
        "compute_mode": "sleep",
        **({"run": {"network": "netns"}} if netns else {}),
        "input_bits": float(profile.input_bits),
        "partitions": [
            {
                "index": k + 1,
                "tier": tiers[k],
                "compute_ratio": topology.tiers[deployment.placement[k]].compute_ratio,
                "reference_s": float(reference[k]),
                "activation_bits": (
                    float(profile.output_bits[deployment.partition[k]]) if k < count - 1 else None
                ),
                "result_bits": float(profile.result_bits),
            }
            for k in range(count)
        ],
        "samples": samples,
    }


def random_deployments(topology: Topology, count: int, seed: int) -> list[Configuration]:
    """Distinct random configurations with 1 to 3 partitions over the profile's thresholds."""
    profile, _ = bundled()
    rng = np.random.default_rng(seed)
    found: list[Configuration] = []
    while len(found) < count:
        parts = int(rng.integers(1, 4))
        partition = tuple(sorted(rng.choice(profile.num_blocks, parts, replace=False).tolist()))
        placement = tuple(rng.choice(topology.num_tiers, parts, replace=False).tolist())
        threshold = float(profile.thresholds[int(rng.integers(4, 16))])
        deployment = Configuration(partition, placement, (threshold,) * (parts - 1))
        if deployment not in found:
            found.append(deployment)
    return found
