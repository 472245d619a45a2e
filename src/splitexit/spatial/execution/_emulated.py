"""Emulated clusters: the devices that ``distredge run`` executes on, one process each.

An emulated device is a worker process on this machine whose computing is slowed down by a
factor ``slowdown >= 1`` (each split-part lasts ``slowdown`` times the CPU seconds it used;
see :func:`splitexit.spatial.devices.slowed`), with a link of ``bandwidth`` bit/s. The file
(YAML or JSON)::

    name: emu4
    requester_bandwidth: 400Mbps
    overhead: 2ms
    providers:
      - {name: fast-1, slowdown: 1, bandwidth: 200Mbps}
      - {name: slow-1, slowdown: 3, bandwidth: 50Mbps}

>>> cluster = emulated_cluster([("a", 1.0, 100e6), ("b", 2.0, 50e6)])
>>> cluster.names
('a', 'b')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from splitexit._boundary import StrictModel, bandwidth_field, duration_field, read_mapping
from splitexit._validation import InstanceOf, Interval, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.spatial.devices._cluster import REQUESTER_BANDWIDTH

__all__ = ["MAX_WORKERS", "EmulatedCluster", "EmulatedDevice", "emulated_cluster", "load_emulated"]

MAX_WORKERS = 16


@returned_type
@dataclass(frozen=True)
class EmulatedDevice:
    """One worker: a name, its compute slowdown (>= 1) and its link (bit/s)."""

    name: str
    slowdown: float
    bandwidth: float


@returned_type
@dataclass(frozen=True)
class EmulatedCluster:
    """The emulated providers, the requester's link and the per-transfer overhead."""

    devices: tuple[EmulatedDevice, ...]
    requester_bandwidth: float = REQUESTER_BANDWIDTH
    overhead_s: float = 2e-3
    name: str = "emulated"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.devices)

    @property
    def size(self) -> int:
        return len(self.devices)


class _DeviceSpec(StrictModel):
    name: str
    slowdown: float = Field(ge=1.0, le=1000.0)
    bandwidth: Annotated[float, BeforeValidator(bandwidth_field)]


class _EmulatedFile(StrictModel):
    name: str = "emulated"
    requester_bandwidth: Annotated[float, BeforeValidator(bandwidth_field)] = REQUESTER_BANDWIDTH
    overhead: Annotated[float, BeforeValidator(duration_field)] = 2e-3
    providers: list[_DeviceSpec]

    @model_validator(mode="after")
    def _consistent(self) -> _EmulatedFile:
        if not 1 <= len(self.providers) <= MAX_WORKERS:
            raise ValueError(f"providers must list 1 to {MAX_WORKERS} devices")
        names = [p.name for p in self.providers]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise ValueError(f"providers[{index}].name {name!r} is used twice")
        return self


@validate_params(
    {
        "devices": [InstanceOf(tuple, list)],
        "requester_bandwidth": [Interval(float, None, None)],
        "overhead_s": [Interval(float, None, None)],
        "name": [InstanceOf(str)],
    }
)
def emulated_cluster(
    devices: Sequence[tuple[str, float, float]],
    *,
    requester_bandwidth: float = REQUESTER_BANDWIDTH,
    overhead_s: float = 2e-3,
    name: str = "emulated",
) -> EmulatedCluster:
    """An emulated cluster from ``(name, slowdown, bandwidth)`` triples (validated)."""
    data = {
        "name": name,
        "requester_bandwidth": requester_bandwidth,
        "overhead": f"{overhead_s}s",
        "providers": [{"name": n, "slowdown": s, "bandwidth": b} for n, s, b in devices],
    }
    return _from_spec(_EmulatedFile.parse(data, source=name))


@validate_params({"path": [PathLike()]})
def load_emulated(path: Path) -> EmulatedCluster:
    """Read an emulated-cluster file; a problem is one :class:`InputError` line."""
    if not path.is_file():
        raise InputError(f"{path}: no such emulated-cluster file")
    return _from_spec(
        _EmulatedFile.parse(read_mapping(path, kind="emulated cluster"), source=str(path))
    )


def _from_spec(spec: _EmulatedFile) -> EmulatedCluster:
    devices = tuple(EmulatedDevice(p.name, p.slowdown, p.bandwidth) for p in spec.providers)
    return EmulatedCluster(devices, spec.requester_bandwidth, spec.overhead, spec.name)
