"""The operators as pipelines over files: quantize a model or a partition's pieces, write an
early-exit variant, and the hybrids QE (early exit, then quantize) and QEP (early exit, then
partition, then quantize each piece on its predecessor's activations)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import onnx

from splitexit._boundary import atomic_write_bytes
from splitexit._validation import (
    InstanceOf,
    Interval,
    Options,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.operators._data import Samples, load_samples
from splitexit.operators._early_exit import Run, find_runs, skip_blocks
from splitexit.operators._graph import analyse, random_inputs
from splitexit.operators._manifest import PieceEntry, load_pieces
from splitexit.operators._model import TensorInfo, load_model
from splitexit.operators._output import write_folder
from splitexit.operators._partition import Criterion, partition
from splitexit.operators._pieces import run_model
from splitexit.operators._quantize import QuantReport, compare, quantize_bytes

__all__ = ["EarlyExitResult", "early_exit", "hybrid", "quantize", "quantize_pieces", "samples_for"]

COLLAPSE_AGREEMENT = 0.9  # below this top-1 agreement we say plainly that accuracy collapsed


def samples_for(
    inputs: tuple[TensorInfo, ...],
    data: Path | None,
    *,
    count: int = 64,
    mean: float = 0.0,
    std: float = 1.0,
) -> tuple[Samples, Samples]:
    """Calibration and held-out runs: the user's data split in half, else seeded random."""
    if data is None:
        samples = Samples([random_inputs(inputs, seed) for seed in range(count)], None)
    else:
        samples = load_samples(data, inputs, mean=mean, std=std, limit=count)
    if len(samples.feeds) < 2:
        raise InputError(f"{data}: needs at least 2 runs (calibration and held-out)")
    return samples.split(len(samples.feeds) // 2)


@validate_params(
    {
        "model_path": [PathLike()],
        "out": [PathLike()],
        "data": [PathLike(), None],
        "input_shapes": [InstanceOf(dict), None],
        "count": [Interval(int, 1, None, closed="left")],
        "per_channel": [InstanceOf(bool)],
        "runs": [Interval(int, 1, None, closed="left")],
        "mean": [Interval(float, None, None)],
        "std": [Interval(float, 0, None, closed="neither")],
        "held_out": [PathLike(), None],
        "threads": [Interval(int, 1, None, closed="left")],
    }
)
def quantize(
    model_path: Path,
    out: Path,
    *,
    data: Path | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    count: int = 64,
    per_channel: bool = True,
    runs: int = 20,
    mean: float = 0.0,
    std: float = 1.0,
    held_out: Path | None = None,
    threads: int = 1,
) -> QuantReport:
    """Static PTQ of one model file, written atomically to ``out``.

    Without ``held_out`` the first half of ``count`` runs from ``data`` calibrates and the
    second half is held out for the report; with it, ``count`` runs of ``data`` calibrate
    and every run of ``held_out`` (same format, ``labels`` optional) is held out.

    >>> quantize(Path("m.onnx"), Path("m.int8.onnx"), data=Path("calib.npz"))  # doctest: +SKIP
    """
    loaded = load_model(model_path, input_shapes)
    if held_out is None:
        calib, held = samples_for(loaded.inputs, data, count=count, mean=mean, std=std)
    else:
        if data is None:
            raise InputError(f"{held_out}: --held-out needs --data for calibration")
        calib = load_samples(data, loaded.inputs, mean=mean, std=std, limit=count)
        held = load_samples(held_out, loaded.inputs, mean=mean, std=std)
    variant, notes = quantize_bytes(
        loaded.model, calib.feeds, source=str(model_path), per_channel=per_channel
    )
    report = compare(
        loaded.model, variant, held, source=str(model_path), runs=runs, threads=threads,
        notes=notes,
    )  # fmt: skip
    atomic_write_bytes(out, variant)
    return report


@validate_params(
    {
        "folder": [PathLike()],
        "out": [PathLike()],
        "data": [PathLike(), None],
        "count": [Interval(int, 1, None, closed="left")],
        "per_channel": [InstanceOf(bool)],
        "mean": [Interval(float, None, None)],
        "std": [Interval(float, 0, None, closed="neither")],
    }
)
def quantize_pieces(
    folder: Path,
    out: Path,
    *,
    data: Path | None = None,
    count: int = 64,
    per_channel: bool = True,
    mean: float = 0.0,
    std: float = 1.0,
) -> list[tuple[str, int, int]]:
    """Quantize every piece of a partition folder, each calibrated on the activations its
    float predecessors produce; returns (file, float bytes, int8 bytes) per piece."""
    manifest = load_pieces(folder / "pieces.json")
    calib, _ = samples_for(manifest.inputs, data, count=count, mean=mean, std=std)
    tensors = [dict(f) for f in calib.feeds]
    files: dict[str, bytes] = {}
    entries, sizes = [], []
    for piece in manifest.pieces:
        model = onnx.load_model(str(folder / piece.file))
        names = {t.name for t in piece.inputs}
        feeds = [{k: v for k, v in t.items() if k in names} for t in tensors]
        variant, _ = quantize_bytes(
            model, feeds, source=str(folder / piece.file), per_channel=per_channel
        )
        for t in tensors:  # the float piece's activations calibrate its successors
            t.update(run_model(model, t, source=str(folder / piece.file)))
        files[piece.file] = variant
        sizes.append((piece.file, model.ByteSize(), len(variant)))
        entries.append(_rehash(piece, variant))
    from dataclasses import replace

    new = replace(manifest, operators=(*manifest.operators, "quantize"), pieces=tuple(entries))
    files["pieces.json"] = new.to_json().encode()
    write_folder(out, files)
    return sizes


def _rehash(piece: PieceEntry, data: bytes) -> PieceEntry:
    import hashlib
    from dataclasses import replace

    return replace(piece, sha256=hashlib.sha256(data).hexdigest())


@returned_type
@dataclass(frozen=True)
class EarlyExitResult:
    run: Run
    skipped: int
    report: QuantReport
    collapsed: bool


@validate_params(
    {
        "model_path": [PathLike()],
        "out": [PathLike()],
        "skip": [Interval(int, 1, None, closed="left")],
        "run_index": [Interval(int, 0, None, closed="left")],
        "data": [PathLike(), None],
        "input_shapes": [InstanceOf(dict), None],
        "count": [Interval(int, 1, None, closed="left")],
        "runs": [Interval(int, 1, None, closed="left")],
    }
)
def early_exit(
    model_path: Path,
    out: Path,
    *,
    skip: int = 2,
    run_index: int = 1,
    data: Path | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    count: int = 64,
    runs: int = 20,
) -> EarlyExitResult:
    """Write the variant of ``model_path`` without the last ``skip`` blocks of its
    ``run_index``-th run (1 = the longest), and compare it with the whole model."""
    loaded = load_model(model_path, input_shapes)
    info = analyse(loaded)
    found = find_runs(info)
    if not found:
        raise InputError(f"{model_path}: no run of identically structured sub-graphs found")
    if not 1 <= run_index <= len(found):
        raise InputError(f"--run must be in 1..{len(found)}, got {run_index}")
    run = found[run_index - 1]
    variant = skip_blocks(info, run, skip)
    onnx.checker.check_model(variant)
    _, held = samples_for(loaded.inputs, data, count=count)
    data_bytes = variant.SerializeToString()
    report = compare(loaded.model, data_bytes, held, source=str(model_path), runs=runs)
    atomic_write_bytes(out, data_bytes)
    return EarlyExitResult(run, skip, report, _collapsed(report))


def _collapsed(report: QuantReport) -> bool:
    a = report.agreement
    if a.accuracy_float is not None and a.accuracy_variant is not None:
        return a.accuracy_float - a.accuracy_variant > 0.05
    return a.top1_agreement is not None and a.top1_agreement < COLLAPSE_AGREEMENT


@validate_params(
    {
        "kind": [Options(("qe", "qep"))],
        "model_path": [PathLike()],
        "out": [PathLike()],
        "skip": [Interval(int, 1, None, closed="left")],
        "data": [PathLike(), None],
        "input_shapes": [InstanceOf(dict), None],
        "pieces": [Interval(int, 1, None, closed="left")],
        "criterion": [Options(get_args(Criterion))],
        "count": [Interval(int, 1, None, closed="left")],
        "runs": [Interval(int, 1, None, closed="left")],
    }
)
def hybrid(
    kind: Literal["qe", "qep"],
    model_path: Path,
    out: Path,
    *,
    skip: int = 2,
    data: Path | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    pieces: int = 2,
    criterion: Criterion = "size",
    count: int = 64,
    runs: int = 20,
) -> tuple[EarlyExitResult, QuantReport | list[tuple[str, int, int]]]:
    """QE: early exit then quantize (``out`` is a file). QEP: early exit, partition into
    ``pieces``, quantize each piece (``out`` is a folder with ``pieces.json``)."""
    with tempfile.TemporaryDirectory(prefix="splitexit-hybrid-") as tmp:
        exited = Path(tmp, model_path.stem + ".exit.onnx")
        result = early_exit(
            model_path,
            exited,
            skip=skip,
            data=data,
            input_shapes=input_shapes,
            count=count,
            runs=runs,
        )
        if kind == "qe":
            return result, quantize(
                exited, out, data=data, input_shapes=input_shapes, count=count, runs=runs
            )
        parts = Path(tmp, "pieces")
        partition(
            exited,
            parts,
            pieces=pieces,
            criterion=criterion,
            input_shapes=input_shapes,
            operators=("early-exit", "partition"),
        )
        return result, quantize_pieces(parts, out, data=data, count=count)
