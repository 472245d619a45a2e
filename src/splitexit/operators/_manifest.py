"""The ``splitexit.pieces/1`` manifest: the files of a partition and how their tensors chain.

Each piece lists its input and output tensors (name, full shape with the batch dimension,
dtype) so that a runner can run any piece with any number of inputs and outputs: it keeps one
dictionary of tensors, feeds each piece what it lists, and stores what the piece returns.
Loading checks the schema, the chain (every input of a piece is a model input or an output of
an earlier piece; every model output comes from some piece) and every file's SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from splitexit._boundary import StrictModel, dump_json, read_mapping
from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._model import TensorInfo

__all__ = ["PIECES_FORMAT", "PieceEntry", "PiecesManifest", "load_pieces", "sha256_file"]

PIECES_FORMAT = "splitexit.pieces/1"


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes (the same digest as ``export``'s manifests)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@returned_type
@dataclass(frozen=True)
class PieceEntry:
    index: int  # 1-based
    file: str  # relative to the manifest's folder
    sha256: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    param_bytes: int
    flops: float

    def to_mapping(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "file": self.file,
            "sha256": self.sha256,
            "inputs": [t.to_mapping() for t in self.inputs],
            "outputs": [t.to_mapping() for t in self.outputs],
            "param_bytes": self.param_bytes,
            "flops": self.flops,
        }


@returned_type
@dataclass(frozen=True)
class PiecesManifest:
    """A partition of ``source`` into pieces, in order; cuts name the tensors between them."""

    source: str
    source_sha256: str
    operators: tuple[str, ...]  # e.g. ("early-exit", "partition", "quantize")
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    cuts: tuple[tuple[str, ...], ...]
    pieces: tuple[PieceEntry, ...]

    def to_mapping(self) -> dict[str, Any]:
        return {
            "format": PIECES_FORMAT,
            "source": {"file": self.source, "sha256": self.source_sha256},
            "operators": list(self.operators),
            "inputs": [t.to_mapping() for t in self.inputs],
            "outputs": [t.to_mapping() for t in self.outputs],
            "cuts": [list(c) for c in self.cuts],
            "pieces": [p.to_mapping() for p in self.pieces],
        }

    def to_json(self) -> str:
        return dump_json(self.to_mapping(), indent=1, where="pieces.json")


class _Tensor(StrictModel):
    name: str = Field(min_length=1)
    shape: list[Annotated[int, Field(ge=0)]]
    dtype: str = Field(min_length=1)


class _Piece(StrictModel):
    index: int = Field(ge=1)
    file: str = Field(min_length=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    inputs: list[_Tensor] = Field(min_length=1)
    outputs: list[_Tensor] = Field(min_length=1)
    param_bytes: int = Field(ge=0)
    flops: float = Field(ge=0)


class _Source(StrictModel):
    file: str
    sha256: str


class _Manifest(StrictModel):
    format: Literal["splitexit.pieces/1"]
    source: _Source
    operators: list[str]
    inputs: list[_Tensor] = Field(min_length=1)
    outputs: list[_Tensor] = Field(min_length=1)
    cuts: list[list[str]]
    pieces: list[_Piece] = Field(min_length=1)


def _tensors(items: list[_Tensor]) -> tuple[TensorInfo, ...]:
    return tuple(TensorInfo(t.name, tuple(t.shape), t.dtype) for t in items)


@validate_params({"path": [PathLike()], "verify_files": [InstanceOf(bool)]})
def load_pieces(path: Path, *, verify_files: bool = True) -> PiecesManifest:
    """Read and check a ``splitexit.pieces/1`` manifest; problems are one InputError line.

    >>> manifest = load_pieces(Path("out/pieces.json"))  # doctest: +SKIP
    """
    raw = _Manifest.parse(read_mapping(path, kind="pieces manifest"), source=str(path))
    manifest = PiecesManifest(
        source=raw.source.file,
        source_sha256=raw.source.sha256,
        operators=tuple(raw.operators),
        inputs=_tensors(raw.inputs),
        outputs=_tensors(raw.outputs),
        cuts=tuple(tuple(c) for c in raw.cuts),
        pieces=tuple(
            PieceEntry(
                index=p.index,
                file=p.file,
                sha256=p.sha256,
                inputs=_tensors(p.inputs),
                outputs=_tensors(p.outputs),
                param_bytes=p.param_bytes,
                flops=p.flops,
            )
            for p in raw.pieces
        ),
    )
    known = {t.name for t in manifest.inputs}
    for i, piece in enumerate(manifest.pieces):
        where = f"{path}: pieces[{i}]"
        if piece.index != i + 1:
            raise InputError(f"{where}.index must be {i + 1}, got {piece.index}")
        for t in piece.inputs:
            if t.name not in known:
                raise InputError(
                    f"{where}.inputs: {t.name!r} is neither a model input nor an "
                    "output of an earlier piece"
                )
        known.update(t.name for t in piece.outputs)
        file = _contained(path.parent, piece.file, f"{where}.file")
        if verify_files:
            if not file.is_file():
                raise InputError(f"{where}.file {piece.file!r}: no such file")
            if sha256_file(file) != piece.sha256:
                raise InputError(f"{where}.sha256 does not match {piece.file!r}")
    missing = [t.name for t in manifest.outputs if t.name not in known]
    if missing:
        raise InputError(f"{path}: no piece produces the model outputs {missing}")
    return manifest


def _contained(folder: Path, name: str, where: str) -> Path:
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
