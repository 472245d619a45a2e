"""What the runtime needs of an export, read in one place (the adapter to ``splitexit.export``).

The driver and the testbed see a ``ChainPlan``, never the export's ``Manifest``; when the
manifest's configuration type changes, only ``plan_of`` changes.

>>> plan = ChainPlan((PartitionPlan("p1.onnx", "ab", "edge", (1, 8, 8), 2),), (None,), "cloud")
>>> plan.tiers, plan.thresholds
(['edge'], (None,))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from splitexit._boundary import dump_json
from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.export import Manifest, PartitionEntry, TensorSpec

if TYPE_CHECKING:
    from splitexit.configuration import Configuration
    from splitexit.operators import PiecesExport, TensorInfo
    from splitexit.topology import Topology

__all__ = ["ChainPlan", "PartitionPlan", "export_pieces", "plan_of"]


@dataclass(frozen=True)
class PartitionPlan:
    """One exported partition: its file, hash, tier, per-sample input shape, last block."""

    file: str
    sha256: str
    tier: str
    input_shape: tuple[int, ...]
    last_block: int


@returned_type
@dataclass(frozen=True)
class ChainPlan:
    """The partitions in order, each one's exit threshold (None on the last), the destination."""

    partitions: tuple[PartitionPlan, ...]
    thresholds: tuple[float | None, ...]
    destination: str

    @property
    def tiers(self) -> list[str]:
        return [p.tier for p in self.partitions]


@validate_params({"manifest": [InstanceOf(Manifest)]})
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


@validate_params(
    {
        "export": [InstanceOf("splitexit.operators:PiecesExport")],
        "config": [InstanceOf("splitexit.configuration:Configuration")],
        "topology": [InstanceOf("splitexit.topology:Topology")],
        "out": [PathLike()],
    }
)
def export_pieces(
    export: PiecesExport, config: Configuration, topology: Topology, out: Path
) -> Manifest:
    """Write a configuration of a user's ONNX model: the pieces ``export_onnx_profile`` made
    for ``config.partition`` (``splitexit.operators``), their ``pieces.json`` and the
    runtime's ``manifest.json`` of kind ``pieces``, into ``out`` whole or not at all.

    >>> export = export_onnx_profile(profile, Path("p.json"), config.partition)  # doctest: +SKIP
    >>> export_pieces(export, config, topology, Path("out"))  # doctest: +SKIP
    """
    from splitexit.export import check_export_folder
    from splitexit.operators import write_folder

    if export.partition != config.partition:
        raise InputError(f"pieces of {export.partition} cannot deploy {config.partition}")
    check_export_folder(out)  # replaced whole below: never a folder of the user's

    def specs(items: tuple[TensorInfo, ...]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(name=t.name, shape=tuple(t.shape[1:])) for t in items)

    first = 0
    entries = []
    for k, (piece, last) in enumerate(zip(export.manifest.pieces, config.partition, strict=True)):
        entries.append(
            PartitionEntry(
                index=k + 1,
                tier=topology.tiers[config.placement[k]].name,
                file=piece.file,
                sha256=piece.sha256,
                first_block=first + 1,
                last_block=last + 1,
                inputs=specs(piece.inputs),
                outputs=specs(piece.outputs),
            )
        )
        first = last + 1
    manifest = Manifest(
        model=export.model,
        dataset=export.dataset,
        num_classes=export.num_classes,
        destination=topology.tiers[topology.destination].name,
        input_shape=tuple(export.input.shape[1:]),
        input_dtype="float32",
        opset=export.opset,
        partitions=tuple(entries),
        thresholds=config.thresholds,
        kind="pieces",
    )
    files = dict(export.files)
    files["manifest.json"] = dump_json(manifest.to_mapping(), indent=1).encode()
    write_folder(out, files)
    return manifest
