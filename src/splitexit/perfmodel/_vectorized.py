"""The performance model of seed 000 (section 2.3), vectorized over configurations.

For a fixed number of partitions L the expected latency of (T, P, A) is a dot product

    Lat(T, P, A) = sum_f F_f(T, P) * G_f(A)

between features F of the thresholds and partitionings and coefficients G of the placements.
So a block of partitionings times all placements is one matrix product, and nothing is
written twice: single configurations go through the same two functions.

Features (4L - 1 columns), with S_0 = 1 and the last partition summing exit rates through N:
  1                          -> input transfer source -> A_1: O_0 * IB + PL
  W_k = S_{k-1} * (sum CK over partition k + CB[P_k])   -> R[A_k]
  E_k                        -> result transfer A_k -> D: result_bits * IB + PL
  S_k            (k < L)     -> propagation A_k -> A_{k+1}: PL
  S_k * O[P_k]   (k < L)     -> transmission A_k -> A_{k+1}: IB

The topology's per-message overheads (``Topology.overheads``, 0 in the paper's model) are one
more coefficient of the features that count messages: MO[src, A_1] on the input's 1, MO[A_k, D]
on E_k (the result) and MO[A_k, A_{k+1}] on S_k (the forward); component ``"overhead"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Options,
    returned_type,
    validate_params,
)
from splitexit.configuration import Configuration
from splitexit.perfmodel._types import Estimate, ModelInputs

__all__ = [
    "Component",
    "PartitionTerms",
    "coefficients",
    "estimate",
    "paper_exits",
    "partition_terms",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer]
Component = Literal["total", "compute", "transmission", "propagation", "overhead"]
COMPONENTS: tuple[Component, ...] = (
    "total",
    "compute",
    "transmission",
    "propagation",
    "overhead",
)


@returned_type
@dataclass(frozen=True, eq=False)
class PartitionTerms:
    """Everything about (T, P) that does not depend on the placement.

    Rows are partitioning-major: row ``c * len(t_idx) + t`` is partitioning ``c`` with
    threshold ``t_idx[t]``.
    """

    features: FloatArray  # (rows, 4L - 1)
    accuracy: FloatArray  # (rows,) estimated accuracy sum_k acc[P_k] E_k
    exit_rates: FloatArray  # (rows, L) E_k


@validate_params(
    {
        "inputs": [InstanceOf(ModelInputs)],
        "partitions": [InstanceOf(np.ndarray)],
        "t_idx": [InstanceOf(np.ndarray)],
    }
)
def paper_exits(
    inputs: ModelInputs, partitions: IntArray, t_idx: IntArray
) -> tuple[FloatArray, FloatArray]:
    """The paper's estimator: E_k sums alpha_i(T) over partition k (the last one through N),
    and the accuracy weights acc_{P_k} by E_k. Returns E (C, T', L) and accuracy (C, T')."""
    c, num_parts = partitions.shape
    # cum[..., k] = alpha_1 + ... + alpha_{P_k} for k < L; 0 before the first, 1 after the last.
    cum = np.empty((c, len(t_idx), num_parts + 1))
    cum[..., 0] = 0.0
    cum[..., num_parts] = 1.0
    if num_parts > 1:
        table = inputs.exit_cum[t_idx]  # (T', N+1)
        cum[..., 1:num_parts] = table[:, partitions[:, :-1] + 1].transpose(1, 0, 2)
    exits = np.diff(cum, axis=-1)
    return exits, np.einsum("ctk,ck->ct", exits, inputs.accuracy[partitions])


@validate_params(
    {
        "inputs": [InstanceOf(ModelInputs)],
        "partitions": [InstanceOf(np.ndarray)],
        "t_idx": [InstanceOf(np.ndarray)],
    }
)
def partition_terms(inputs: ModelInputs, partitions: IntArray, t_idx: IntArray) -> PartitionTerms:
    """Features, accuracy and exit rates of partitionings (C, L) under thresholds ``t_idx``.

    Exit rates and accuracy come from ``inputs.exit_model`` when one is set (e.g. the trace
    estimator), else from the paper's estimator.
    """
    c, num_parts = partitions.shape
    nt = len(t_idx)
    if inputs.exit_model is None:
        exits, accuracy = paper_exits(inputs, partitions, t_idx)
    else:
        exits, accuracy = inputs.exit_model(partitions, t_idx)
    start = np.empty_like(partitions)
    start[:, 0] = 0
    start[:, 1:] = partitions[:, :-1] + 1
    work = (
        inputs.compute_cum[partitions + 1]
        - inputs.compute_cum[start]
        + inputs.branch_compute[partitions]
    )  # (C, L) reference seconds per partition
    stay_after = 1.0 - np.cumsum(exits[..., :-1], axis=-1)  # S_k for k < L (S_L = 0)
    # Exit rates are fractions of finitely many samples: a stay rate this small is a zero
    # that floating point missed, and making it exact keeps structural ties exact.
    stay_after[np.abs(stay_after) < 1e-12] = 0.0
    stay_before = np.ones((c, nt, num_parts))  # S_{k-1}, S_0 = 1
    stay_before[..., 1:] = stay_after

    features = np.empty((c, nt, 4 * num_parts - 1))
    features[..., 0] = 1.0
    np.multiply(stay_before, work[:, None, :], out=features[..., 1 : num_parts + 1])
    features[..., num_parts + 1 : 2 * num_parts + 1] = exits
    features[..., 2 * num_parts + 1 : 3 * num_parts] = stay_after
    np.multiply(
        stay_after,
        inputs.output_bits[partitions[:, :-1]][:, None, :],
        out=features[..., 3 * num_parts :],
    )
    rows = c * nt
    return PartitionTerms(
        features=features.reshape(rows, -1),
        accuracy=accuracy.reshape(rows),
        exit_rates=exits.reshape(rows, num_parts),
    )


@validate_params(
    {
        "inputs": [InstanceOf(ModelInputs)],
        "placements": [InstanceOf(np.ndarray)],
        "component": [Options(COMPONENTS)],
    }
)
def coefficients(
    inputs: ModelInputs, placements: IntArray, component: Component = "total"
) -> FloatArray:
    """Coefficients (4L - 1, A) of placements (A, L) for one latency component."""
    num_placements, num_parts = placements.shape
    pl, ib = inputs.path_latency, inputs.path_inv_bandwidth
    src, dst = inputs.source, inputs.destination
    want_compute = component in ("total", "compute")
    want_trans = component in ("total", "transmission")
    want_prop = component in ("total", "propagation")
    want_overhead = component in ("total", "overhead") and inputs.has_overheads
    first, here, nxt = placements[:, 0], placements, placements[:, 1:]
    coef = np.zeros((4 * num_parts - 1, num_placements))
    if want_trans:
        coef[0] += inputs.input_bits * ib[src, first]
        coef[num_parts + 1 : 2 * num_parts + 1] += (inputs.result_bits * ib[here, dst]).T
        coef[3 * num_parts :] += ib[here[:, :-1], nxt].T
    if want_prop:
        coef[0] += pl[src, first]
        coef[num_parts + 1 : 2 * num_parts + 1] += pl[here, dst].T
        coef[2 * num_parts + 1 : 3 * num_parts] += pl[here[:, :-1], nxt].T
    if want_overhead:
        mo = inputs.message_cost
        coef[0] += mo[src, first]
        coef[num_parts + 1 : 2 * num_parts + 1] += mo[here, dst].T
        coef[2 * num_parts + 1 : 3 * num_parts] += mo[here[:, :-1], nxt].T
    if want_compute:
        coef[1 : num_parts + 1] = inputs.compute_ratio[here].T
    return coef


@validate_params(
    {
        "inputs": [InstanceOf(ModelInputs)],
        "config": [InstanceOf(Configuration)],
    }
)
def estimate(inputs: ModelInputs, config: Configuration) -> Estimate:
    """Accuracy, latency breakdown and exit rates of one configuration (its thresholds must
    be among the profile's; a configuration without early exit is not estimated here)."""
    partitions = np.array([config.partition])
    placements = np.array([config.placement])
    t_idx = np.array([inputs.threshold_code(config)])
    terms = partition_terms(inputs, partitions, t_idx)
    parts = [
        float((terms.features @ coefficients(inputs, placements, component))[0, 0])
        for component in ("compute", "transmission", "propagation", "overhead")
    ]
    return Estimate(
        accuracy=float(terms.accuracy[0]),
        compute_s=parts[0],
        transmission_s=parts[1],
        propagation_s=parts[2],
        exit_rates=tuple(float(e) for e in terms.exit_rates[0]),
        overhead_s=parts[3],
    )
