"""The ``splitexit.manifest/1`` file: what was exported, where it runs, and how pieces chain.

Validated once here, at the boundary: the schema (pydantic), then the chain (partition k's
activation feeds partition k + 1), then every file's SHA-256. Inside, a :class:`Manifest`
is trusted. Blocks are 1-based in the file, as the paper numbers them; every tensor has a
leading dynamic batch dimension that the listed shapes leave out.

The exit rule's thresholds are either one ``threshold`` T for every exit (the paper's) or
``thresholds``, one T_k per partition but the last (``splitexit plan --per-exit-thresholds``).
A file names one or the other (``threshold`` when every exit has the same T); files written
before per-exit thresholds existed always name ``threshold`` and still load unchanged.
Inside, a :class:`Manifest` holds one ``thresholds`` tuple, as a ``Configuration`` does.

``kind`` is ``exits`` (our models: blocks plus an exit head, the names above) or ``pieces``
(a user's ONNX model cut by ``splitexit.operators``: any named inputs and outputs, no exit
head, so the thresholds are never applied). Files without ``kind`` are ``exits``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from splitexit._boundary import (
    StrictModel,
    atomic_write_text,
    dump_json,
    read_mapping,
)
from splitexit._validation import (
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.configuration import Configuration, check_exit_thresholds
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.topology import Topology

__all__ = [
    "ACTIVATION",
    "ENTROPY",
    "INPUT",
    "MANIFEST_FORMAT",
    "PROBABILITIES",
    "Manifest",
    "PartitionEntry",
    "TensorSpec",
    "contained_file",
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


@returned_type
@dataclass(frozen=True)
class TensorSpec:
    """A named tensor and its shape per sample (the batch dimension is left out)."""

    name: str
    shape: tuple[int, ...]

    def to_mapping(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape)}


@returned_type
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


@returned_type
@dataclass(frozen=True)
class Manifest:
    """What ``export_partitions`` wrote: the deployment of one configuration (T, P, A).

    ``thresholds`` holds T_k of every partition but the last (all equal with one global T,
    empty for a single partition); :meth:`configuration` gives the (T, P, A) itself.
    """

    model: str
    dataset: str
    num_classes: int
    destination: str
    input_shape: tuple[int, ...]
    input_dtype: str
    opset: int
    partitions: tuple[PartitionEntry, ...]
    thresholds: tuple[float, ...] = ()
    kind: Literal["exits", "pieces"] = "exits"

    @property
    def tiers(self) -> tuple[str, ...]:
        """The tier of every partition, in order (A as names)."""
        return tuple(p.tier for p in self.partitions)

    @property
    def threshold(self) -> float | None:
        """The global T when every exit has the same threshold, else ``None``."""
        return self.thresholds[0] if len(set(self.thresholds)) == 1 else None

    def __post_init__(self) -> None:
        checked = check_exit_thresholds(self.thresholds, len(self.partitions))
        object.__setattr__(self, "thresholds", checked)

    def configuration(self, topology: Topology) -> Configuration:
        """The exported (T, P, A): 0-based last blocks, tiers indexed in ``topology``."""
        placement = tuple(
            topology.tier_index(p.tier, field_name="manifest placement") for p in self.partitions
        )
        partition = tuple(p.last_block - 1 for p in self.partitions)
        return Configuration(partition, placement, self.thresholds)

    def threshold_of(self, k: int) -> float | None:
        """The threshold of partition ``k`` (0-based): a sample leaves there when its
        normalized entropy is strictly below it (``configuration.leaves_here``). ``None``
        for the last partition, which takes every sample that reaches it.

        >>> manifest.threshold_of(0), manifest.threshold_of(2)  # doctest: +SKIP
        (0.4, None)
        """
        count = len(self.partitions)
        if not 0 <= k < count:
            raise IndexError(f"partition index k must be in 0..{count - 1}, got {k}")
        return None if k == count - 1 else self.thresholds[k]

    def to_mapping(self) -> dict[str, Any]:
        single = len(set(self.thresholds)) <= 1
        rule: dict[str, Any] = (
            {"threshold": self.threshold} if single else {"thresholds": list(self.thresholds)}
        )
        return {
            "format": MANIFEST_FORMAT,
            "model": self.model,
            "dataset": self.dataset,
            "num_classes": self.num_classes,
            **rule,
            "destination": self.destination,
            "input": {"shape": list(self.input_shape), "dtype": self.input_dtype},
            "opset": self.opset,
            "partitions": [p.to_mapping() for p in self.partitions],
            **({"kind": self.kind} if self.kind != "exits" else {}),
        }


Dimension = Annotated[int, Field(ge=1)]
Threshold = Annotated[float, Field(gt=0.0, le=1.0)]


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
    threshold: Threshold | None = None  # required unless ``thresholds`` is given
    thresholds: list[Threshold] | None = None
    destination: str = Field(min_length=1)
    input: _Input
    opset: int = Field(ge=1)
    partitions: list[_Partition] = Field(min_length=1)
    kind: Literal["exits", "pieces"] = "exits"


@validate_params(
    {
        "manifest": [InstanceOf(Manifest)],
        "path": [PathLike()],
    }
)
def save_manifest(manifest: Manifest, path: Path) -> None:
    """Write ``manifest`` as JSON, atomically."""
    atomic_write_text(path, dump_json(manifest.to_mapping(), indent=1, where=str(path)))


def sha256_of(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@validate_params(
    {
        "path": [PathLike()],
        "verify_files": [InstanceOf(bool)],
    }
)
def load_manifest(path: Path, *, verify_files: bool = True) -> Manifest:
    """Read, validate and (with ``verify_files``) check the hash of every partition file.

    Any problem is an :class:`InputError` of one line naming the file, the field and what
    is wrong, e.g. ``out/manifest.json: partitions[1].sha256 does not match part-2.onnx``.
    """
    raw = _Manifest.parse(read_mapping(path, kind="manifest"), source=str(path))
    _check_rule(raw, path)
    manifest = _from_schema(raw)
    _check_chain(manifest, path)
    for i, part in enumerate(manifest.partitions):
        contained_file(path.parent, part.file, f"{path}: partitions[{i}].file")
    tiers = [p.tier for p in manifest.partitions]
    if len(set(tiers)) != len(tiers):
        raise InputError(
            f"{path}: partitions[].tier must place each partition on its own tier, got {tiers}"
        )
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
        thresholds=_thresholds(raw),
        destination=raw.destination,
        input_shape=tuple(raw.input.shape),
        input_dtype=raw.input.dtype,
        opset=raw.opset,
        kind=raw.kind,
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


def _thresholds(raw: _Manifest) -> tuple[float, ...]:
    """One T_k per partition but the last, from ``thresholds`` or the global ``threshold``."""
    if raw.thresholds is not None:
        return tuple(raw.thresholds)
    count = len(raw.partitions)
    return () if raw.threshold is None else (raw.threshold,) * (count - 1)


def _check_rule(raw: _Manifest, path: Path) -> None:
    """One of ``threshold`` and ``thresholds``, the latter one per partition but the last."""
    count = len(raw.partitions)
    if raw.thresholds is not None and raw.threshold is not None:
        raise InputError(f"{path}: give threshold or thresholds, not both")
    if raw.thresholds is None and "threshold" not in raw.model_fields_set:
        raise InputError(f"{path}: threshold is required but missing")
    if count > 1 and raw.thresholds is None and raw.threshold is None:
        raise InputError(f"{path}: threshold is needed with {count} partitions, got null")
    if raw.thresholds is not None:
        check_exit_thresholds(raw.thresholds, count, where=f"{path}: thresholds")


def expected_outputs(last: bool) -> tuple[str, ...]:
    """Output names of a partition, in order."""
    return (PROBABILITIES, ENTROPY) if last else (ACTIVATION, PROBABILITIES, ENTROPY)


def _check_chain(manifest: Manifest, path: Path) -> None:
    """Indices, block ranges, tensor names and shapes must chain partition to partition."""
    previous_block, previous_shape = 0, manifest.input_shape
    source = "the manifest's input.shape"
    count = len(manifest.partitions)
    for i, part in enumerate(manifest.partitions):
        where = f"{path}: partitions[{i}]"
        if part.index != i + 1:
            raise InputError(f"{where}.index must be {i + 1}, got {part.index}")
        if part.first_block != previous_block + 1 or part.last_block < part.first_block:
            raise InputError(
                f"{where}: blocks {part.first_block}..{part.last_block} do not follow block "
                f"{previous_block}; expected first_block {previous_block + 1}"
            )
        if manifest.kind == "pieces":
            _check_piece(manifest, part, where, i)
            previous_block = part.last_block
            continue
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


def _check_piece(manifest: Manifest, part: PartitionEntry, where: str, i: int) -> None:
    """A piece reads and writes any named tensors; the first reads the one model input."""
    if not part.inputs or not part.outputs:
        raise InputError(f"{where}: a piece needs at least one input and one output")
    if i == 0 and (len(part.inputs) != 1 or part.inputs[0].shape != manifest.input_shape):
        raise InputError(
            f"{where}.inputs must be one tensor of the manifest's input.shape "
            f"{list(manifest.input_shape)}"
        )


def _check_file(path: Path, i: int, part: PartitionEntry) -> None:
    file = contained_file(path.parent, part.file, f"{path}: partitions[{i}].file")
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


def contained_file(folder: Path, name: str, where: str) -> Path:
    """``folder / name``, refused unless it stays inside ``folder``: a relative path without
    ``..`` whose real location (symlinks followed) is under the folder's real location."""
    parts = Path(name).parts
    if Path(name).is_absolute() or "\\" in name or ".." in parts or not parts:
        raise InputError(
            f"{where} {name!r}: must be a relative path inside the manifest's folder "
            f"(no '..', not absolute)"
        )
    file = folder / name
    if file.exists() and not file.resolve().is_relative_to(folder.resolve()):
        raise InputError(f"{where} {name!r}: is a link that leads outside the manifest's folder")
    return file
