"""Fit the topology's per-message overheads once per network, from measurements.

Every message the runtime sends (the input, each activation forwarded between partitions,
the result) takes, between its sender finishing and its receiver starting, the transfer the
paper's model charges (PL + bits * IB over the links it crosses) plus an excess the model
lacks: encoding, gRPC or frames, TCP, forwarding in the middle tiers, thread wake-ups. The
per-hop timestamps of a measurement give each message's time without a guess:

    input    arrive_1                                (the driver sends at 0)
    forward  arrive_{k+1} - (arrive_k + busy_k)      (partition k ends at arrive_k + busy_k)
    result   latency - (arrive_e + busy_e)

whatever the network: on the emulated testbed the sender sleeps the charged delay inside this
interval, on kernel-shaped links the kernel spends it. The excess of each message is its time
minus PL + bits * IB of its path (with the sizes the workers sent), and the term fitted is

    excess = per_message + per_hop * (links crossed)

robustly, as the calibrated model reads its intercepts (docs/fidelity.md): ``per_hop`` is the
count-weighted line through the median excess at each number of links crossed (at least 0),
``per_message`` the median over files of each file's mean of (excess - per_hop * links), so a
file's usual tail counts but one disturbed run does not. Fit it on measurements of one
network (one compute mode and transport), then predict *other* configurations with the
topology it writes (``Overheads``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.fidelity._calibrate import _Observations
from splitexit.fidelity._case import FidelityCase
from splitexit.topology import Overheads, Topology

__all__ = ["MessageExcess", "OverheadFit", "fit_overheads", "message_excess"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@returned_type
@dataclass(frozen=True, eq=False)
class MessageExcess:
    """One measurement's messages (delivered samples only): arrays (messages,).

    ``kind`` is 0 for an input, 1 for a forward, 2 for a result; ``time_s`` the message's
    measured time, ``charged_s`` what the paper's model charges for it (PL + bits * IB).
    """

    kind: IntArray
    hops: IntArray
    bits: FloatArray
    time_s: FloatArray
    charged_s: FloatArray

    @property
    def excess_s(self) -> FloatArray:
        return np.asarray(self.time_s - self.charged_s, dtype=np.float64)


@validate_params({"case": [InstanceOf(FidelityCase)]})
def message_excess(case: FidelityCase) -> MessageExcess:
    """Every message of ``case`` with its measured time and the model's charge."""
    m = case.measurement
    topo = case.topology
    pl, ib = topo.path_latency, topo.path_inverse_bandwidth
    tiers = np.array(case.deployment.placement)
    src, dst = topo.source, topo.destination
    sample, part = m.hop_sample, m.hop_partition
    keep = m.delivered[sample]
    sample, part = sample[keep], part[keep]
    arrive, busy = m.arrive_s[keep], m.busy_s[keep]
    last = part == m.exit[sample]
    following = np.append(arrive[1:], 0.0)  # hops are stored in order within a sample
    ends = np.where(last, m.latency_s[sample], following) - (arrive + busy)
    forward_bits = np.array([float(p.activation_bits or 0.0) for p in m.partitions])
    result_bits = np.array([p.result_bits for p in m.partitions])
    here = tiers[part]
    there = np.where(last, dst, tiers[np.minimum(part + 1, len(tiers) - 1)])
    bits = np.where(last, result_bits[part], forward_bits[part])
    first = part == 0
    in_tier = np.full(int(first.sum()), tiers[0])
    kind = np.concatenate([np.zeros(int(first.sum()), dtype=np.int64), np.where(last, 2, 1)])
    return MessageExcess(
        kind=kind,
        hops=np.concatenate([np.abs(in_tier - src), np.abs(there - here)]).astype(np.int64),
        bits=np.concatenate([np.full(len(in_tier), m.input_bits), bits]),
        time_s=np.concatenate([arrive[first], ends]),
        charged_s=np.concatenate(
            [
                pl[src, in_tier] + m.input_bits * ib[src, in_tier],
                pl[here, there] + bits * ib[here, there],
            ]
        ),
    )


@returned_type
@dataclass(frozen=True, eq=False)
class OverheadFit:
    """The per-message overheads of one network, and what they were fitted on."""

    per_message_s: float
    per_hop_s: float
    messages: int
    fitted_on: tuple[str, ...]
    setting: tuple[str, str]  # (compute mode, transport) of the fitted files
    network: str  # the testbed's network of the fitted files ("emulated" or "netns")
    median_excess_s: dict[int, float]  # by links crossed, for reading

    @property
    def overheads(self) -> Overheads:
        names = ", ".join(self.fitted_on[:3]) + (" ..." if len(self.fitted_on) > 3 else "")
        note = (
            f"fitted by splitexit fidelity-overheads on {len(self.fitted_on)} measurement(s) "
            f"({self.messages} messages; network {self.network}, transport {self.setting[1]}, "
            f"compute {self.setting[0]}): {names}"
        )
        return Overheads(self.per_message_s, self.per_hop_s, note)

    def topology(self, base: Topology) -> Topology:
        """``base`` with these overheads."""
        return replace(base, overheads=self.overheads)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_message_s": self.per_message_s,
            "per_hop_s": self.per_hop_s,
            "messages": self.messages,
            "fitted_on": list(self.fitted_on),
            "compute_mode": self.setting[0],
            "transport": self.setting[1],
            "network": self.network,
            "median_excess_s_by_links": {str(k): v for k, v in self.median_excess_s.items()},
        }


@validate_params({"cases": [InstanceOf(list, tuple)]})
def fit_overheads(cases: Sequence[FidelityCase]) -> OverheadFit:
    """Fit ``per_message`` and ``per_hop`` on ``cases``, all of one network, compute mode
    and transport (never include a configuration you mean to predict with the result)."""
    usable = [case for case in cases if case.measurement.delivered.any()]
    if not usable:
        raise InputError("fitting overheads needs at least one measurement with delivered samples")
    settings = {(c.measurement.setting, c.measurement.network) for c in usable}
    if len(settings) > 1:
        shown = ", ".join(f"{s[0][0]}/{s[0][1]}/{s[1]}" for s in sorted(settings))
        raise InputError(
            f"the measurements mix networks (compute mode/transport/network: {shown}); "
            "fit the overheads of one network at a time"
        )
    names = [t.name for t in usable[0].topology.tiers]
    for case in usable[1:]:
        if [t.name for t in case.topology.tiers] != names:
            raise InputError(
                f"{case.name}: topology {case.topology.name!r} has other tiers than "
                f"{usable[0].name}'s; fit the overheads of one topology at a time"
            )
    obs = _Observations()
    for file, case in enumerate(usable):
        found = message_excess(case)
        obs.add(file, found.hops.astype(np.float64), found.excess_s)
    per_message, per_hop = obs.fit(floor=0.0)  # crossing a link cannot save time
    hops, excess = np.array(obs.x), np.array(obs.y)
    (setting, network), *_ = settings
    return OverheadFit(
        per_message_s=max(per_message, 0.0),
        per_hop_s=per_hop,
        messages=len(obs.y),
        fitted_on=tuple(case.name for case in usable),
        setting=setting,
        network=network,
        median_excess_s={int(h): float(np.median(excess[hops == h])) for h in np.unique(hops)},
    )
