"""Export a multi-exit model's partitions to ONNX, one file per partition, with a manifest.

torch and onnx are imported inside :func:`export_partitions`, so that ``splitexit.export``
(the manifest and the runner) loads without them.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from splitexit._boundary import atomic_write_bytes
from splitexit._transaction import Outputs
from splitexit._validation import (
    InstanceOf,
    Interval,
    PathLike,
    validate_params,
)
from splitexit.configuration import check_exit_thresholds
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


@validate_params(
    {
        "k": [Interval(int, 1, None)],
    }
)
def partition_file_name(k: int) -> str:
    """File of partition ``k`` (1-based): ``partition-1.onnx``."""
    return f"partition-{k}.onnx"


@validate_params(
    {
        "net": [InstanceOf("splitexit.nets:MultiExitNet")],
        "partition": [InstanceOf(list, tuple)],
        "placement": [InstanceOf(list, tuple)],
        "threshold": [Interval(float, 0, 1, closed="right"), InstanceOf(list, tuple), None],
        "destination": [InstanceOf(str)],
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "input_shape": [InstanceOf(list, tuple)],
        "out_dir": [PathLike()],
    }
)
def export_partitions(
    net: MultiExitNet,
    *,
    partition: Sequence[int],
    placement: Sequence[str],
    threshold: float | Sequence[float] | None,
    destination: str,
    model: str,
    dataset: str,
    input_shape: Sequence[int],
    out_dir: Path,
) -> Manifest:
    """Write one ONNX file per partition and ``manifest.json`` into ``out_dir``.

    ``partition`` holds 0-based last blocks (``Configuration.partition``), ``placement`` tier names
    (one per partition), ``threshold`` one T for every exit or one T_k per partition but the
    last (the manifest's ``thresholds``), ``input_shape`` one sample's shape (C, H, W).
    Each file is checked
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
    thresholds = _exit_rule(threshold, len(partition))
    if len(set(placement)) != len(placement):
        raise InputError(
            f"placement must put each partition on its own tier, got {list(placement)}"
        )
    with staged_folder(Path(out_dir)) as stage:
        return _write_partitions(
            net, partition, placement, thresholds, destination, model, dataset, input_shape, stage
        )


@validate_params({"out": [PathLike()], "option": [InstanceOf(str), None]})
def check_export_folder(out: Path | str, option: str | None = None) -> None:
    """Refuse ``out`` unless it is new, empty or an earlier export (it holds manifest.json):
    an export replaces the folder whole, so a folder of the user's is never taken.

    >>> check_export_folder(Path("out/new-export"))
    """
    out = Path(out)
    where = f"{option} {out}" if option else str(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{where}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise InputError(
            f"{where}: a non-empty folder that is not an export (no {MANIFEST_NAME}); "
            "give a new or empty folder"
        )


@contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A new sibling folder to write into; on success it replaces ``out`` (the previous export
    moved aside, then removed), on failure it is removed and ``out`` is untouched. At every
    moment the old or the new export is whole on disk. A non-empty ``out`` that is not an
    export (no manifest.json) is refused, never replaced."""
    check_export_folder(out)
    with Outputs() as outputs:
        yield outputs.folder(out)


def _write_partitions(
    net: MultiExitNet,
    partition: Sequence[int],
    placement: Sequence[str],
    thresholds: tuple[float, ...],
    destination: str,
    model: str,
    dataset: str,
    input_shape: Sequence[int],
    out_dir: Path,
) -> Manifest:
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
        thresholds=thresholds,
        destination=destination,
        input_shape=shape,
        input_dtype="float32",
        opset=OPSET,
        partitions=tuple(entries),
    )
    save_manifest(manifest, out_dir / MANIFEST_NAME)
    return manifest


def _exit_rule(threshold: float | Sequence[float] | None, count: int) -> tuple[float, ...]:
    """The manifest's thresholds for ``count`` partitions: one T for every exit, or one T_k
    per partition but the last; checked."""
    if threshold is None:
        if count > 1:
            raise InputError("a threshold is needed with more than one partition")
        return ()
    if isinstance(threshold, int | float):
        check_exit_thresholds([threshold], 2, where="threshold")
        return (float(threshold),) * (count - 1)
    return check_exit_thresholds(tuple(threshold), count, where="threshold")


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
    # the exporter warns about its own internals (tree specs), and logs that torchvision's
    # operators are absent, which no partition uses
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
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
    finally:
        registration.setLevel(level)
    if program is None:  # only when f is given; kept for the type checker
        raise RuntimeError("torch.onnx.export returned no program")
    proto = program.model_proto
    onnx.checker.check_model(proto, full_check=True)
    data: bytes = proto.SerializeToString()
    return data
