"""The ``splitexit.manifest/1`` file: what was exported, where it runs, and how pieces chain.

Validated once here, at the boundary: the schema (pydantic), then the chain (partition k's
activation feeds partition k + 1), then every file's SHA-256. Inside, a :class:`Manifest`
is trusted. Blocks are 1-based in the file, as the paper numbers them; every tensor has a
leading dynamic batch dimension that the listed shapes leave out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError

from splitexit._boundary import (
    StrictModel,
    atomic_write_text,
    describe_validation_error,
    read_mapping,
)
from splitexit.errors import InputError

__all__ = [
    "ACTIVATION",
    "ENTROPY",
    "INPUT",
    "MANIFEST_FORMAT",
    "PROBABILITIES",
    "Manifest",
    "PartitionEntry",
    "TensorSpec",
    "expected_outputs",
    "load_manifest",
    "save_manifest",
    "sha256_of",
]

MANIFEST_FORMAT = "splitexit.manifest/1"
INPUT = "input"  # the image for partition 1, the previous partition's activation after
ACTIVATION = "activation"  # the output the next partition takes (absent on the last one)
PROBABILITIES = "probabilities"  # softmax of the exit head's logits, (C,)
ENTROPY = "entropy"  # H(p) / log C, a scalar per sample


@dataclass(frozen=True)
class TensorSpec:
    """A named tensor and its shape per sample (the batch dimension is left out)."""

    name: str
    shape: tuple[int, ...]

    def to_mapping(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape)}


@dataclass(frozen=True)
class PartitionEntry:
    """One exported partition: blocks ``first_block..last_block`` (1-based) plus its exit."""

    index: int  # 1-based, k
    tier: str
    file: str  # relative to the manifest's folder
    sha256: str
    first_block: int
    last_block: int
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def to_mapping(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "tier": self.tier,
            "file": self.file,
            "sha256": self.sha256,
            "first_block": self.first_block,
            "last_block": self.last_block,
            "inputs": [spec.to_mapping() for spec in self.inputs],
            "outputs": [spec.to_mapping() for spec in self.outputs],
        }


@dataclass(frozen=True)
class Manifest:
    """What ``export_partitions`` wrote: the deployment of one configuration (T, P, A).

    ``threshold`` is ``None`` for a single partition, whose exit takes every sample.
    """

    model: str
    dataset: str
    num_classes: int
    threshold: float | None
    destination: str
    input_shape: tuple[int, ...]
    input_dtype: str
    opset: int
    partitions: tuple[PartitionEntry, ...]

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tier of every partition, in order (A as names)."""
        return tuple(p.tier for p in self.partitions)

    def to_mapping(self) -> dict[str, Any]:
        return {
            "format": MANIFEST_FORMAT,
            "model": self.model,
            "dataset": self.dataset,
            "num_classes": self.num_classes,
            "threshold": self.threshold,
            "destination": self.destination,
            "input": {"shape": list(self.input_shape), "dtype": self.input_dtype},
            "opset": self.opset,
            "partitions": [p.to_mapping() for p in self.partitions],
        }


Dimension = Annotated[int, Field(ge=1)]


class _Tensor(StrictModel):
    name: str
    shape: list[Dimension]


class _Input(StrictModel):
    shape: list[Dimension] = Field(min_length=1)
    dtype: Literal["float32"]


class _Partition(StrictModel):
    index: int = Field(ge=1)
    tier: str = Field(min_length=1)
    file: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    first_block: int = Field(ge=1)
    last_block: int = Field(ge=1)
    inputs: list[_Tensor]
    outputs: list[_Tensor]


class _Manifest(StrictModel):
    format: Literal["splitexit.manifest/1"]
    model: str
    dataset: str
    num_classes: int = Field(ge=2)
    threshold: float | None = Field(gt=0.0, le=1.0)
    destination: str = Field(min_length=1)
    input: _Input
    opset: int = Field(ge=1)
    partitions: list[_Partition] = Field(min_length=1)


def save_manifest(manifest: Manifest, path: Path) -> None:
    """Write ``manifest`` as JSON, atomically."""
    atomic_write_text(path, json.dumps(manifest.to_mapping(), indent=1) + "\n")


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def load_manifest(path: Path, *, verify_files: bool = True) -> Manifest:
    """Read, validate and (with ``verify_files``) check the hash of every partition file.

    Any problem is an :class:`InputError` of one line naming the file, the field and what
    is wrong, e.g. ``out/manifest.json: partitions[1].sha256 does not match part-2.onnx``.
    """
    try:
        raw = _Manifest.model_validate(read_mapping(path, kind="manifest"))
    except ValidationError as exc:
        raise InputError(describe_validation_error(str(path), exc)) from None
    manifest = _from_schema(raw)
    _check_chain(manifest, path)
    if verify_files:
        for i, part in enumerate(manifest.partitions):
            _check_file(path, i, part)
    return manifest


def _from_schema(raw: _Manifest) -> Manifest:
    def tensors(items: list[_Tensor]) -> tuple[TensorSpec, ...]:
        return tuple(TensorSpec(name=t.name, shape=tuple(t.shape)) for t in items)

    return Manifest(
        model=raw.model,
        dataset=raw.dataset,
        num_classes=raw.num_classes,
        threshold=raw.threshold,
        destination=raw.destination,
        input_shape=tuple(raw.input.shape),
        input_dtype=raw.input.dtype,
        opset=raw.opset,
        partitions=tuple(
            PartitionEntry(
                index=p.index,
                tier=p.tier,
                file=p.file,
                sha256=p.sha256,
                first_block=p.first_block,
                last_block=p.last_block,
                inputs=tensors(p.inputs),
                outputs=tensors(p.outputs),
            )
            for p in raw.partitions
        ),
    )


def expected_outputs(last: bool) -> tuple[str, ...]:
    """Output names of a partition, in order."""
    return (PROBABILITIES, ENTROPY) if last else (ACTIVATION, PROBABILITIES, ENTROPY)


def _check_chain(manifest: Manifest, path: Path) -> None:
    """Indices, block ranges, tensor names and shapes must chain partition to partition."""
    previous_block, previous_shape = 0, manifest.input_shape
    source = "the manifest's input.shape"
    count = len(manifest.partitions)
    if count > 1 and manifest.threshold is None:
        raise InputError(f"{path}: threshold is needed with {count} partitions, got null")
    for i, part in enumerate(manifest.partitions):
        where = f"{path}: partitions[{i}]"
        if part.index != i + 1:
            raise InputError(f"{where}.index must be {i + 1}, got {part.index}")
        if part.first_block != previous_block + 1 or part.last_block < part.first_block:
            raise InputError(
                f"{where}: blocks {part.first_block}..{part.last_block} do not follow block "
                f"{previous_block}; expected first_block {previous_block + 1}"
            )
        if [t.name for t in part.inputs] != [INPUT]:
            raise InputError(f"{where}.inputs must be one tensor named {INPUT!r}")
        if part.inputs[0].shape != previous_shape:
            raise InputError(
                f"{where}.inputs[0].shape {list(part.inputs[0].shape)} does not chain: "
                f"{source} is {list(previous_shape)}"
            )
        names = expected_outputs(i == count - 1)
        if tuple(t.name for t in part.outputs) != names:
            raise InputError(f"{where}.outputs must be named {list(names)} in this order")
        outputs = {t.name: t.shape for t in part.outputs}
        if outputs[PROBABILITIES] != (manifest.num_classes,) or outputs[ENTROPY] != ():
            raise InputError(
                f"{where}.outputs: probabilities must have shape [{manifest.num_classes}] "
                "and entropy shape []"
            )
        previous_block = part.last_block
        previous_shape = outputs.get(ACTIVATION, ())
        source = f"partitions[{i}].outputs[0].shape"


def _check_file(path: Path, i: int, part: PartitionEntry) -> None:
    file = path.parent / part.file
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: partitions[{i}].file {part.file!r}: no such file") from None
    except OSError as exc:
        raise InputError(
            f"{path}: partitions[{i}].file {part.file!r}: cannot read ({exc})"
        ) from None
    digest = sha256_of(data)
    if digest != part.sha256:
        raise InputError(
            f"{path}: partitions[{i}].sha256 does not match {part.file!r} (the file hashes to "
            f"{digest[:12]}..., the manifest says {part.sha256[:12]}...)"
        )
