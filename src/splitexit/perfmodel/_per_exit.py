"""Per-exit thresholds: a threshold T_k for every selected exit k < L, replayed exactly.

With one global T the planner searches |T| thresholds per partitioning; with a threshold per
exit it searches |T|^(L-1) threshold vectors, coded in base |T| with exit 1 as the most
significant digit. A sample leaves at the first selected exit k < L whose normalized entropy
is below T_k, else at the last one.

Fast path (exact, no loop per sample or per vector): a sample's entropy at a branch is
reduced to its level, the number of thresholds <= it (so it is below T_t iff level <= t).
For one partitioning, the samples form a histogram over the levels at exits 1..L-1, a grid
of (|T| + 1)^(L-1) cells. The fraction leaving at exit k under the vector tau is the mass with
level_j > tau_j for j < k and level_k <= tau_k: suffix sums along the earlier axes, a prefix
sum along axis k, read at tau. Weighting the same histogram by correctness at exit k gives
the accuracy. Cost per partitioning: O(S + L * (|T| + 1)^(L-1)) for S samples, then one
gather per threshold vector.
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
from splitexit.configuration import leaves_here

__all__ = ["PerExitTable", "decode_thresholds", "reference_per_exit_estimate"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer]
_CELLS = 1 << 22  # partitionings x cells (or x samples) handled at once


@validate_params(
    {
        "codes": [InstanceOf(np.ndarray)],
        "num_exits": [Interval(int, 0, None)],
        "num_thresholds": [Interval(int, 1, None)],
    }
)
def decode_thresholds(codes: IntArray, num_exits: int, num_thresholds: int) -> IntArray:
    """Threshold indices (Q, num_exits) of vector codes (Q,); exit 1 is the leading digit."""
    digits = np.empty((len(codes), num_exits), dtype=np.int64)
    rest = np.asarray(codes, dtype=np.int64).copy()
    for j in range(num_exits - 1, -1, -1):
        digits[:, j] = rest % num_thresholds
        rest //= num_thresholds
    return digits


@returned_type
@dataclass(frozen=True, eq=False)
class PerExitTable:
    """A trace reduced to threshold levels; evaluates threshold vectors exactly."""

    levels: npt.NDArray[np.int64]  # (S, N) number of thresholds <= entropy
    correct: npt.NDArray[np.bool_]  # (S, N)
    num_thresholds: int

    @classmethod
    def build(
        cls,
        entropy: npt.NDArray[np.floating],
        correct: npt.NDArray[np.bool_],
        thresholds: npt.NDArray[np.floating],
    ) -> PerExitTable:
        # the exit rule (configuration.leaves_here) as levels: entropy < T_t iff level <= t
        levels = np.searchsorted(np.asarray(thresholds, dtype=np.float64), entropy, side="right")
        return cls(levels.astype(np.int64), np.asarray(correct, dtype=bool), len(thresholds))

    def evaluate(self, partitions: IntArray, codes: IntArray) -> tuple[FloatArray, FloatArray]:
        """Exit rates E (C, Q, L) and accuracy (C, Q) of partitionings (C, L) under the
        threshold vectors ``codes`` (Q,) (ignored when L = 1)."""
        parts = np.asarray(partitions, dtype=np.int64)
        c, num_parts = parts.shape
        samples = self.levels.shape[0]
        if num_parts == 1:
            accuracy = self.correct[:, parts[:, 0]].mean(axis=0)  # (C,)
            return np.ones((c, len(codes), 1)), np.repeat(accuracy[:, None], len(codes), axis=1)
        exits_n = num_parts - 1
        side = self.num_thresholds + 1
        tau = decode_thresholds(codes, exits_n, self.num_thresholds)  # (Q, L-1)
        exits = np.empty((c, len(codes), num_parts))
        right = np.zeros((c, len(codes)))
        cells = side**exits_n
        step = max(1, _CELLS // max(cells * (num_parts + 1), samples))
        for lo in range(0, c, step):
            block = parts[lo : lo + step]
            width = len(block)
            # flat cell of every (sample, partitioning): levels at exits 1..L-1 in base side
            cell = np.zeros((samples, width), dtype=np.int64)
            for j in range(exits_n):
                cell = cell * side + self.levels[:, block[:, j]]
            flat = (cell + np.arange(width) * cells).ravel()
            shape = (width, *([side] * exits_n))
            mass = np.bincount(flat, minlength=width * cells).reshape(shape).astype(np.float64)
            for k in range(num_parts):
                hits = self.correct[:, block[:, k]].ravel().astype(np.float64)
                good = np.asarray(
                    np.bincount(flat, hits, minlength=width * cells), dtype=np.float64
                ).reshape(shape)
                exits[lo : lo + step, :, k] = _region(mass, k, tau)
                right[lo : lo + step] += _region(good, k, tau)
        return exits / samples, right / samples


def _region(hist: FloatArray, k: int, tau: IntArray) -> FloatArray:
    """Mass with level_j > tau_j (j < k) and level_k <= tau_k (k < L-1), for every vector.

    ``hist`` is (C', side, ..., side) over exits 1..L-1; k = L-1 means "never below"."""
    exits_n = hist.ndim - 1
    grid = hist.sum(axis=tuple(range(k + 2, exits_n + 1))) if k + 1 < exits_n else hist
    for j in range(min(k, exits_n)):  # suffix sums: level_j > tau_j is read at tau_j + 1
        axis = j + 1
        grid = np.flip(np.cumsum(np.flip(grid, axis), axis=axis), axis)
    index: list[IntArray | slice] = [slice(None)]
    index += [tau[:, j] + 1 for j in range(min(k, exits_n))]
    if k < exits_n:
        grid = np.cumsum(grid, axis=k + 1)  # prefix sum: level_k <= tau_k
        index.append(tau[:, k])
    # levels range over 0..|T|, so tau_j + 1 <= |T| is always a valid index
    return np.asarray(grid[tuple(index)], dtype=np.float64)


@validate_params(
    {
        "entropy": [InstanceOf(np.ndarray)],
        "correct": [InstanceOf(np.ndarray)],
        "thresholds": [InstanceOf(list, tuple)],
        "partition": [InstanceOf(list, tuple)],
    }
)
def reference_per_exit_estimate(
    entropy: npt.NDArray[np.floating],
    correct: npt.NDArray[np.bool_],
    thresholds: tuple[float, ...],
    partition: tuple[int, ...],
) -> tuple[tuple[float, ...], float]:
    """(E_k, accuracy) of one partitioning under per-exit ``thresholds`` (L-1 values), one
    sample at a time: the test oracle."""
    leaving = [0] * len(partition)
    right = 0
    for s in range(entropy.shape[0]):
        for k, branch in enumerate(partition):
            last = k == len(partition) - 1
            if leaves_here(float(entropy[s, branch]), None if last else thresholds[k]):
                leaving[k] += 1
                right += int(bool(correct[s, branch]))
                break
    samples = entropy.shape[0]
    return tuple(count / samples for count in leaving), right / samples
