"""The topology file format (YAML), validated once here at the boundary."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BeforeValidator, model_validator

from splitexit._boundary import (
    StrictModel,
    bandwidth_field,
    duration_field,
)
from splitexit.topology._model import Link, Overheads, Tier, Topology

__all__ = ["topology_from_mapping"]


MAX_RATIO = 1e6
"""compute_ratio lies in [1/MAX_RATIO, MAX_RATIO]: beyond, latencies overflow to inf/nan."""
MIN_BANDWIDTH, MAX_BANDWIDTH = 1.0, 1e15  # bit/s
MAX_LATENCY = 1e6  # s
MAX_OVERHEAD = 1e3  # s, per message or per hop


def _ratio(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, got {value!r}")
    if not value > 0 or value == float("inf"):
        raise ValueError(f"must be a finite number > 0, got {value!r}")
    if not 1 / MAX_RATIO <= value <= MAX_RATIO:
        raise ValueError(f"must be in [{1 / MAX_RATIO:g}, {MAX_RATIO:g}], got {value!r}")
    return float(value)


def _bandwidth(value: Any) -> float:
    bits_per_s = bandwidth_field(value)
    if not MIN_BANDWIDTH <= bits_per_s <= MAX_BANDWIDTH:
        raise ValueError(f"must be in [1bps, 1Pbps], got {value!r}")
    return bits_per_s


def _latency(value: Any) -> float:
    seconds = duration_field(value)
    if not seconds <= MAX_LATENCY:
        raise ValueError(f"must be at most {MAX_LATENCY:g} s, got {value!r}")
    return seconds


def _overhead(value: Any) -> float:
    seconds = duration_field(value)
    if not seconds <= MAX_OVERHEAD:
        raise ValueError(f"must be at most {MAX_OVERHEAD:g} s, got {value!r}")
    return seconds


def _jitter(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or abs(value) > MAX_OVERHEAD:
        raise ValueError(f"must be finite and within {MAX_OVERHEAD:g} s, got {value!r}")
    return float(value)


class _OverheadsSpec(StrictModel):
    per_message: Annotated[float, BeforeValidator(_overhead)] = 0.0
    per_hop: Annotated[float, BeforeValidator(_overhead)] = 0.0
    note: str = ""
    # centred quantiles (s) of a sample's variation around the model (fidelity-overheads)
    jitter_s: tuple[Annotated[float, BeforeValidator(_jitter)], ...] = ()
    # centred quantiles (s) each link crossed adds (fidelity-overheads; as many as jitter_s)
    jitter_per_link_s: tuple[Annotated[float, BeforeValidator(_jitter)], ...] = ()

    @model_validator(mode="after")
    def _same_levels(self) -> _OverheadsSpec:
        if self.jitter_per_link_s and len(self.jitter_per_link_s) != len(self.jitter_s):
            raise ValueError(
                f"jitter_per_link_s must hold as many values as jitter_s ({len(self.jitter_s)})"
                f", got {len(self.jitter_per_link_s)}"
            )
        return self


class _TierSpec(StrictModel):
    name: str
    compute_ratio: Annotated[float, BeforeValidator(_ratio)]


class _LinkSpec(StrictModel):
    bandwidth: Annotated[float, BeforeValidator(_bandwidth)]
    latency: Annotated[float, BeforeValidator(_latency)]


class _TopologySpec(StrictModel):
    name: str = "topology"
    description: str = ""
    tiers: list[_TierSpec]
    links: list[_LinkSpec]
    source: str | None = None
    destination: str | None = None
    overheads: _OverheadsSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _TopologySpec:
        if not self.tiers:
            raise ValueError("tiers must list at least one tier")
        names = [tier.name for tier in self.tiers]
        for index, name in enumerate(names):
            if not name.strip():
                raise ValueError(f"tiers[{index}].name must not be empty")
            if names.index(name) != index:
                raise ValueError(
                    f"tiers[{index}].name {name!r} is used twice; names must be unique"
                )
        if len(self.links) != len(self.tiers) - 1:
            raise ValueError(
                f"links has {len(self.links)} entries but {len(self.tiers)} tiers need "
                f"{len(self.tiers) - 1} (links[j] joins tiers[j] and tiers[j+1])"
            )
        for key in ("source", "destination"):
            value = getattr(self, key)
            if value is not None and value not in names:
                raise ValueError(
                    f"{key} {value!r} is not a tier; expected one of {', '.join(names)}"
                )
        return self


def topology_from_mapping(data: object, *, source: str) -> Topology:
    """Validate ``data`` (a parsed topology file) and build a :class:`Topology`."""
    spec = _TopologySpec.parse(data, source=source)
    names = [tier.name for tier in spec.tiers]
    src = names.index(spec.source) if spec.source is not None else 0
    dst = names.index(spec.destination) if spec.destination is not None else src
    return Topology(
        name=spec.name,
        tiers=tuple(Tier(t.name, t.compute_ratio) for t in spec.tiers),
        links=tuple(Link(link.bandwidth, link.latency) for link in spec.links),
        source=src,
        destination=dst,
        overheads=(
            Overheads(
                spec.overheads.per_message,
                spec.overheads.per_hop,
                spec.overheads.note,
                tuple(spec.overheads.jitter_s),
                tuple(spec.overheads.jitter_per_link_s),
            )
            if spec.overheads is not None
            else Overheads()
        ),
    )
