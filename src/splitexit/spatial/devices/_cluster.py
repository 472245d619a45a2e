"""Service providers, their links, and the groups of seed 003's Tables I-III.

The network model (written down in docs/spatial.md): every device, the requester included,
reaches the others through one wireless router with its own link bandwidth ``B``. Sending
``bits`` from device ``i`` to device ``j`` takes

    bits / min(B_i, B_j) + overhead_s

where ``overhead_s`` is the per-transfer I/O cost the paper measures with the transmission
(reading from the GPU, socket, loading on the receiver). A device's sends share its link:
they leave one after another, in device order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.spatial.devices._devices import DeviceModel, device_preset

__all__ = ["Cluster", "Provider", "group_cluster", "group_names"]

MBPS = 1e6
REQUESTER_BANDWIDTH = 400 * MBPS


@validate_params(
    {
        "name": [InstanceOf(str)],
        "device": [InstanceOf(DeviceModel)],
        "bandwidth": [Interval(float, None, None)],
    }
)
@dataclass(frozen=True)
class Provider:
    """A service provider: a device model and its link bandwidth (bit/s)."""

    name: str
    device: DeviceModel
    bandwidth: float


@validate_params(
    {
        "providers": [InstanceOf(tuple, list)],
        "requester_bandwidth": [Interval(float, None, None)],
        "overhead_s": [Interval(float, None, None)],
        "input_bits": [Interval(int, 1, None)],
        "feature_bits": [Interval(int, 1, None)],
        "name": [InstanceOf(str)],
    }
)
@dataclass(frozen=True)
class Cluster:
    """The providers, the requester's link, and how data is sent.

    ``input_bits`` per element of the image (8: a camera frame), ``feature_bits`` per element
    of a feature map or result (16: the paper runs TensorRT in FP16).
    """

    providers: tuple[Provider, ...]
    requester_bandwidth: float
    overhead_s: float = 2e-3
    input_bits: int = 8
    feature_bits: int = 16
    name: str = "cluster"

    def __post_init__(self) -> None:
        if not self.providers:
            raise InputError(f"{self.name}: a cluster needs at least one provider")
        for k, provider in enumerate(self.providers):
            if not provider.bandwidth > 0:
                raise InputError(
                    f"{self.name}: providers[{k}].bandwidth must be > 0, got {provider.bandwidth}"
                )
        if not self.requester_bandwidth > 0:
            raise InputError(
                f"{self.name}: requester bandwidth must be > 0, got {self.requester_bandwidth}"
            )
        if self.overhead_s < 0:
            raise InputError(f"{self.name}: overhead must be >= 0 s, got {self.overhead_s}")

    @property
    def size(self) -> int:
        return len(self.providers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.providers)

    def with_bandwidths(self, bandwidths: tuple[float, ...]) -> Cluster:
        """The same cluster with new provider bandwidths (for the dynamic-network study)."""
        providers = tuple(
            Provider(p.name, p.device, b) for p, b in zip(self.providers, bandwidths, strict=True)
        )
        return Cluster(
            providers, self.requester_bandwidth, self.overhead_s, self.input_bits,
            self.feature_bits, self.name,
        )  # fmt: skip


# Tables I-III of seed 003: (device, bandwidth in Mbps or None for "given by the caller").
_GROUPS: dict[str, Sequence[tuple[str | None, float | None]]] = {
    "DA": [("tx2", None)] * 2 + [("nano", None)] * 2,
    "DB": [("xavier", None)] * 2 + [("nano", None)] * 2,
    "DC": [("xavier", None), ("tx2", None), ("nano", None), ("pi3", None)],
    "NA": [(None, 50.0)] * 2 + [(None, 200.0)] * 2,
    "NB": [(None, 100.0)] * 2 + [(None, 200.0)] * 2,
    "NC": [(None, 200.0)] * 2 + [(None, 300.0)] * 2,
    "ND": [(None, 50), (None, 100), (None, 200), (None, 300)],
    "LA": [("nano", 300), ("nano", 200), ("nano", 100), ("nano", 50)] * 4,
    "LB": [("pi3", 300), ("nano", 200), ("tx2", 100), ("xavier", 50)] * 4,
    "LC": [("pi3", 200), ("nano", 200), ("tx2", 200), ("xavier", 200)] * 4,
    "LD": [("pi3", 50), ("nano", 100), ("tx2", 200), ("xavier", 300)] * 4,
}


def group_names() -> list[str]:
    """The groups of Tables I (DA-DC), II (NA-ND) and III (LA-LD)."""
    return list(_GROUPS)


@validate_params(
    {
        "name": [InstanceOf(str)],
        "bandwidth": [Interval(float, None, None), None],
        "device": [InstanceOf(str), None],
        "requester_bandwidth": [Interval(float, None, None), None],
        "overhead_s": [Interval(float, None, None)],
    }
)
def group_cluster(
    name: str,
    *,
    bandwidth: float | None = None,
    device: str | None = None,
    requester_bandwidth: float | None = None,
    overhead_s: float = 2e-3,
) -> Cluster:
    """A group of the paper. DA-DC need ``bandwidth`` (bit/s), NA-ND need ``device``.

    The paper caps the providers' links at the router; the requester (a phone) is not said to
    be capped, so its link defaults to a practical 5 GHz WiFi throughput, 400 Mbps.

    >>> [p.name for p in group_cluster("DB", bandwidth=50e6).providers]
    ['xavier-1', 'xavier-2', 'nano-1', 'nano-2']
    """
    key = name.upper()
    if key not in _GROUPS:
        raise InputError(f"group {name!r} is not one of {', '.join(_GROUPS)}")
    rows = _GROUPS[key]
    if bandwidth is not None and all(b is not None for _, b in rows):
        raise InputError(f"group {key} sets its own bandwidths; a bandwidth does not apply")
    if device is not None and all(d is not None for d, _ in rows):
        raise InputError(f"group {key} sets its own device types; a device does not apply")
    if any(b is None for _, b in rows) and bandwidth is None:
        raise InputError(f"group {key} sets the device types; give a bandwidth (e.g. 50Mbps)")
    if any(d is None for d, _ in rows) and device is None:
        raise InputError(f"group {key} sets the bandwidths; give a device type (nano or xavier)")
    counts: dict[str, int] = {}
    providers = []
    for dev, mbps in rows:
        kind = dev if dev is not None else str(device)
        model = device_preset(kind)
        counts[model.name] = counts.get(model.name, 0) + 1
        bits = mbps * MBPS if mbps is not None else float(bandwidth or 0.0)
        providers.append(Provider(f"{model.name}-{counts[model.name]}", model, bits))
    return Cluster(
        tuple(providers),
        requester_bandwidth if requester_bandwidth is not None else REQUESTER_BANDWIDTH,
        overhead_s,
        name=key,
    )
