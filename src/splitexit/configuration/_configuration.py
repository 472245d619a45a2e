"""One value type for a configuration (T, P, A) of seed 000, 0-based inside the library."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from splitexit._validation import (
    InstanceOf,
    validate_params,
)
from splitexit.configuration._exit_rule import check_exit_thresholds
from splitexit.errors import InputError

__all__ = ["Configuration"]

# A threshold read back from JSON is the grid value up to float printing.
_GRID_TOLERANCE = 1e-9


@validate_params(
    {
        "partition": [InstanceOf(list, tuple)],
        "placement": [InstanceOf(list, tuple)],
        "thresholds": [InstanceOf(list, tuple)],
        "early_exit": [InstanceOf(bool)],
    }
)
@dataclass(frozen=True)
class Configuration:
    """A deployment of a multi-exit DNN: where it is cut, where each piece runs, and when a
    sample may leave early.

    ``partition[k]`` is P_{k+1} - 1, the 0-based index of partition k's last block
    (increasing); ``placement[k]`` is A_{k+1} - 1, the 0-based tier of partition k (no tier
    twice); ``thresholds[k]`` is T of partition k's exit, one per partition but the last
    (all equal with one global T, empty for a single partition). Outside the library (CLI,
    JSON, plots) blocks are 1-based and tiers are named.

    ``early_exit=False`` (thresholds then empty) is a split without exits: every sample runs
    to the last partition (the planner's Neurosurgeon-style ``single-cut`` baseline).

    >>> c = Configuration(partition=(2, 9), placement=(0, 3), thresholds=(0.4,))
    >>> c.num_partitions, c.threshold_of(0), c.threshold_of(1)
    (2, 0.4, None)
    """

    partition: tuple[int, ...]
    placement: tuple[int, ...]
    thresholds: tuple[float, ...] = ()
    early_exit: bool = True

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
        if not self.early_exit:
            if self.thresholds:
                raise InputError("a configuration without early exit takes no thresholds")
            return
        object.__setattr__(self, "thresholds", check_exit_thresholds(self.thresholds, count))

    @property
    def num_partitions(self) -> int:
        """L, the number of partitions."""
        return len(self.partition)

    @property
    def exit_thresholds(self) -> tuple[float, ...] | None:
        """What :func:`exit_partitions` takes: the thresholds, or ``None`` when no partition
        but the last lets a sample go (a single partition, or no early exit)."""
        return self.thresholds if self.thresholds else None

    @property
    def global_threshold(self) -> float | None:
        """The one T when every exit has the same threshold, else ``None``."""
        return self.thresholds[0] if len(set(self.thresholds)) == 1 else None

    def threshold_of(self, k: int) -> float | None:
        """T of partition ``k``'s exit; ``None`` for the last partition, which takes every
        sample that reaches it."""
        if not 0 <= k < self.num_partitions:
            raise IndexError(f"partition index k must be in 0..{self.num_partitions - 1}, got {k}")
        if k == self.num_partitions - 1:
            return None
        if not self.early_exit:
            raise InputError(f"partition {k} of a configuration without early exit has no exit")
        return self.thresholds[k]

    @classmethod
    def from_indices(
        cls,
        partition: Sequence[int],
        placement: Sequence[int],
        indices: Sequence[int],
        grid: Sequence[float],
    ) -> Configuration:
        """From threshold indices into ``grid`` (a profile's thresholds), one per exit.

        >>> Configuration.from_indices((1, 4), (0, 2), (1,), (0.25, 0.5)).thresholds
        (0.5,)
        """
        values = tuple(float(grid[int(i)]) for i in indices)
        return cls(tuple(int(p) for p in partition), tuple(int(a) for a in placement), values)

    def threshold_indices(self, grid: Sequence[float]) -> tuple[int, ...]:
        """Index into ``grid`` of every exit's threshold (the planner's candidates work on
        indices); an :class:`InputError` when a threshold is not on the grid.

        >>> Configuration((1, 4), (0, 2), (0.5,)).threshold_indices((0.25, 0.5))
        (1,)
        """
        found = []
        for k, value in enumerate(self.thresholds):
            near = [i for i, t in enumerate(grid) if abs(float(t) - value) <= _GRID_TOLERANCE]
            if not near:
                raise InputError(
                    f"thresholds[{k}] = {value:g} is not one of the profile's thresholds"
                )
            found.append(near[0])
        return tuple(found)

    def to_json(self, tier_names: Sequence[str], *, per_exit: bool = False) -> dict[str, Any]:
        """The JSON form: 1-based blocks, tier names, ``threshold`` one T (or a list of one
        T_k per exit with ``per_exit``; null for a single partition or no early exit).

        >>> Configuration((2, 9), (0, 1), (0.4,)).to_json(["phone", "edge"])
        {'threshold': 0.4, 'partition': [3, 10], 'placement': ['phone', 'edge']}
        """
        threshold: Any = None
        if self.thresholds:
            threshold = list(self.thresholds) if per_exit else self.global_threshold
            if threshold is None:
                threshold = list(self.thresholds)
        return {
            "threshold": threshold,
            "partition": [p + 1 for p in self.partition],
            "placement": [tier_names[a] for a in self.placement],
        }
