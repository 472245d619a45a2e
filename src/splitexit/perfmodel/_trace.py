"""The trace estimator: exit rates and accuracy of (T, P) by replaying the cascade exactly.

The paper's estimator (``_vectorized.partition_terms``) sums the full configuration's exit
rates alpha_i(T) over each partition and weights acc_{P_k} (measured over all samples) by
them. Replaying a per-sample trace instead (``splitexit.profile.Trace``): a sample leaves at
the first *selected* branch P_k (k < L) whose normalized entropy is below T, else at P_L;
E_k is the fraction leaving at P_k, and the accuracy counts the samples correct at the branch
they actually leave at. This keeps every dependence between branches that the trace holds.

Fast path: for each threshold, a sample is reduced to the bit pattern of the branches where
it is below T (packed into 64-bit words). Samples with the same pattern behave the same under
every partitioning, so they are merged into one row with a count and, per branch, a count of
correct ones. Evaluating C partitionings is then L boolean steps over (C, rows) and a matrix
product with the per-threshold row indicator: O(C * rows * L), with rows << samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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


@dataclass(frozen=True, eq=False)
class CascadeTable:
    """A trace reduced, per threshold, to distinct below-threshold patterns (build once).

    Rows are sorted by threshold: rows ``starts[t]:starts[t + 1]`` belong to threshold t.
    """

    num_samples: int
    num_blocks: int
    masks: npt.NDArray[np.uint64]  # (rows, words) branches where entropy < T
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
        masks, counts, corrects, starts = [], [], [], [0]
        for threshold in np.asarray(thresholds, dtype=np.float64):
            packed = _pack(values < threshold)
            unique, inverse, count = np.unique(
                packed, axis=0, return_inverse=True, return_counts=True
            )
            inverse = inverse.reshape(-1)
            right = np.stack(
                [np.bincount(inverse, hits[:, i], len(unique)) for i in range(values.shape[1])],
                axis=1,
            )
            masks.append(unique)
            counts.append(count.astype(np.float64))
            corrects.append(right)
            starts.append(starts[-1] + len(unique))
        return cls(
            num_samples=int(values.shape[0]),
            num_blocks=int(values.shape[1]),
            masks=np.concatenate(masks),
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
        rows = np.concatenate([np.arange(self.starts[t], self.starts[t + 1]) for t in chosen])
        column = np.repeat(np.arange(len(chosen)), self.starts[chosen + 1] - self.starts[chosen])
        indicator = np.zeros((len(rows), len(chosen)))  # (rows', T'): row -> its threshold
        indicator[np.arange(len(rows)), column] = 1.0
        masks, count, correct = self.masks[rows], self.count[rows], self.correct[rows]
        c, num_parts = parts.shape
        exits = np.empty((c, len(chosen), num_parts))
        right = np.zeros((c, len(chosen)))
        step = max(1, _CHUNK_CELLS // max(1, len(rows)))
        for lo in range(0, c, step):
            block = parts[lo : lo + step]
            waiting = np.ones((len(block), len(rows)), dtype=bool)  # not exited yet
            for k in range(num_parts):
                branch = block[:, k]
                if k < num_parts - 1:
                    word = masks[:, branch // _WORD].T  # (C', rows')
                    below = ((word >> (branch % _WORD).astype(np.uint64)[:, None]) & 1) == 1
                    leaving = waiting & below
                    waiting &= ~below
                else:
                    leaving = waiting
                exits[lo : lo + step, :, k] = (leaving * count) @ indicator
                right[lo : lo + step] += (leaving * correct[:, branch].T) @ indicator
        return exits / self.num_samples, right / self.num_samples


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
            if k == len(partition) - 1 or float(entropy[s, branch]) < threshold:
                leaving[k] += 1
                right += int(bool(correct[s, branch]))
                break
    return tuple(n / samples for n in leaving), right / samples
