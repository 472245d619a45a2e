"""Per-sample prediction by trace replay: where each sample leaves, and what its path costs.

The paper's model (seed 000, 2.3) charges the *expected* latency: S_{k-1} R[A_k] t_k of
compute for partition k, E_k times the result transfer from A_k, S_k times the forward
transfer A_k -> A_{k+1}, and the input transfer once. Replaying the per-sample trace gives
each sample's exit e (the first selected exit whose normalized entropy is strictly below its
threshold, the last one taking the rest: ``configuration.exit_partitions``), and its path
cost is

    input(src -> A_1) + sum_{k <= e} R[A_k] t_k + sum_{k < e} forward_k(A_k -> A_{k+1})
    + result(A_e -> D),  every transfer of b bits costing PL + b * IB
    (+ the topology's per-message overhead MO[a, b] when it declares ``overheads``),

so the mean over the whole trace is the trace estimator's latency, and the distribution
(p50, p95, p99) comes for free. t_k is the profile's block and branch times ("paper", the
planner's view) or the partition's ONNX Runtime time measured by its worker ("runtime").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Options,
    returned_type,
    validate_params,
)
from splitexit.configuration import Configuration, exit_partitions
from splitexit.errors import InputError
from splitexit.profile import ACCURACY_SOURCES, AccuracySource, Profile, Trace
from splitexit.topology import Topology

if TYPE_CHECKING:
    from splitexit.fidelity._calibrate import Calibration
    from splitexit.fidelity._measurement import Measurement

__all__ = [
    "COMPUTE_SOURCES",
    "PathCosts",
    "SamplePrediction",
    "links_crossed",
    "path_costs",
    "predict_samples",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ComputeSource = Literal["paper", "runtime"]
COMPUTE_SOURCES: tuple[ComputeSource, ...] = ("paper", "runtime")


@returned_type
@dataclass(frozen=True, eq=False)
class PathCosts:
    """Cost of the path of a sample leaving at partition e, for every e: arrays (L,).

    ``work_s[k]`` = R[A_k] t_k (one partition's compute); the sizes are those the transfers
    carry, kept for the calibrated model's features.
    """

    compute_s: FloatArray
    transmission_s: FloatArray
    propagation_s: FloatArray
    work_s: FloatArray
    input_bits: float
    forward_bits: FloatArray  # (L - 1,)
    result_bits: FloatArray  # (L,)
    input_local: bool = False  # partition 1 runs on the source tier: the input crosses no link
    result_local: npt.NDArray[np.bool_] | None = None  # (L,): exit tier = destination
    message_s: FloatArray | None = None  # (L,) the topology's per-message overheads, or None

    @property
    def overhead_s(self) -> FloatArray:
        """The topology's message overheads of the path of each exit (zeros without)."""
        if self.message_s is None:
            return np.zeros_like(self.compute_s)
        return self.message_s

    @property
    def latency_s(self) -> FloatArray:
        return self.compute_s + self.transmission_s + self.propagation_s + self.overhead_s


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "topology": [InstanceOf(Topology)],
        "deployment": [InstanceOf(Configuration)],
        "compute": [Options(COMPUTE_SOURCES)],
        "measurement": [InstanceOf("splitexit.fidelity._measurement:Measurement"), None],
        "overheads": [InstanceOf(bool)],
    }
)
def path_costs(
    profile: Profile,
    topology: Topology,
    deployment: Configuration,
    *,
    compute: ComputeSource = "paper",
    measurement: Measurement | None = None,
    overheads: bool = True,
) -> PathCosts:
    """Path costs per exit, as the paper's model charges them.

    ``compute="paper"``: R_j times the profile's CK and CB, and the profile's sizes.
    ``"runtime"``: what the emulation charges for compute, R_j times the measurement's
    ``reference_s`` where the workers stretch it (``compute_mode`` sleep or cpu-quota and
    R_j > 1), the bare ``reference_s`` elsewhere, and the sizes the workers sent.
    With ``overheads`` (and a topology that declares them) every message of the path also
    pays ``Topology.message_s``: the input, each forward crossed and the result.
    """
    _check_fits(profile, topology, deployment)
    parts, tiers = deployment.partition, deployment.placement
    count = len(parts)
    ratio = topology.compute_ratios[list(tiers)]
    if compute == "paper":
        first = (0, *(p + 1 for p in parts[:-1]))
        base = np.array(
            [
                float(profile.block_compute_s[a : b + 1].sum() + profile.branch_compute_s[b])
                for a, b in zip(first, parts, strict=True)
            ]
        )
        input_bits = float(profile.input_bits)
        forward = profile.output_bits[list(parts[:-1])].astype(np.float64)
        result = np.full(count, float(profile.result_bits))
    else:  # "runtime" (the options are checked at the entry)
        if measurement is None:
            raise InputError("compute 'runtime' needs the measurement's reference_s")
        base = np.array([p.reference_s for p in measurement.partitions])
        input_bits = measurement.input_bits
        forward = np.array([float(p.activation_bits or 0.0) for p in measurement.partitions[:-1]])
        result = np.array([p.result_bits for p in measurement.partitions])
        stretched = measurement.compute_mode in ("sleep", "cpu-quota")  # both slow R_j x t
        ratio = np.maximum(ratio, 1.0) if stretched else np.ones(count)
    pl, ib = topology.path_latency, topology.path_inverse_bandwidth
    src, dst, here = topology.source, topology.destination, np.array(tiers)
    work = ratio * base
    hop_trans = forward * ib[here[:-1], here[1:]]
    hop_prop = pl[here[:-1], here[1:]]
    before = (
        np.concatenate([[0.0], np.cumsum(hop_trans)]),
        np.concatenate([[0.0], np.cumsum(hop_prop)]),
    )
    message = None
    if overheads and not topology.overheads.is_zero:
        mo = topology.path_message
        forwards = np.concatenate([[0.0], np.cumsum(mo[here[:-1], here[1:]])])
        message = mo[src, here[0]] + forwards + mo[here, dst]
    return PathCosts(
        compute_s=np.cumsum(work),
        transmission_s=input_bits * ib[src, here[0]] + before[0] + result * ib[here, dst],
        propagation_s=pl[src, here[0]] + before[1] + pl[here, dst],
        work_s=work,
        input_bits=input_bits,
        forward_bits=forward,
        result_bits=result,
        input_local=bool(here[0] == src),
        result_local=here == dst,
        message_s=message,
    )


def _check_fits(profile: Profile, topology: Topology, config: Configuration) -> None:
    """The configuration's blocks and tiers exist in ``profile`` and ``topology``."""
    if max(config.partition) >= profile.num_blocks:
        raise InputError(
            f"deployment: partition {[p + 1 for p in config.partition]} goes beyond the "
            f"{profile.num_blocks} blocks of profile {profile.model!r}"
        )
    if max(config.placement) >= topology.num_tiers:
        raise InputError(
            f"deployment: placement {list(config.placement)} names a tier beyond the "
            f"{topology.num_tiers} tiers of topology {topology.name!r} (0-based)"
        )


@returned_type
@dataclass(frozen=True, eq=False)
class SamplePrediction:
    """Predicted exit, correctness and latency of every trace row (S,).

    ``jitter_s`` holds quantiles of the calibrated model's residuals (learnt on other
    configurations), or for the uncalibrated models the topology's ``overheads.jitter_s``
    (centred; ``[0.0]`` without), and ``jitter_per_link_s`` (as many, or ``[0.0]``) what
    each link crossed adds (``fidelity._spread``); a predicted latency distribution is the
    mixture of ``latency_s[s] + jitter_s[i] + links[s] * jitter_per_link_s[i]`` over i.
    """

    exit: IntArray
    correct: npt.NDArray[np.bool_]
    compute_s: FloatArray
    transmission_s: FloatArray
    propagation_s: FloatArray
    overhead_s: FloatArray
    jitter_s: FloatArray
    num_partitions: int
    links: IntArray | None = None  # (S,): links crossed by each row's path (None: all 0)
    jitter_per_link_s: FloatArray | None = None  # None: no spread per link

    def spread_s(self, rows: IntArray | None = None) -> FloatArray:
        """(rows, levels): how each row's latency varies around ``latency_s``."""
        count = len(self.exit) if rows is None else len(rows)
        spread = np.broadcast_to(self.jitter_s, (count, len(self.jitter_s)))
        if self.jitter_per_link_s is None or self.links is None:
            return np.asarray(spread, np.float64)
        links = self.links if rows is None else self.links[rows]
        return np.asarray(spread + links[:, None] * self.jitter_per_link_s[None, :], np.float64)

    @property
    def latency_s(self) -> FloatArray:
        return self.compute_s + self.transmission_s + self.propagation_s + self.overhead_s

    def exit_rates(self, rows: IntArray | None = None) -> FloatArray:
        """E_k, the fraction of rows (all, or ``rows``) leaving at each partition."""
        leave = self.exit if rows is None else self.exit[rows]
        counts = np.bincount(leave, minlength=self.num_partitions).astype(np.float64)
        return counts / max(len(leave), 1)

    def accuracy(self, rows: IntArray | None = None) -> float:
        return float(np.mean(self.correct if rows is None else self.correct[rows]))

    def distribution(self, rows: IntArray | None = None) -> FloatArray:
        """Latencies of the predicted distribution (with the jitter mixture, if any)."""
        base = self.latency_s if rows is None else self.latency_s[rows]
        return np.asarray((base[:, None] + self.spread_s(rows)).ravel(), dtype=np.float64)


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "trace": [InstanceOf(Trace)],
        "topology": [InstanceOf(Topology)],
        "deployment": [InstanceOf(Configuration)],
        "compute": [Options(COMPUTE_SOURCES)],
        "measurement": [InstanceOf("splitexit.fidelity._measurement:Measurement"), None],
        "calibration": [InstanceOf("splitexit.fidelity._calibrate:Calibration"), None],
        "trace_source": [Options(ACCURACY_SOURCES)],
    }
)
def predict_samples(
    profile: Profile,
    trace: Trace,
    topology: Topology,
    deployment: Configuration,
    *,
    compute: ComputeSource = "paper",
    measurement: Measurement | None = None,
    calibration: Calibration | None = None,
    trace_source: AccuracySource = "joint",
) -> SamplePrediction:
    """Replay ``trace`` (its ``"joint"`` model, the one the runtime deploys, or the
    ``"separate"`` models) through ``deployment`` and charge each row its path cost.

    >>> from splitexit.configuration import Configuration
    >>> from splitexit.profile import load_profile, load_profile_trace, profile_path
    >>> from splitexit.topology import load_topology
    >>> profile = load_profile("resnet20-fashion-mnist")
    >>> trace = load_profile_trace(profile, profile_path("resnet20-fashion-mnist"))
    >>> plan = Configuration(partition=(2, 9), placement=(1, 2), thresholds=(0.5,))
    >>> pred = predict_samples(profile, trace, load_topology("mobile"), plan)
    >>> pred.exit_rates().round(2).tolist()
    [0.94, 0.06]
    """
    entropy, correct = trace.arrays(trace_source)
    if entropy.shape[1] != profile.num_blocks:
        raise InputError(
            f"trace has {entropy.shape[1]} branches, profile {profile.model!r} has "
            f"{profile.num_blocks} blocks"
        )
    # the calibrated model's fitted message costs replace the topology's overheads
    costs = path_costs(
        profile,
        topology,
        deployment,
        compute=compute,
        measurement=measurement,
        overheads=calibration is None,
    )
    chosen = entropy[:, list(deployment.partition)]
    leave = exit_partitions(chosen, deployment.exit_thresholds)
    last_block = np.array(deployment.partition)[leave]
    overhead = costs.overhead_s
    jitter = np.zeros(1)
    per_link: FloatArray | None = None
    if calibration is None and topology.overheads.jitter_s:  # centred: the mean is kept
        jitter = np.array(topology.overheads.jitter_s, dtype=np.float64)
        if topology.overheads.jitter_per_link_s:
            per_link = np.array(topology.overheads.jitter_per_link_s, dtype=np.float64)
    if calibration is not None:
        cycle = calibration.solve_cycle(costs, leave)  # its messages' pause (one client)
        overhead = calibration.overhead_s(costs, cycle)
        jitter = calibration.jitter_s
        per_link = calibration.jitter_per_link_s
    return SamplePrediction(
        exit=leave,
        correct=np.asarray(correct[np.arange(len(leave)), last_block], dtype=bool),
        compute_s=costs.compute_s[leave],
        transmission_s=costs.transmission_s[leave],
        propagation_s=costs.propagation_s[leave],
        overhead_s=overhead[leave],
        jitter_s=jitter,
        num_partitions=len(deployment.partition),
        links=links_crossed(topology, deployment)[leave],
        jitter_per_link_s=per_link,
    )


@validate_params({"topology": [InstanceOf(Topology)], "deployment": [InstanceOf(Configuration)]})
def links_crossed(topology: Topology, deployment: Configuration) -> IntArray:
    """(L,): the links a sample leaving at each partition crosses, summed over its messages
    (the input, the forwards, the result).

    >>> from splitexit.topology import load_topology
    >>> plan = Configuration(partition=(2, 9), placement=(1, 2), thresholds=(0.5,))
    >>> links_crossed(load_topology("mobile"), plan).tolist()
    [2, 4]
    """
    tiers = np.array(deployment.placement, dtype=np.int64)
    forwards = np.concatenate([[0], np.cumsum(np.abs(np.diff(tiers)))])
    into = abs(int(tiers[0]) - topology.source)
    return np.asarray(into + forwards + np.abs(tiers - topology.destination), np.int64)
