"""A model on a cluster, compiled to arrays (by ``devices.make_problem``); and the strategy.

A :class:`Strategy` is a partition scheme (``boundaries``: layer-volume ``l`` holds layers
``boundaries[l] .. boundaries[l+1] - 1``) and split decisions (``splits[l]``: the
``|D| - 1`` sorted coordinates ``x_i`` in ``[0, H]`` on the height of the volume's last layer,
Eq. 6; provider ``k`` computes rows ``x_k .. x_{k+1} - 1``, possibly none).

Outside (JSON) layers are 1-based and inclusive, as in the paper's "partition location":
``{"devices": [...], "volumes": [{"layers": [1, 5], "splits": [30, 60, 90]}, ...]}``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.spatial.geometry._geometry import FloatArray, ModelSpec

__all__ = [
    "NEAR_LAYERS",
    "Network",
    "Problem",
    "Strategy",
    "check_strategy",
    "strategy_from_mapping",
]

NEAR_LAYERS = 2  # a part's layers 2..NEAR_LAYERS + 1 are charged ``near_tables`` when given


class Network(Protocol):
    """What a problem keeps of its cluster (``devices.Cluster`` is one).

    Declared here so that the geometry layer never imports the devices layer.
    """

    @property
    def name(self) -> str: ...

    @property
    def names(self) -> tuple[str, ...]: ...

    @property
    def size(self) -> int: ...

    @property
    def requester_bandwidth(self) -> float: ...

    @property
    def overhead_s(self) -> float: ...


@returned_type
@dataclass(frozen=True, eq=False)
class Problem:
    """Everything the simulator reads, as arrays: latency tables, bits per row, bandwidths."""

    model: ModelSpec
    cluster: Network
    tables: tuple[FloatArray, ...]  # per layer, shape (D, H_i + 1), seconds
    tail_s: FloatArray  # (D,) seconds of the FC tail on each provider
    bandwidth: FloatArray  # (D,) bit/s
    out_row_bits: FloatArray  # per layer: bits of one output row (W * C * feature_bits)
    in_row_bits: float  # bits of one image row
    result_bits: float
    # per layer, like ``tables``: the seconds when the layer is the first of a split-part
    # (profiled in place: the device wakes up for it); None: ``tables`` throughout
    first_tables: tuple[FloatArray, ...] | None = None
    # per layer, like ``tables``: the seconds when the layer is the second to the
    # ``NEAR_LAYERS + 1``-th of a split-part (still after the wake-up); None: ``tables``
    near_tables: tuple[FloatArray, ...] | None = None

    def volume_tables(self, first: int, last: int) -> tuple[FloatArray, ...]:
        """The tables that time a split-part of layers ``first..last``, in order."""
        head = self.tables[first] if self.first_tables is None else self.first_tables[first]
        near = self.tables if self.near_tables is None else self.near_tables
        return (
            head,
            *(
                (near if i - first <= NEAR_LAYERS else self.tables)[i]
                for i in range(first + 1, last + 1)
            ),
        )

    @property
    def num_devices(self) -> int:
        return self.cluster.size

    @property
    def num_layers(self) -> int:
        return self.model.num_layers

    def height(self, layer: int) -> int:
        return self.model.layers[layer].h_out

    def input_row_bits(self, layer: int) -> float:
        """Bits of one row of layer ``layer``'s input."""
        return self.in_row_bits if layer == 0 else float(self.out_row_bits[layer - 1])


@returned_type
@dataclass(frozen=True)
class Strategy:
    """A partition scheme and the split decisions of every layer-volume (0-based inside)."""

    boundaries: tuple[int, ...]
    splits: tuple[tuple[int, ...], ...]

    @property
    def num_volumes(self) -> int:
        return len(self.boundaries) - 1

    def volume(self, index: int) -> tuple[int, int]:
        """First and last layer of volume ``index``."""
        return self.boundaries[index], self.boundaries[index + 1] - 1

    def to_dict(self, problem: Problem) -> dict[str, Any]:
        return {
            "devices": list(problem.cluster.names),
            "volumes": [
                {"layers": [first + 1, last + 1], "splits": list(cuts)}
                for (first, last), cuts in (
                    (self.volume(v), self.splits[v]) for v in range(self.num_volumes)
                )
            ],
        }


@validate_params(
    {
        "strategy": [InstanceOf(Strategy)],
        "problem": [InstanceOf(Problem)],
        "source": [InstanceOf(str)],
    }
)
def check_strategy(strategy: Strategy, problem: Problem, source: str = "strategy") -> None:
    """Raise :class:`InputError` unless ``strategy`` fits ``problem`` (0-based messages)."""
    b = strategy.boundaries
    n, d = problem.num_layers, problem.num_devices
    if len(b) < 2 or b[0] != 0 or b[-1] != n or any(x >= y for x, y in itertools.pairwise(b)):
        raise InputError(
            f"{source}: partition boundaries must rise strictly from 0 to {n}, got {list(b)}"
        )
    if len(strategy.splits) != len(b) - 1:
        raise InputError(
            f"{source}: {len(b) - 1} layer-volumes need {len(b) - 1} split decisions, "
            f"got {len(strategy.splits)}"
        )
    for v, cuts in enumerate(strategy.splits):
        _check_cuts(cuts, problem.height(b[v + 1] - 1), d, f"{source}: volumes[{v}].splits")


def _check_cuts(cuts: Sequence[int], height: int, devices: int, where: str) -> None:
    if len(cuts) != devices - 1:
        raise InputError(f"{where} must hold {devices - 1} split points, got {len(cuts)}")
    for i, x in enumerate(cuts):
        if isinstance(x, bool) or not isinstance(x, int | np.integer) or not 0 <= x <= height:
            raise InputError(f"{where}[{i}] must be an integer in [0, {height}], got {x!r}")
    if any(x > y for x, y in itertools.pairwise(cuts)):
        raise InputError(f"{where} must be sorted, got {list(cuts)}")


def strategy_from_mapping(data: object, problem: Problem, *, source: str) -> Strategy:
    """Validate a strategy file (1-based inclusive layer ranges) against ``problem``."""
    if not isinstance(data, dict) or not isinstance(data.get("volumes"), list):
        raise InputError(f"{source}: a strategy needs a list 'volumes'")
    devices = data.get("devices")
    names = list(problem.cluster.names)
    if devices is not None and devices != names:
        raise InputError(f"{source}: devices must be the cluster's {names}, got {devices!r}")
    boundaries, splits, expected = [0], [], 1
    for v, volume in enumerate(data["volumes"]):
        where = f"{source}: volumes[{v}]"
        if not isinstance(volume, dict) or set(volume) != {"layers", "splits"}:
            raise InputError(f"{where} must hold exactly 'layers' and 'splits'")
        layers, cuts = volume["layers"], volume["splits"]
        if (
            not isinstance(layers, list)
            or len(layers) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in layers)
            or layers[0] != expected
            or not layers[0] <= layers[1] <= problem.num_layers
        ):
            raise InputError(
                f"{where}.layers must be [{expected}, last] with {expected} <= last <= "
                f"{problem.num_layers}, got {layers!r}"
            )
        if not isinstance(cuts, list):
            raise InputError(f"{where}.splits must be a list, got {cuts!r}")
        _check_cuts(cuts, problem.height(layers[1] - 1), problem.num_devices, f"{where}.splits")
        boundaries.append(layers[1])
        splits.append(tuple(int(x) for x in cuts))
        expected = layers[1] + 1
    if boundaries[-1] != problem.num_layers:
        raise InputError(
            f"{source}: the volumes must end at layer {problem.num_layers}, got {boundaries[-1]}"
        )
    return Strategy(tuple(boundaries), tuple(splits))
