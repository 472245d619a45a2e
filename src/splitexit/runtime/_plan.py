"""What the runtime needs of an export, read in one place (the adapter to ``splitexit.export``).

The driver and the testbed see a ``ChainPlan``, never the export's ``Manifest``; when the
manifest's configuration type changes, only ``plan_of`` changes.

>>> plan = ChainPlan((PartitionPlan("p1.onnx", "ab", "edge", (1, 8, 8), 2),), (None,), "cloud")
>>> plan.tiers, plan.thresholds
(['edge'], (None,))
"""

from __future__ import annotations

from dataclasses import dataclass

from splitexit.export import Manifest

__all__ = ["ChainPlan", "PartitionPlan", "plan_of"]


@dataclass(frozen=True)
class PartitionPlan:
    """One exported partition: its file, hash, tier, per-sample input shape, last block."""

    file: str
    sha256: str
    tier: str
    input_shape: tuple[int, ...]
    last_block: int


@dataclass(frozen=True)
class ChainPlan:
    """The partitions in order, each one's exit threshold (None on the last), the destination."""

    partitions: tuple[PartitionPlan, ...]
    thresholds: tuple[float | None, ...]
    destination: str

    @property
    def tiers(self) -> list[str]:
        return [p.tier for p in self.partitions]


def plan_of(manifest: Manifest) -> ChainPlan:
    """The runtime's view of an exported manifest: the configuration's ``thresholds`` (one per
    partition but the last, checked when the manifest was built), then None for the last."""
    return ChainPlan(
        partitions=tuple(
            PartitionPlan(
                file=p.file,
                sha256=p.sha256,
                tier=p.tier,
                input_shape=tuple(int(d) for d in p.inputs[0].shape),
                last_block=int(p.last_block),
            )
            for p in manifest.partitions
        ),
        thresholds=(*manifest.thresholds, None),
        destination=manifest.destination,
    )
