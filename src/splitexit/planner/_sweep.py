"""Enumerate every configuration in blocks and keep, per number of partitions, its frontier.

Accuracy does not depend on the placement, so for each (T, P) only the fastest placement can
be on a frontier: a block of partitionings is evaluated against all placements as one matrix
product, reduced to its per-row minimum, and then to the block's own frontier. The frontier
of a union is the frontier of the blocks' frontiers, so memory stays bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    returned_type,
    validate_params,
)
from splitexit.perfmodel import ModelInputs, coefficients, partition_terms
from splitexit.planner._pareto import ACCURACY_DECIMALS, LATENCY_DECIMALS, frontier_order
from splitexit.planner._space import (
    count_configurations,
    iter_partitions,
    placements,
    thresholds_for,
)

__all__ = ["Candidates", "SampledPoints", "Sweep", "sweep"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Entries of one block's latency matrix (rows x placements); about 32 MB of float64.
_BLOCK_ENTRIES = 1 << 22


@returned_type
@dataclass(frozen=True, eq=False)
class Candidates:
    """Configurations with their (rounded) latency and accuracy, as parallel arrays.

    ``partition`` and ``placement`` are 0-based and padded with -1 to the widest L;
    ``threshold`` is -1 for L = 1. ``order`` is the rank in enumeration order within L.
    """

    latency: FloatArray
    accuracy: FloatArray
    num_parts: IntArray
    order: IntArray
    threshold: IntArray
    partition: IntArray
    placement: IntArray

    def __len__(self) -> int:
        return int(self.latency.shape[0])

    def take(self, index: IntArray) -> Candidates:
        return Candidates(
            latency=self.latency[index],
            accuracy=self.accuracy[index],
            num_parts=self.num_parts[index],
            order=self.order[index],
            threshold=self.threshold[index],
            partition=self.partition[index],
            placement=self.placement[index],
        )

    def frontier(self) -> Candidates:
        """The non-dominated subset; exact ties go to fewer partitions, then enumeration order."""
        return self.take(frontier_order(self.latency, self.accuracy, self.num_parts, self.order))

    @staticmethod
    def empty(width: int) -> Candidates:
        none = np.zeros(0, dtype=np.int64)
        wide = np.zeros((0, width), dtype=np.int64)
        return Candidates(np.zeros(0), np.zeros(0), none, none, none, wide, wide)

    @staticmethod
    def concat(parts: list[Candidates], width: int) -> Candidates:
        if not parts:
            return Candidates.empty(width)

        def pad(array: IntArray) -> IntArray:
            out = np.full((array.shape[0], width), -1, dtype=np.int64)
            out[:, : array.shape[1]] = array
            return out

        return Candidates(
            latency=np.concatenate([p.latency for p in parts]),
            accuracy=np.concatenate([p.accuracy for p in parts]),
            num_parts=np.concatenate([p.num_parts for p in parts]),
            order=np.concatenate([p.order for p in parts]),
            threshold=np.concatenate([p.threshold for p in parts]),
            partition=np.concatenate([pad(p.partition) for p in parts]),
            placement=np.concatenate([pad(p.placement) for p in parts]),
        )


@returned_type
@dataclass(frozen=True, eq=False)
class SampledPoints:
    """A uniform random sample of all evaluated configurations, for plots."""

    latency: FloatArray
    accuracy: FloatArray
    num_parts: IntArray


@returned_type
@dataclass(frozen=True, eq=False)
class Sweep:
    """Result of enumerating the whole space."""

    per_length: dict[int, Candidates]  # L -> frontier of configurations with L partitions
    evaluated: int
    samples: SampledPoints

    def frontier(self) -> Candidates:
        width = max(self.per_length)
        return Candidates.concat(list(self.per_length.values()), width).frontier()


@validate_params(
    {
        "inputs": [InstanceOf(ModelInputs)],
        "sample_size": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def sweep(inputs: ModelInputs, *, sample_size: int = 20_000, seed: int = 0) -> Sweep:
    """Evaluate every configuration and keep the per-L frontiers and a random sample."""
    n, m, nt = inputs.num_blocks, inputs.num_tiers, inputs.num_thresholds
    per_exit = inputs.per_exit_thresholds
    total = count_configurations(n, m, nt, per_exit=per_exit)
    rng = np.random.default_rng(seed)
    keep_probability = min(1.0, sample_size / total)
    samples: list[tuple[FloatArray, FloatArray, int]] = []
    per_length: dict[int, Candidates] = {}
    for num_parts in range(1, min(n, m) + 1):
        tiers = placements(m, num_parts)
        coef = coefficients(inputs, tiers)
        t_idx = thresholds_for(num_parts, nt, per_exit=per_exit)
        rows_per_block = max(1, _BLOCK_ENTRIES // (len(t_idx) * len(tiers)))
        found: list[Candidates] = []
        first_rank = 0
        for parts in iter_partitions(n, num_parts, rows_per_block):
            terms = partition_terms(inputs, parts, t_idx)
            latency = terms.features @ coef  # (rows, placements)
            accuracy = np.round(terms.accuracy, ACCURACY_DECIMALS)
            if keep_probability < 1.0:
                picks = rng.integers(
                    latency.size, size=rng.binomial(latency.size, keep_probability)
                )
                samples.append((latency.flat[picks], accuracy[picks // len(tiers)], num_parts))
            else:
                samples.append((latency.ravel().copy(), np.repeat(accuracy, len(tiers)), num_parts))
            np.round(latency, LATENCY_DECIMALS, out=latency)
            best = latency.argmin(axis=1)
            rows = np.arange(latency.shape[0])
            best_latency = latency[rows, best]
            order = (first_rank * len(t_idx) + rows) * len(tiers) + best
            keep = frontier_order(best_latency, accuracy, order)
            found.append(
                Candidates(
                    latency=best_latency[keep],
                    accuracy=accuracy[keep],
                    num_parts=np.full(keep.size, num_parts, dtype=np.int64),
                    order=order[keep],
                    threshold=(
                        np.full(keep.size, -1, dtype=np.int64)
                        if num_parts == 1
                        else t_idx[keep % len(t_idx)]
                    ),
                    partition=parts[keep // len(t_idx)],
                    placement=tiers[best[keep]],
                )
            )
            first_rank += parts.shape[0]
        per_length[num_parts] = Candidates.concat(found, num_parts).frontier()
    return Sweep(per_length=per_length, evaluated=total, samples=_gather(samples))


def _gather(samples: list[tuple[FloatArray, FloatArray, int]]) -> SampledPoints:
    return SampledPoints(
        latency=np.concatenate([s[0] for s in samples]),
        accuracy=np.concatenate([s[1] for s in samples]),
        num_parts=np.concatenate([np.full(s[0].size, s[2], dtype=np.int64) for s in samples]),
    )
