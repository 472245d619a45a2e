"""Export and samples of a profile made by ``profile_onnx``: the pieces of a partitioning
with the operators' ``pieces.json`` (the runtime adds its ``manifest.json``, kind ``pieces``:
``splitexit.runtime.export_pieces``).

The partition boundaries are the profile's cuts after each partition's last block; the
pieces are proven equal to the whole model before anything is returned.

>>> export = export_onnx_profile(profile, Path("p.json"), (2, 5))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnx

from splitexit._validation import InstanceOf, Interval, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._data import load_samples
from splitexit.operators._graph import analyse, random_inputs
from splitexit.operators._manifest import PiecesManifest, sha256_file
from splitexit.operators._model import LoadedModel, TensorInfo, load_model
from splitexit.operators._partition import EquivalenceError, _manifest, prove_equal
from splitexit.operators._pieces import build_pieces
from splitexit.operators._profile import top1

if TYPE_CHECKING:
    from splitexit.profile import Profile

__all__ = ["PiecesExport", "export_onnx_profile", "onnx_profile_samples", "source_model"]


@validate_params(
    {"profile": [InstanceOf("splitexit.profile:Profile")], "profile_file": [PathLike()]}
)
def source_model(profile: Profile, profile_file: Path) -> LoadedModel:
    """The profile's ONNX model, loaded at its shapes; its SHA-256 must be the profile's."""
    source = profile.onnx
    if source is None:
        raise InputError(f"{profile_file}: not a profile of an ONNX model (no 'onnx' field)")
    path = profile_file.parent / source.path
    if not path.is_file():
        raise InputError(f"{profile_file}: onnx.path {source.path!r}: no such file")
    if sha256_file(path) != source.sha256:
        raise InputError(
            f"{profile_file}: onnx.sha256 does not match {path} (the model changed since "
            "it was profiled)"
        )
    return load_model(path, source.input_shapes)


@returned_type
@dataclass(frozen=True)
class PiecesExport:
    """The files of an export (``piece-K.onnx``, ``pieces.json``), not yet written, with what
    the runtime's manifest needs: the pieces, the model's input and opset."""

    files: dict[str, bytes]
    manifest: PiecesManifest
    input: TensorInfo
    opset: int
    model: str  # the profile's model, dataset and classes, for the runtime's manifest
    dataset: str
    num_classes: int
    partition: tuple[int, ...]  # 0-based last blocks, as given


@validate_params(
    {
        "profile": [InstanceOf("splitexit.profile:Profile")],
        "profile_file": [PathLike()],
        "partition": [InstanceOf(list, tuple)],
        "tolerance": [Interval(float, 0, None, closed="left")],
    }
)
def export_onnx_profile(
    profile: Profile,
    profile_file: Path,
    partition: Sequence[int],
    *,
    tolerance: float = 1e-5,
) -> PiecesExport:
    """The pieces of a partitioning (0-based last blocks, as in a ``Configuration``), proven
    equal to the whole model on seeded inputs; ``write_folder`` writes them whole."""
    loaded = source_model(profile, profile_file)
    assert profile.onnx is not None
    if len(loaded.inputs) != 1 or loaded.inputs[0].dtype != "float32":
        raise InputError(
            f"{profile_file}: the runtime streams one float32 input tensor, the model has "
            f"{[(t.name, t.dtype) for t in loaded.inputs]}"
        )
    last = profile.num_blocks - 1
    if not partition or partition[-1] != last or list(partition) != sorted(set(partition)):
        raise InputError(
            f"{profile_file}: the model has one exit, after block {last + 1}; a partitioning "
            f"must be increasing and end there, got P={[b + 1 for b in partition]}"
        )
    info = analyse(loaded)
    cuts = [profile.onnx.cuts[b] for b in partition[:-1]]
    built = build_pieces(info, cuts)
    for k, piece in enumerate(built):
        try:
            onnx.checker.check_model(piece.model)
        except Exception as exc:
            raise InputError(f"{loaded.path}: piece {k + 1} fails onnx.checker: {exc}") from None
    diff, scale = prove_equal(info, built, [random_inputs(loaded.inputs, s) for s in range(2)])
    if not diff <= tolerance * max(1.0, scale):
        raise EquivalenceError(
            f"{loaded.path}: the chained pieces differ from the whole model by {diff:.3g}; "
            "nothing written"
        )
    manifest = _manifest(info, cuts, built, ("partition",))
    files = {f"piece-{k + 1}.onnx": p.model.SerializeToString() for k, p in enumerate(built)}
    files["pieces.json"] = manifest.to_json().encode()
    opset = max(o.version for o in loaded.model.opset_import if o.domain in ("", "ai.onnx"))
    return PiecesExport(
        files, manifest, loaded.inputs[0], opset, profile.model, profile.dataset,
        profile.num_classes, tuple(partition),
    )  # fmt: skip


@validate_params(
    {
        "profile": [InstanceOf("splitexit.profile:Profile")],
        "profile_file": [PathLike()],
        "limit": [Interval(int, 1, None, closed="left"), None],
    }
)
def onnx_profile_samples(
    profile: Profile, profile_file: Path, *, limit: int | None = None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The profile's samples as (images without batch axis, labels) for the testbed; without
    labels in the data, the whole model's own top-1 stands in (accuracy = agreement)."""
    loaded = source_model(profile, profile_file)
    assert profile.onnx is not None
    if profile.onnx.data is None:
        raise InputError(f"{profile_file}: onnx.data names no sample file")
    samples = load_samples(profile_file.parent / profile.onnx.data, loaded.inputs, limit=limit)
    name = loaded.inputs[0].name
    images = np.stack([feed[name][0] for feed in samples.feeds]).astype(np.float32)
    labels = samples.labels.reshape(-1) if samples.labels is not None else top1(loaded, samples)
    return images, labels[: len(images)].astype(np.int64)
