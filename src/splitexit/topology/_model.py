"""Tiers, links and the path costs between tiers (seed 000, section 2.1)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    Unit,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.units import parse_bandwidth, parse_duration

__all__ = ["Link", "Overheads", "Tier", "Topology"]

FloatArray = npt.NDArray[np.float64]


@validate_params(
    {
        "name": [InstanceOf(str)],
        "compute_ratio": [Interval(float, 0, None, closed="neither")],
    }
)
@dataclass(frozen=True)
class Tier:
    """A tier of devices; ``compute_ratio`` R_j = time here / time on the reference device."""

    name: str
    compute_ratio: float


@validate_params(
    {
        "bandwidth": [
            Unit(parse_bandwidth, "bandwidth", Interval(float, 0, None, closed="neither"))
        ],
        "latency": [Unit(parse_duration, "duration", Interval(float, 0, None))],
    }
)
@dataclass(frozen=True)
class Link:
    """The link between tier j and tier j+1: bandwidth BW_j (bit/s), propagation PL_j (s)."""

    bandwidth: float
    latency: float


@validate_params(
    {
        "per_message": [Unit(parse_duration, "duration", Interval(float, 0, None))],
        "per_hop": [Unit(parse_duration, "duration", Interval(float, 0, None))],
        "note": [InstanceOf(str)],
        "jitter_s": [InstanceOf(tuple)],
        "jitter_per_link_s": [InstanceOf(tuple)],
    }
)
@dataclass(frozen=True)
class Overheads:
    """What every message costs beyond the paper's PL + bits * IB, in seconds.

    ``per_message`` is paid once by every message the runtime sends (the input, each
    activation forwarded between partitions, the result), also by one that crosses no link;
    ``per_hop`` once per link the message crosses. A message from tier a to tier b costs
    ``per_message + per_hop * |a - b|`` on top of its transfer. Both default to 0 (the
    paper's model); fit them once per network (``splitexit fidelity-overheads``).

    ``jitter_s`` (optional, seconds): quantiles, at evenly spaced levels, of how a sample's
    latency varies around the model's with these overheads, centred (mean 0): a predicted
    latency distribution is the mixture of each sample's latency plus every value. It shapes
    the tail (p95, p99) only; the mean, and so the planner, is unchanged.
    ``jitter_per_link_s`` (optional, as many values, centred): what each link a sample's
    messages cross adds to it, level by level: a sample crossing h links varies by
    ``jitter_s[i] + h * jitter_per_link_s[i]`` (``fidelity._spread``).
    """

    per_message: float = 0.0
    per_hop: float = 0.0
    note: str = ""
    jitter_s: tuple[float, ...] = ()
    jitter_per_link_s: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("jitter_s", "jitter_per_link_s"):
            values = getattr(self, name)
            if not all(math.isfinite(v) and abs(v) <= 1e3 for v in values):
                raise InputError(
                    f"overheads.{name} must hold finite seconds within 1000 s, got "
                    f"{list(values)[:5]}..."
                )
        if self.jitter_per_link_s and len(self.jitter_per_link_s) != len(self.jitter_s):
            raise InputError(
                f"overheads.jitter_per_link_s must hold as many values as jitter_s "
                f"({len(self.jitter_s)}), got {len(self.jitter_per_link_s)}"
            )

    @property
    def is_zero(self) -> bool:
        return self.per_message == 0.0 and self.per_hop == 0.0


@validate_params(
    {
        "name": [InstanceOf(str)],
        "tiers": [InstanceOf(list, tuple)],
        "links": [InstanceOf(list, tuple)],
        "source": [Interval(int, 0, None)],
        "destination": [Interval(int, 0, None)],
        "overheads": [InstanceOf(Overheads)],
    }
)
@dataclass(frozen=True)
class Topology:
    """An M-tier chain, tiers ordered from the data source outward; ``links[j]`` joins
    ``tiers[j]`` and ``tiers[j+1]``. ``source`` and ``destination`` are 0-based tier indices.

    Build one with :func:`splitexit.load_topology` (files, presets) or
    :meth:`Topology.from_mapping`; both validate. The constructor trusts its arguments.

    >>> from splitexit import load_topology
    >>> mobile = load_topology("mobile")
    >>> round(mobile.transfer_s(1e6, 0, 2), 4)  # 1 Mbit over BLE then 4G
    2.146
    """

    name: str
    tiers: tuple[Tier, ...]
    links: tuple[Link, ...]
    source: int = 0
    destination: int = 0
    overheads: Overheads = field(default_factory=Overheads)
    # Path costs between every pair of tiers, derived once: PL[a, b] = sum of propagation
    # latencies, IB[a, b] = sum of 1/bandwidth over the links a transfer from a to b crosses.
    _path_latency: FloatArray = field(init=False, repr=False, compare=False)
    _path_inv_bandwidth: FloatArray = field(init=False, repr=False, compare=False)
    _path_message: FloatArray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        m = len(self.tiers)
        # prefix[j] = cost of crossing links 0..j-1; a path a -> b crosses links min..max-1.
        lat_prefix = np.concatenate([[0.0], np.cumsum([link.latency for link in self.links])])
        inv_prefix = np.concatenate(
            [[0.0], np.cumsum([1.0 / link.bandwidth for link in self.links])]
        )
        idx = np.arange(m)
        lo = np.minimum.outer(idx, idx)
        hi = np.maximum.outer(idx, idx)
        object.__setattr__(self, "_path_latency", lat_prefix[hi] - lat_prefix[lo])
        object.__setattr__(self, "_path_inv_bandwidth", inv_prefix[hi] - inv_prefix[lo])
        hops = (hi - lo).astype(np.float64)
        message = self.overheads.per_message + self.overheads.per_hop * hops
        object.__setattr__(self, "_path_message", message)

    @property
    def num_tiers(self) -> int:
        return len(self.tiers)

    @property
    def compute_ratios(self) -> FloatArray:
        """R_j for every tier, shape (M,)."""
        return np.array([tier.compute_ratio for tier in self.tiers], dtype=np.float64)

    @property
    def path_latency(self) -> FloatArray:
        """PL[a, b]: propagation latency of a transfer from tier a to tier b, shape (M, M)."""
        return self._path_latency

    @property
    def path_inverse_bandwidth(self) -> FloatArray:
        """IB[a, b]: seconds per bit of a transfer from tier a to tier b, shape (M, M)."""
        return self._path_inv_bandwidth

    @property
    def path_message(self) -> FloatArray:
        """MO[a, b]: the overhead of one message from tier a to tier b (``overheads``),
        shape (M, M); all zeros without an ``overheads`` section."""
        return self._path_message

    def message_s(self, a: int, b: int) -> float:
        """Overhead of one message from tier ``a`` to tier ``b`` (0 without ``overheads``)."""
        return float(self._path_message[a, b])

    def transfer_s(self, bits: float, a: int, b: int) -> float:
        """Time to move ``bits`` from tier ``a`` to tier ``b``: propagation plus transmission."""
        return float(self._path_latency[a, b] + bits * self._path_inv_bandwidth[a, b])

    def tier_index(self, name: str, *, field_name: str = "tier") -> int:
        """The 0-based index of the tier called ``name``."""
        for index, tier in enumerate(self.tiers):
            if tier.name == name:
                return index
        known = ", ".join(tier.name for tier in self.tiers)
        raise InputError(
            f"topology {self.name!r}: {field_name} {name!r} is not a tier; expected one of {known}"
        )

    def with_destination(self, name: str) -> Topology:
        """The same topology with results delivered to the tier called ``name``."""
        return replace(self, destination=self.tier_index(name, field_name="destination"))

    def to_mapping(self) -> dict[str, object]:
        """The topology as a topology file holds it (``from_mapping`` reads it back)."""
        data: dict[str, object] = {
            "name": self.name,
            "tiers": [{"name": t.name, "compute_ratio": t.compute_ratio} for t in self.tiers],
            "links": [
                {"bandwidth": f"{link.bandwidth!r}bps", "latency": f"{link.latency!r}s"}
                for link in self.links
            ],
            "source": self.tiers[self.source].name,
            "destination": self.tiers[self.destination].name,
        }
        if not self.overheads.is_zero or self.overheads.note or self.overheads.jitter_s:
            section: dict[str, object] = {
                "per_message": f"{self.overheads.per_message!r}s",
                "per_hop": f"{self.overheads.per_hop!r}s",
            }
            if self.overheads.note:
                section["note"] = self.overheads.note
            if self.overheads.jitter_s:
                section["jitter_s"] = [float(v) for v in self.overheads.jitter_s]
            if self.overheads.jitter_per_link_s:
                section["jitter_per_link_s"] = [float(v) for v in self.overheads.jitter_per_link_s]
            data["overheads"] = section
        return data

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "<topology>") -> Topology:
        """Validate a mapping shaped like a topology file and build the topology."""
        from splitexit.topology._schema import topology_from_mapping

        return topology_from_mapping(data, source=source)
