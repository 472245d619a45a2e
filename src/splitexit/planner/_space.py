"""The configuration space of seed 000: partitionings, placements, thresholds.

1 <= L <= min(N, M) partitions; 1 <= P_1 < ... < P_L <= N (partial DNNs allowed); A an
injective map of partitions to tiers in any order; T from the profile's thresholds, except
for L = 1 whose single exit takes every sample (that configuration is counted once).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    validate_params,
)

__all__ = [
    "count_configurations",
    "count_for_length",
    "iter_partitions",
    "placements",
    "threshold_choices",
    "thresholds_for",
]

IntArray = npt.NDArray[np.int64]


@validate_params(
    {
        "num_blocks": [Interval(int, 1, None)],
        "num_tiers": [Interval(int, 1, None)],
        "num_thresholds": [Interval(int, 1, None)],
        "per_exit": [InstanceOf(bool)],
    }
)
def count_configurations(
    num_blocks: int, num_tiers: int, num_thresholds: int, *, per_exit: bool = False
) -> int:
    """Number of (T, P, A) triples: N*M + sum_{L>=2} C(N, L) * M!/(M-L)! * |T|.

    >>> count_configurations(10, 4, 20)
    169240
    """
    return sum(
        count_for_length(num_blocks, num_tiers, num_thresholds, num_parts, per_exit=per_exit)
        for num_parts in range(1, min(num_blocks, num_tiers) + 1)
    )


def count_for_length(
    num_blocks: int, num_tiers: int, num_thresholds: int, num_parts: int, *, per_exit: bool = False
) -> int:
    """Number of configurations with exactly ``num_parts`` partitions."""
    per_threshold = math.comb(num_blocks, num_parts) * math.perm(num_tiers, num_parts)
    return per_threshold * threshold_choices(num_parts, num_thresholds, per_exit=per_exit)


def threshold_choices(num_parts: int, num_thresholds: int, *, per_exit: bool = False) -> int:
    """1 for L = 1 (its one exit takes everyone), else |T|, or |T|^(L-1) with one per exit."""
    if num_parts == 1:
        return 1
    return num_thresholds ** (num_parts - 1) if per_exit else num_thresholds


def thresholds_for(num_parts: int, num_thresholds: int, *, per_exit: bool = False) -> IntArray:
    """Threshold indices (or per-exit vector codes) to enumerate for L partitions."""
    count = threshold_choices(num_parts, num_thresholds, per_exit=per_exit)
    return np.arange(count, dtype=np.int64)


def iter_partitions(num_blocks: int, num_parts: int, chunk: int) -> Iterator[IntArray]:
    """Partitionings (0-based last blocks, increasing), lexicographic, ``chunk`` at a time."""
    combos = itertools.combinations(range(num_blocks), num_parts)
    while True:
        flat = np.fromiter(
            itertools.chain.from_iterable(itertools.islice(combos, chunk)), dtype=np.int64
        )
        if flat.size == 0:
            return
        yield flat.reshape(-1, num_parts)


def placements(num_tiers: int, num_parts: int) -> IntArray:
    """All injective placements of ``num_parts`` partitions on tiers, lexicographic, (A, L)."""
    return np.array(list(itertools.permutations(range(num_tiers), num_parts)), dtype=np.int64)
