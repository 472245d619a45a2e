"""Export a multi-exit model's partitions to ONNX, one file per partition, with a manifest.

torch and onnx are imported inside :func:`export_partitions`, so that ``splitexit.export``
(the manifest and the runner) loads without them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from splitexit._boundary import atomic_write_bytes
from splitexit.errors import InputError
from splitexit.export._manifest import (
    INPUT,
    Manifest,
    PartitionEntry,
    TensorSpec,
    expected_outputs,
    save_manifest,
    sha256_of,
)

if TYPE_CHECKING:
    import torch

    from splitexit.nets import MultiExitNet

__all__ = ["MANIFEST_NAME", "OPSET", "export_partitions", "partition_file_name"]

MANIFEST_NAME = "manifest.json"
OPSET = 18  # the opset torch's exporter targets natively; onnxruntime >= 1.14 runs it


def partition_file_name(k: int) -> str:
    """File of partition ``k`` (1-based): ``partition-1.onnx``."""
    return f"partition-{k}.onnx"


def export_partitions(
    net: MultiExitNet,
    *,
    partition: Sequence[int],
    placement: Sequence[str],
    threshold: float | None,
    destination: str,
    model: str,
    dataset: str,
    input_shape: Sequence[int],
    out_dir: Path,
) -> Manifest:
    """Write one ONNX file per partition and ``manifest.json`` into ``out_dir``.

    ``partition`` holds 0-based last blocks (``Config.partition``), ``placement`` tier names
    (one per partition), ``input_shape`` one sample's shape (C, H, W). Each file is checked
    with ``onnx.checker`` before it is written; files and then the manifest are written
    atomically, so a reader never sees a manifest naming a half-written file.

    >>> from splitexit.nets import build_network  # doctest: +SKIP
    >>> net = build_network("resnet8", in_channels=1, num_classes=10, width=0.25)  # doctest: +SKIP
    >>> export_partitions(net, partition=[0, 3], placement=["edge", "cloud"], threshold=0.4,
    ...     destination="cloud", model="resnet8", dataset="digits", input_shape=(1, 8, 8),
    ...     out_dir=Path("out/export")).tiers  # doctest: +SKIP
    ('edge', 'cloud')
    """
    if len(placement) != len(partition):
        raise InputError(
            f"placement names {len(placement)} tiers, but the partition has {len(partition)} "
            "partitions; expected one tier per partition"
        )
    if len(partition) > 1 and threshold is None:
        raise InputError("a threshold is needed with more than one partition")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise InputError(f"threshold must be in (0, 1], got {threshold}")
    import torch

    from splitexit.export._pieces import partition_pieces

    pieces = partition_pieces(net, partition)
    shape = tuple(int(d) for d in input_shape)
    num_classes = _num_classes(net, shape)
    entries, first = [], 1
    x = torch.zeros((2, *shape))  # batch 2: a batch of 1 would be specialized away
    for k, piece in enumerate(pieces, start=1):
        last = k == len(pieces)
        with torch.no_grad():
            outputs = piece(x)
        data = _onnx_bytes(piece, x, expected_outputs(last))
        name = partition_file_name(k)
        atomic_write_bytes(out_dir / name, data)
        specs = tuple(
            TensorSpec(name=n, shape=tuple(int(d) for d in t.shape[1:]))
            for n, t in zip(expected_outputs(last), outputs, strict=True)
        )
        last_block = first + len(piece.blocks) - 1
        entries.append(
            PartitionEntry(
                index=k,
                tier=placement[k - 1],
                file=name,
                sha256=sha256_of(data),
                first_block=first,
                last_block=last_block,
                inputs=(TensorSpec(name=INPUT, shape=tuple(int(d) for d in x.shape[1:])),),
                outputs=specs,
            )
        )
        first = last_block + 1
        if not last:
            x = outputs[0]
    manifest = Manifest(
        model=model,
        dataset=dataset,
        num_classes=num_classes,
        threshold=None if len(pieces) == 1 else threshold,
        destination=destination,
        input_shape=shape,
        input_dtype="float32",
        opset=OPSET,
        partitions=tuple(entries),
    )
    save_manifest(manifest, out_dir / MANIFEST_NAME)
    return manifest


def _num_classes(net: MultiExitNet, shape: tuple[int, ...]) -> int:
    import torch

    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            return int(net(torch.zeros((1, *shape)))[0].shape[1])
    except RuntimeError as exc:
        reason = str(exc).splitlines()[0]
        raise InputError(f"input shape {list(shape)} does not fit the network ({reason})") from None
    finally:
        net.train(was_training)


def _onnx_bytes(piece: torch.nn.Module, example: torch.Tensor, outputs: Sequence[str]) -> bytes:
    """Export ``piece`` with a dynamic batch dimension; check the model; return its bytes."""
    import onnx
    import torch

    batch = torch.export.Dim("batch")
    with warnings.catch_warnings():
        # the exporter warns about its own internals (tree specs, torchvision ops absent)
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            piece,
            (example,),
            dynamo=True,
            input_names=[INPUT],
            output_names=list(outputs),
            dynamic_shapes=({0: batch},),
            opset_version=OPSET,
            external_data=False,
            verbose=False,
        )
    if program is None:  # only when f is given; kept for the type checker
        raise RuntimeError("torch.onnx.export returned no program")
    proto = program.model_proto
    onnx.checker.check_model(proto, full_check=True)
    data: bytes = proto.SerializeToString()
    return data
