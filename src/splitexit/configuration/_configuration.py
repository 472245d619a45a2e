"""One value type for a configuration (T, P, A) of seed 000, 0-based inside the library."""

from __future__ import annotations

from dataclasses import dataclass

from splitexit.configuration._exit_rule import check_exit_thresholds
from splitexit.errors import InputError

__all__ = ["Configuration"]


@dataclass(frozen=True)
class Configuration:
    """A deployment of a multi-exit DNN: where it is cut, where each piece runs, and when a
    sample may leave early.

    ``partition[k]`` is P_{k+1} - 1, the 0-based index of partition k's last block
    (increasing); ``placement[k]`` is A_{k+1} - 1, the 0-based tier of partition k (no tier
    twice); ``thresholds[k]`` is T of partition k's exit, one per partition but the last
    (all equal with one global T, empty for a single partition). Outside the library (CLI,
    JSON, plots) blocks are 1-based and tiers are named.

    >>> c = Configuration(partition=(2, 9), placement=(0, 3), thresholds=(0.4,))
    >>> c.num_partitions, c.threshold_of(0), c.threshold_of(1)
    (2, 0.4, None)
    """

    partition: tuple[int, ...]
    placement: tuple[int, ...]
    thresholds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        count = len(self.partition)
        if count == 0:
            raise InputError("partition must hold at least one partition, got none")
        if any(p < 0 for p in self.partition) or any(
            a >= b for a, b in zip(self.partition, self.partition[1:], strict=False)
        ):
            raise InputError(
                f"partition must be increasing 0-based last blocks, got {list(self.partition)}"
            )
        if len(self.placement) != count:
            raise InputError(
                f"placement must name one tier per partition ({count}), got {len(self.placement)}"
            )
        if any(a < 0 for a in self.placement) or len(set(self.placement)) != count:
            raise InputError(
                f"placement must put each partition on a different tier, got {list(self.placement)}"
            )
        object.__setattr__(self, "thresholds", check_exit_thresholds(self.thresholds, count))

    @property
    def num_partitions(self) -> int:
        """L, the number of partitions."""
        return len(self.partition)

    def threshold_of(self, k: int) -> float | None:
        """T of partition ``k``'s exit; ``None`` for the last partition, which takes every
        sample that reaches it."""
        if not 0 <= k < self.num_partitions:
            raise IndexError(f"partition index k must be in 0..{self.num_partitions - 1}, got {k}")
        return None if k == self.num_partitions - 1 else self.thresholds[k]
