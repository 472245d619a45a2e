"""The trace estimator: exit rates and accuracy of (T, P) by replaying the cascade exactly.

The paper's estimator (``_vectorized.partition_terms``) sums the full configuration's exit
rates alpha_i(T) over each partition and weights acc_{P_k} (measured over all samples) by
them. Replaying a per-sample trace instead (``splitexit.profile.Trace``): a sample leaves at
the first *selected* branch P_k (k < L) whose normalized entropy is below T, else at P_L;
E_k is the fraction leaving at P_k, and the accuracy counts the samples correct at the branch
they actually leave at. This keeps every dependence between branches that the trace holds.

Fast path: for each threshold, a sample reduces to the pattern of branches where it is below
T. Samples with the same pattern behave the same under every partitioning, so they merge into
one row with a count and, per branch, a count of correct ones (patterns are found on the
patterns packed into 64-bit words). Partitionings share prefixes (P_1, ..., P_k), and who is
still waiting after a prefix does not depend on what follows, so each distinct prefix is
replayed once: a 0/1 matrix (prefixes x patterns) of samples still waiting, times the
per-branch counts (patterns x N), gives at once how many leave, and how many are right, at
every possible next branch. The cost per threshold is about sum_k prefixes_k x patterns x N
multiply-adds in BLAS, with patterns far below the number of samples when entropies are
correlated across depth, as they are in real networks.
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
from splitexit.configuration import below_threshold, leaves_here
from splitexit.profile import Trace

__all__ = ["CascadeTable", "reference_trace_estimate"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer]
_WORD = 64
_CHUNK_CELLS = 1 << 22  # partitionings x rows evaluated at once (bounds the temporaries)


def _pack(below: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
    """(S, N) booleans -> (S, ceil(N / 64)) words; bit i % 64 of word i // 64 is branch i."""
    samples, n = below.shape
    words = np.zeros((samples, -(-n // _WORD)), dtype=np.uint64)
    for w in range(words.shape[1]):
        part = below[:, w * _WORD : (w + 1) * _WORD].astype(np.uint64)
        shifts = np.arange(part.shape[1], dtype=np.uint64)
        words[:, w] = np.bitwise_or.reduce(part << shifts, axis=1)
    return words


@returned_type
@dataclass(frozen=True, eq=False)
class CascadeTable:
    """A trace reduced, per threshold, to distinct below-threshold patterns (build once).

    Rows are sorted by threshold: rows ``starts[t]:starts[t + 1]`` belong to threshold t.
    """

    num_samples: int
    num_blocks: int
    below: npt.NDArray[np.bool_]  # (rows, N) branches where entropy < T
    count: FloatArray  # (rows,) samples with this pattern
    correct: FloatArray  # (rows, N) of those, correct at each branch
    starts: npt.NDArray[np.intp]  # (|T| + 1,)

    @classmethod
    def build(
        cls,
        entropy: npt.NDArray[np.floating],
        correct: npt.NDArray[np.bool_],
        thresholds: npt.NDArray[np.floating],
    ) -> CascadeTable:
        """From per-sample normalized entropy (S, N) and correctness (S, N).

        >>> table = CascadeTable.build(
        ...     np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([[1, 1], [0, 1]], bool),
        ...     np.array([0.5]))
        >>> exits, accuracy = table.evaluate(np.array([[0, 1]]), np.array([0]))
        >>> exits.tolist(), accuracy.tolist()
        ([[[0.5, 0.5]]], [[1.0]])
        """
        values = np.asarray(entropy, dtype=np.float64)
        hits = np.asarray(correct, dtype=np.float64)
        belows, counts, corrects, starts = [], [], [], [0]
        for threshold in np.asarray(thresholds, dtype=np.float64):
            below = below_threshold(values, threshold)
            _, first, inverse, count = np.unique(
                _pack(below), axis=0, return_index=True, return_inverse=True, return_counts=True
            )
            inverse = inverse.reshape(-1)
            right = np.stack(
                [np.bincount(inverse, hits[:, i], len(first)) for i in range(values.shape[1])],
                axis=1,
            )
            belows.append(below[first])
            counts.append(count.astype(np.float64))
            corrects.append(right)
            starts.append(starts[-1] + len(first))
        return cls(
            num_samples=int(values.shape[0]),
            num_blocks=int(values.shape[1]),
            below=np.concatenate(belows),
            count=np.concatenate(counts),
            correct=np.concatenate(corrects),
            starts=np.array(starts, dtype=np.intp),
        )

    @classmethod
    def from_trace(
        cls, trace: Trace, thresholds: npt.NDArray[np.floating], *, source: str = "joint"
    ) -> CascadeTable:
        """From a trace's ``"joint"`` model or its ``"separate"`` models."""
        entropy, correct = trace.arrays(source)
        return cls.build(entropy, correct, thresholds)

    @property
    def num_rows(self) -> int:
        return int(self.count.shape[0])

    def evaluate(self, partitions: IntArray, t_idx: IntArray) -> tuple[FloatArray, FloatArray]:
        """Exit rates E (C, T', L) and accuracy (C, T') of partitionings (C, L) x thresholds.

        ``partitions[c, k]`` is P_{k+1} - 1 (0-based last block of partition k);
        ``t_idx`` indexes the thresholds the table was built with.
        """
        parts = np.asarray(partitions, dtype=np.intp)
        chosen = np.asarray(t_idx, dtype=np.intp)
        c, num_parts = parts.shape
        exits = np.empty((c, len(chosen), num_parts))
        right = np.zeros((c, len(chosen)))
        widest = int(np.diff(self.starts)[chosen].max(initial=1))
        step = max(1, _CHUNK_CELLS // widest)
        for lo in range(0, c, step):
            block = parts[lo : lo + step]
            levels = _prefix_levels(block, self.num_blocks)
            for j, t in enumerate(chosen):
                e, r = self._replay(block, levels, slice(self.starts[t], self.starts[t + 1]))
                exits[lo : lo + step, j] = e
                right[lo : lo + step, j] = r
        return exits / self.num_samples, right / self.num_samples

    def _replay(
        self, block: IntArray, levels: list[_Level], rows: slice
    ) -> tuple[FloatArray, FloatArray]:
        """Counts leaving at each selected branch, and correct ones, for one threshold.

        ``waiting[q, u]`` is 1 where samples of pattern u have not left along prefix q
        (P_1, ..., P_k); one matrix product then gives, for every prefix, how many samples
        would leave (and be right) at each possible next branch.
        """
        below, count, correct = self.below[rows], self.count[rows], self.correct[rows]
        leave = below * count[:, None]  # (patterns, N) samples below T at each branch
        leave_right = below * correct  # of those, correct there
        num_parts = block.shape[1]
        exits = np.empty((block.shape[0], num_parts))
        right = np.zeros(block.shape[0])
        waiting = np.ones((1, len(count)))
        prefix = np.zeros(block.shape[0], dtype=np.intp)
        for k in range(num_parts - 1):
            branch = block[:, k]
            exits[:, k] = (waiting @ leave)[prefix, branch]
            right += (waiting @ leave_right)[prefix, branch]
            level = levels[k]
            waiting = waiting[level.parent] * ~below[:, level.branch].T
            prefix = level.index
        exits[:, -1] = (waiting @ count)[prefix]
        right += (waiting @ correct)[prefix, block[:, -1]]
        return exits, right


@dataclass(frozen=True)
class _Level:
    """Distinct prefixes (P_1, ..., P_{k+1}) of a block of partitionings."""

    parent: npt.NDArray[np.intp]  # (prefixes,) index of (P_1, ..., P_k) in the level before
    branch: npt.NDArray[np.intp]  # (prefixes,) P_{k+1} - 1
    index: npt.NDArray[np.intp]  # (C,) each partitioning's prefix at this level


def _prefix_levels(block: IntArray, num_blocks: int) -> list[_Level]:
    levels = []
    index = np.zeros(block.shape[0], dtype=np.intp)
    for k in range(block.shape[1] - 1):
        keys, index = np.unique(index * num_blocks + block[:, k], return_inverse=True)
        parent, branch = np.divmod(keys, num_blocks)
        levels.append(_Level(parent=parent, branch=branch, index=index.reshape(-1)))
        index = index.reshape(-1)
    return levels


@validate_params(
    {
        "entropy": [InstanceOf(np.ndarray)],
        "correct": [InstanceOf(np.ndarray)],
        "threshold": [Interval(float, 0, 1, closed="right")],
        "partition": [InstanceOf(list, tuple)],
    }
)
def reference_trace_estimate(
    entropy: npt.NDArray[np.floating],
    correct: npt.NDArray[np.bool_],
    threshold: float,
    partition: tuple[int, ...],
) -> tuple[tuple[float, ...], float]:
    """(E_k per partition, accuracy) of one (T, P), one sample at a time: the test oracle."""
    samples = entropy.shape[0]
    leaving = [0] * len(partition)
    right = 0
    for s in range(samples):
        for k, branch in enumerate(partition):
            last = k == len(partition) - 1
            if leaves_here(float(entropy[s, branch]), None if last else threshold):
                leaving[k] += 1
                right += int(bool(correct[s, branch]))
                break
    return tuple(n / samples for n in leaving), right / samples
