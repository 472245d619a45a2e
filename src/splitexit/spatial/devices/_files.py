"""Files of the spatial room, validated once here: device tables and cluster descriptions.

A device table (``splitexit.device/1``, JSON, written by ``distredge profile-device``)::

    {"format": "splitexit.device/1", "device": "laptop", "model": "vgg16",
     "layers": [{"name": "conv1_1", "heights": [56, 112, 224], "seconds": [...]}, ...],
     "tail_s": 0.004}

A cluster (YAML)::

    name: lab
    requester_bandwidth: 400Mbps
    overhead: 2ms
    providers:
      - {name: x1, device: xavier, bandwidth: 50Mbps}       # a synthetic preset
      - {name: me, device: me.json, bandwidth: 100Mbps}     # a measured table (relative path)
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, model_validator

from splitexit._boundary import (
    StrictModel,
    atomic_write_text,
    bandwidth_field,
    dump_json,
    duration_field,
    read_mapping,
)
from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.spatial.devices._cluster import REQUESTER_BANDWIDTH, Cluster, Provider
from splitexit.spatial.devices._devices import (
    DEVICE_PRESETS,
    DeviceModel,
    TableDevice,
    device_preset,
)

__all__ = ["load_cluster", "load_device_table", "save_device_table"]

DEVICE_FORMAT = "splitexit.device/1"


class _LayerTable(StrictModel):
    name: str
    heights: list[int]
    seconds: list[float]
    first_seconds: list[float] | None = None  # as the first layer of a split-part (chained)
    near_seconds: list[float] | None = None  # as its second or third layer (chained)

    @model_validator(mode="after")
    def _consistent(self) -> _LayerTable:
        if not self.heights or len(self.heights) != len(self.seconds):
            raise ValueError("heights and seconds must be non-empty lists of the same length")
        if self.first_seconds is not None and len(self.first_seconds) != len(self.heights):
            raise ValueError("first_seconds must list as many values as heights")
        if self.first_seconds is not None and any(not s >= 0 for s in self.first_seconds):
            raise ValueError("first_seconds must be >= 0")
        if self.near_seconds is not None and len(self.near_seconds) != len(self.heights):
            raise ValueError("near_seconds must list as many values as heights")
        if self.near_seconds is not None and any(not s >= 0 for s in self.near_seconds):
            raise ValueError("near_seconds must be >= 0")
        if self.heights[0] < 1 or any(a >= b for a, b in itertools.pairwise(self.heights)):
            raise ValueError(f"heights must rise strictly from >= 1, got {self.heights}")
        if any(not s >= 0 for s in self.seconds):
            raise ValueError("seconds must be >= 0")
        return self


class _DeviceFile(StrictModel):
    format: Literal["splitexit.device/1"]
    device: str
    model: str
    layers: list[_LayerTable]
    tail_s: float = 0.0
    method: Literal["interp", "knn"] = "interp"
    synthetic: bool = False
    measured_with: str = ""

    @model_validator(mode="after")
    def _first_everywhere(self) -> _DeviceFile:
        given = {layer.first_seconds is not None for layer in self.layers}
        if len(given) > 1:
            raise ValueError("first_seconds must be given for every layer or for none")
        if len({layer.near_seconds is not None for layer in self.layers}) > 1:
            raise ValueError("near_seconds must be given for every layer or for none")
        return self


@validate_params({"path": [PathLike()]})
def load_device_table(path: Path) -> TableDevice:
    """Read a measured table; it is checked against a model when the simulator compiles it."""
    source = str(path)
    spec = _DeviceFile.parse(read_mapping(path, kind="device table"), source=source)
    return TableDevice(
        name=spec.device,
        model_name=spec.model,
        layer_names=tuple(layer.name for layer in spec.layers),
        heights=tuple(tuple(layer.heights) for layer in spec.layers),
        seconds=tuple(tuple(layer.seconds) for layer in spec.layers),
        tail_s=spec.tail_s,
        source=source,
        method=spec.method,
        first_seconds=(
            None
            if not spec.layers or spec.layers[0].first_seconds is None
            else tuple(tuple(layer.first_seconds or ()) for layer in spec.layers)
        ),
        near_seconds=(
            None
            if not spec.layers or spec.layers[0].near_seconds is None
            else tuple(tuple(layer.near_seconds or ()) for layer in spec.layers)
        ),
    )


@validate_params(
    {"path": [PathLike()], "table": [InstanceOf(TableDevice)], "measured_with": [InstanceOf(str)]}
)
def save_device_table(path: Path, table: TableDevice, *, measured_with: str) -> None:
    """Write ``table`` as ``splitexit.device/1`` JSON (atomically)."""
    layers: list[dict[str, object]] = [
        {"name": name, "heights": list(h), "seconds": list(s)}
        for name, h, s in zip(table.layer_names, table.heights, table.seconds, strict=True)
    ]
    if table.first_seconds is not None:
        for layer, first in zip(layers, table.first_seconds, strict=True):
            layer["first_seconds"] = list(first)
    if table.near_seconds is not None:
        for layer, near in zip(layers, table.near_seconds, strict=True):
            layer["near_seconds"] = list(near)
    data = {
        "format": DEVICE_FORMAT,
        "device": table.name,
        "model": table.model_name,
        "synthetic": False,
        "measured_with": measured_with,
        "method": table.method,
        "tail_s": table.tail_s,
        "layers": layers,
    }
    atomic_write_text(path, dump_json(data, indent=1, where=str(path)))


class _ProviderSpec(StrictModel):
    name: str
    device: str
    bandwidth: Annotated[float, BeforeValidator(bandwidth_field)]


class _ClusterFile(StrictModel):
    name: str = "cluster"
    requester_bandwidth: Annotated[float, BeforeValidator(bandwidth_field)] = REQUESTER_BANDWIDTH
    overhead: Annotated[float, BeforeValidator(duration_field)] = 2e-3
    providers: list[_ProviderSpec]

    @model_validator(mode="after")
    def _consistent(self) -> _ClusterFile:
        if not self.providers:
            raise ValueError("providers must list at least one provider")
        names = [p.name for p in self.providers]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise ValueError(f"providers[{index}].name {name!r} is used twice")
        return self


@validate_params({"path": [PathLike()]})
def load_cluster(path: Path) -> Cluster:
    """Read a cluster YAML; a provider's device is a preset name or a device-table path."""
    source = str(path)
    spec = _ClusterFile.parse(read_mapping(path, kind="cluster"), source=source)
    providers = []
    for index, item in enumerate(spec.providers):
        device: DeviceModel
        if item.device.lower() in DEVICE_PRESETS:
            device = device_preset(item.device)
        else:
            table = path.parent / item.device
            if not table.is_file():
                raise InputError(
                    f"{source}: providers[{index}].device {item.device!r} is neither a preset "
                    f"({', '.join(DEVICE_PRESETS)}) nor a device table file"
                )
            device = load_device_table(table)
        providers.append(Provider(item.name, device, item.bandwidth))
    return Cluster(tuple(providers), spec.requester_bandwidth, spec.overhead, name=spec.name)
