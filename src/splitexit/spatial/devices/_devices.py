"""Computing-latency models of the service providers (seed 003, section IV and V-A).

A device turns a model into *latency tables*: for every layer ``i`` and every output height
``h = 0 .. H_i`` the seconds the device needs to compute ``h`` rows of that layer (0 for
``h = 0``), plus the seconds of the fully-connected tail. The paper profiles exactly this,
"against the height of each layer (granularity as one)".

Two kinds:

- :class:`SyntheticDevice`, the presets ``pi3``, ``nano``, ``tx2``, ``xavier``. They are
  **synthetic**: nothing was measured on those boards. The Nano is fitted to the two figures
  of the benchmark page the paper cites [29]; the others keep the ordering the paper states
  (Pi3 << Nano < TX2 < Xavier, [28, 29]) with assumed ratios to the Nano. Their shape is
  the non-linear one the paper insists on: a GPU computes output elements in *waves* of
  ``wave_elems``; a partly filled wave costs as much as a full one, so latency grows in steps
  with the height (occupancy).
- :class:`TableDevice`, a measured table (``splitexit.device/1``, written by
  ``splitexit distredge profile-device``) read at the measured heights and interpolated
  linearly between them, or by k-nearest-neighbours (scikit-learn).
- :class:`ShapedDevice`, a preset's per-layer speed with a measured table's shape in the
  height (Tables I-II on a GPU's measured shape).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.spatial.geometry._geometry import FloatArray, Layer, ModelSpec, Op

__all__ = [
    "DEVICE_PRESETS",
    "DeviceModel",
    "FloatArray",
    "ShapedDevice",
    "SyntheticDevice",
    "TableDevice",
    "device_preset",
]


@runtime_checkable
class DeviceModel(Protocol):
    """What the simulator needs from a device."""

    @property
    def name(self) -> str: ...

    def latency_tables(self, model: ModelSpec) -> tuple[list[FloatArray], float]:
        """Per layer, seconds for output heights ``0..H_i``; and the tail's seconds."""
        ...


def _interior_rows(branch: tuple[Op, ...], rows: int) -> list[int]:
    """Output rows of each op of a branch for ``rows`` interior output rows (Eq. 1)."""
    if not branch:
        return []
    counts = [rows]
    for op in reversed(branch[1:]):
        counts.insert(0, min((counts[0] - 1) * op.s + op.f, op.h_out))
    return counts


@validate_params(
    {
        "name": [InstanceOf(str)],
        "flops_per_s": [Interval(float, 0, None, closed="neither")],
        "wave_elems": [Interval(int, 1, None)],
        "launch_s": [Interval(float, 0, None)],
        "mem_bytes_per_s": [Interval(float, 0, None, closed="neither")],
    }
)
@dataclass(frozen=True)
class SyntheticDevice:
    """A device with a step-shaped (occupancy) latency; see the module docstring.

    One op with ``h`` output rows takes ``launch_s + ceil(h*W*C_out / wave_elems) *
    wave_elems * flops_per_element / flops_per_s``; the FC tail is bound by reading its
    weights (``mem_bytes_per_s``, FP16) or by arithmetic, whichever is slower.
    """

    name: str
    flops_per_s: float
    wave_elems: int
    launch_s: float
    mem_bytes_per_s: float

    def op_seconds(self, op: Op, rows: int) -> float:
        if rows <= 0:
            return 0.0
        per_row_elems = op.w_out * op.c_out
        waves = math.ceil(rows * per_row_elems / self.wave_elems)
        per_elem = op.flops_per_row / per_row_elems
        return self.launch_s + waves * self.wave_elems * per_elem / self.flops_per_s

    def layer_seconds(self, layer: Layer, rows: int) -> float:
        if rows <= 0:
            return 0.0
        total = 0.0
        for branch in layer.branches:
            for op, count in zip(branch, _interior_rows(branch, rows), strict=True):
                total += self.op_seconds(op, count)
        return total

    def latency_tables(self, model: ModelSpec) -> tuple[list[FloatArray], float]:
        tables = [
            np.array([self.layer_seconds(layer, h) for h in range(layer.h_out + 1)])
            for layer in model.layers
        ]
        flops = model.tail_flops
        tail = 0.0
        if model.tail_fc:
            weight_bytes = flops  # one FP16 weight (2 bytes) per multiply-add (2 flops)
            tail = len(model.tail_fc) * self.launch_s + max(
                flops / self.flops_per_s, weight_bytes / self.mem_bytes_per_s
            )
        return tables, tail


# Calibration (docs/spatial.md, "Calibration"). Seed 003 prints no single-device figure (its
# results are bar charts); for the boards' speeds it cites the NVIDIA benchmark pages [28, 29].
# The Nano's two free parameters are fitted to the Nano page's two batch-1 FP16 TensorRT
# figures [29] (as noted in docs/spatial.md): VGG-19 10 and ResNet-50 36 images/s, which
# gives 500 Gflop/s (effective: TensorRT's Winograd 3x3 convolutions do fewer flops than we
# count) and 170 us per kernel. The other boards keep their assumed throughput ratios to the
# Nano (Pi3 1/31, TX2 2.2x, Xavier 7x; [28] lists the Xavier only at INT8 and batch 4-16, so
# it gives no comparable figure) and their assumed launch costs. Wave sizes follow the GPUs'
# width (Nano 1 SM, TX2 2 SMs, Xavier 8 SMs); the Pi3's CPU is nearly linear. SYNTHETIC.
_NANO_FLOPS = 500e9
DEVICE_PRESETS: dict[str, SyntheticDevice] = {
    "pi3": SyntheticDevice("pi3", _NANO_FLOPS * 13 / 400, 256, 500e-6, 2e9),
    "nano": SyntheticDevice("nano", _NANO_FLOPS, 16_384, 170e-6, 15e9),
    "tx2": SyntheticDevice("tx2", _NANO_FLOPS * 880 / 400, 32_768, 80e-6, 35e9),
    "xavier": SyntheticDevice("xavier", _NANO_FLOPS * 2800 / 400, 131_072, 60e-6, 80e9),
}


@validate_params({"name": [InstanceOf(str)]})
def device_preset(name: str) -> SyntheticDevice:
    """A synthetic device preset by name (``pi3``, ``nano``, ``tx2``, ``xavier``)."""
    key = name.lower()
    if key not in DEVICE_PRESETS:
        raise InputError(f"device {name!r} is not a preset; presets: {', '.join(DEVICE_PRESETS)}")
    return DEVICE_PRESETS[key]


@returned_type
@dataclass(frozen=True)
class TableDevice:
    """Measured latencies of one model's layers at some heights (validated at load)."""

    name: str
    model_name: str
    layer_names: tuple[str, ...]
    heights: tuple[tuple[int, ...], ...]
    seconds: tuple[tuple[float, ...], ...]
    tail_s: float
    source: str
    method: Literal["interp", "knn"] = "interp"
    # Seconds of each layer when it is the first of a split-part (the device has just woken
    # up for it), at the same heights; None: as ``seconds`` (the chained profile, docs).
    first_seconds: tuple[tuple[float, ...], ...] | None = None
    # The same for the next ``NEAR_LAYERS`` layers of a split-part (the device woke up for
    # the part a layer or two earlier); None: as ``seconds``.
    near_seconds: tuple[tuple[float, ...], ...] | None = None

    def first_latency_tables(self, model: ModelSpec) -> list[FloatArray] | None:
        """Like :meth:`latency_tables` from ``first_seconds``; None when not profiled."""
        if self.first_seconds is None:
            return None
        self.latency_tables(model)  # the same checks
        return [
            self._fill(i, layer.h_out, self.first_seconds) for i, layer in enumerate(model.layers)
        ]

    def near_latency_tables(self, model: ModelSpec) -> list[FloatArray] | None:
        """Like :meth:`latency_tables` from ``near_seconds``; None when not profiled."""
        if self.near_seconds is None:
            return None
        self.latency_tables(model)  # the same checks
        return [
            self._fill(i, layer.h_out, self.near_seconds) for i, layer in enumerate(model.layers)
        ]

    def latency_tables(self, model: ModelSpec) -> tuple[list[FloatArray], float]:
        if model.name != self.model_name:
            raise InputError(
                f"{self.source}: profiled for model {self.model_name!r}, not {model.name!r}"
            )
        names = tuple(layer.name for layer in model.layers)
        if names != self.layer_names:
            if len(names) != len(self.layer_names):
                raise InputError(
                    f"{self.source}: profiles {len(self.layer_names)} layers but model "
                    f"{model.name!r} has {len(names)}"
                )
            i = next(
                i for i, (a, b) in enumerate(zip(names, self.layer_names, strict=True)) if a != b
            )
            raise InputError(
                f"{self.source}: layers[{i}] is {self.layer_names[i]!r} but the model's is "
                f"{names[i]!r}"
            )
        tables = []
        for i, layer in enumerate(model.layers):
            if self.heights[i][-1] != layer.h_out:
                raise InputError(
                    f"{self.source}: layers[{i}].heights must end at the layer's height "
                    f"{layer.h_out}, got {self.heights[i][-1]}"
                )
            tables.append(self._fill(i, layer.h_out))
        return tables, self.tail_s

    def _fill(
        self, i: int, height: int, seconds: tuple[tuple[float, ...], ...] | None = None
    ) -> FloatArray:
        known_h = np.array(self.heights[i], dtype=np.float64)
        known_s = np.array((self.seconds if seconds is None else seconds)[i], dtype=np.float64)
        wanted = np.arange(1, height + 1, dtype=np.float64)
        if self.method == "knn":
            from sklearn.neighbors import KNeighborsRegressor

            knn = KNeighborsRegressor(n_neighbors=min(2, len(known_h)), weights="distance")
            knn.fit(known_h[:, None], known_s)
            values = knn.predict(wanted[:, None])
        else:
            values = np.interp(wanted, known_h, known_s)
        return np.concatenate([[0.0], values])


@validate_params({"base": [InstanceOf(DeviceModel)], "shape": [InstanceOf(TableDevice)]})
@dataclass(frozen=True)
class ShapedDevice:
    """A device's speed with a measured table's *shape* in the height (issue 17, item 6).

    Layer ``i`` at height ``h`` costs ``base(i, H_i) * shape(i, h) / shape(i, H_i)``: the
    base device (a preset) keeps what it costs to compute each whole layer and the FC tail,
    and the measured table (a GPU profiled with ``profile-device --torch-device cuda``) says
    how that cost falls with fewer rows, its launch costs and partly filled waves included.
    The boards of the paper cannot be measured here, and a GPU that can is far faster than
    they are; so its shape is carried over and its speed is not.
    """

    base: DeviceModel
    shape: TableDevice

    @property
    def name(self) -> str:
        return self.base.name

    def latency_tables(self, model: ModelSpec) -> tuple[list[FloatArray], float]:
        base, tail = self.base.latency_tables(model)
        shape, _ = self.shape.latency_tables(model)
        tables = []
        for i, (whole, curve) in enumerate(zip(base, shape, strict=True)):
            if not curve[-1] > 0:
                raise InputError(
                    f"{self.shape.source}: layers[{i}] costs {curve[-1]} s at its full height; "
                    "a shape needs a positive time"
                )
            tables.append(whole[-1] * curve / curve[-1])
        return tables, tail
