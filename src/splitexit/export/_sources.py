"""Where an export's configuration comes from (a plan's recommendation or a file), and the
input shape the profile implies. The weights come from ``_weights`` (joint) and ``_final``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitexit._boundary import read_mapping
from splitexit._validation import (
    InstanceOf,
    Interval,
    PathLike,
    validate_params,
)
from splitexit.configuration import Configuration, check_exit_thresholds
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.topology import Topology

__all__ = ["config_from_file", "input_shape_from_bits"]


@validate_params(
    {
        "path": [PathLike()],
        "topology": [InstanceOf("splitexit.topology:Topology")],
        "num_blocks": [Interval(int, 1, None)],
    }
)
def config_from_file(path: Path, topology: Topology, *, num_blocks: int) -> Configuration:
    """Read a configuration: ``splitexit plan --json`` output (its ``best``) or one point
    ``{"threshold": 0.4, "partition": [2, 10], "placement": ["edge", "cloud"]}`` (1-based).

    ``threshold`` is one T in (0, 1], a list of one T_k per partition but the last (what
    ``splitexit plan --per-exit-thresholds`` writes), or null for a single partition.
    """
    data: dict[str, Any] = read_mapping(path, kind="configuration")
    point = data.get("best", data)
    where = f"{path}: best" if "best" in data else str(path)
    if not isinstance(point, dict):
        raise InputError(f"{where} must be a mapping with threshold, partition and placement")
    for key in ("threshold", "partition", "placement"):
        if key not in point:
            raise InputError(f"{where}.{key} is required but missing")
    partition, placement, threshold = point["partition"], point["placement"], point["threshold"]
    if (
        not isinstance(partition, list)
        or not partition
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in partition)
        or partition != sorted(set(partition))
        or partition[0] < 1
        or partition[-1] > num_blocks
    ):
        raise InputError(
            f"{where}.partition must be increasing 1-based blocks in 1..{num_blocks}, "
            f"got {partition!r}"
        )
    names = [tier.name for tier in topology.tiers]
    if not isinstance(placement, list) or any(a not in names for a in placement):
        raise InputError(f"{where}.placement must be tier names of {names}, got {placement!r}")
    if len(placement) != len(partition):
        raise InputError(
            f"{where}.placement must name one tier per partition ({len(partition)}), "
            f"got {len(placement)}"
        )
    thresholds = _thresholds(threshold, len(partition), where)
    try:
        return Configuration(
            partition=tuple(p - 1 for p in partition),
            placement=tuple(names.index(a) for a in placement),
            thresholds=thresholds,
        )
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None


def _thresholds(value: Any, count: int, where: str) -> tuple[float, ...]:
    """One T_k per partition but the last, from one T, a list, or null (one partition)."""

    def number(t: Any) -> bool:
        return isinstance(t, int | float) and not isinstance(t, bool)

    if isinstance(value, list):
        if len(value) != count - 1 or not all(number(t) for t in value):
            raise InputError(
                f"{where}.threshold: per-exit thresholds must be {count - 1} number(s) in "
                f"(0, 1], one per partition but the last, got {value!r}"
            )
        values: list[Any] = value
    elif value is None:
        if count > 1:
            raise InputError(f"{where}.threshold is needed with {count} partitions")
        values = []
    elif not number(value):
        raise InputError(f"{where}.threshold must be in (0, 1] or null, got {value!r}")
    else:
        check_exit_thresholds([value], 2, where=f"{where}.threshold")  # also with L = 1
        values = [value] * (count - 1)
    try:
        return check_exit_thresholds(values, count, where=f"{where}.threshold")
    except InputError:
        raise InputError(
            f"{where}.threshold: per-exit thresholds must be {count - 1} number(s) in "
            f"(0, 1], one per partition but the last, got {value!r}"
        ) from None


@validate_params(
    {
        "input_bits": [Interval(float, 0, None, closed="neither")],
        "in_channels": [Interval(int, 1, None)],
    }
)
def input_shape_from_bits(input_bits: float, in_channels: int) -> tuple[int, int, int]:
    """(C, H, W) of a square image of 8-bit pixels from the profile's O_0 (bits)."""
    pixels = input_bits / 8 / in_channels
    side = math.isqrt(round(pixels))
    if side < 1 or side * side != pixels:
        raise InputError(
            f"the profile's input size ({input_bits:g} bits) is not a square image of 8-bit "
            f"pixels with {in_channels} channel(s)"
        )
    return in_channels, side, side
