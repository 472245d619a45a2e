"""The partition operator as one pipeline: cuts (given, or chosen for K pieces by size or
compute), pieces, ``onnx.checker``, the equivalence proof, then the folder written whole."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import onnx

from splitexit._validation import (
    InstanceOf,
    Interval,
    Options,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError, SplitexitError
from splitexit.operators._balance import node_seconds, prefix_seconds
from splitexit.operators._cuts import Cut, find_cuts
from splitexit.operators._graph import GraphInfo, analyse, random_inputs
from splitexit.operators._manifest import PieceEntry, PiecesManifest, sha256_file
from splitexit.operators._model import load_model
from splitexit.operators._output import write_folder
from splitexit.operators._pieces import Piece, build_pieces, chain_outputs, max_abs_diff, run_model

__all__ = ["EquivalenceError", "PartitionResult", "choose_cuts", "partition", "prove_equal"]

Criterion = Literal["size", "compute", "flops"]
CRITERIA: tuple[str, ...] = ("size", "compute", "flops")


class EquivalenceError(SplitexitError):
    """Chained pieces do not reproduce the whole model's outputs."""


@returned_type
@dataclass(frozen=True)
class PartitionResult:
    manifest: PiecesManifest
    pieces: tuple[Piece, ...]
    max_abs_diff: float
    output_scale: float
    samples: int


@validate_params(
    {
        "info": [InstanceOf(GraphInfo)],
        "pieces": [Interval(int, 1, None, closed="left")],
        "criterion": [Options(get_args(Criterion))],
    }
)
def choose_cuts(info: GraphInfo, pieces: int, criterion: Criterion) -> list[tuple[str, ...]]:
    """K - 1 offered cuts closest to equal shares of parameter bytes (``size``, the seed's
    rule), of measured ONNX Runtime kernel time (``compute``, one profiling run; see
    ``_balance``) or of estimated FLOPs (``flops``), in order.

    >>> choose_cuts(info, 2, "compute")  # doctest: +SKIP
    [('layer3.2.relu',)]
    """
    if pieces < 2:
        raise InputError(f"--pieces must be >= 2, got {pieces}")
    offered = find_cuts(info)
    if len(offered) < pieces - 1:
        raise InputError(
            f"{info.loaded.path}: only {len(offered)} cuts offered, cannot make {pieces} pieces"
        )

    if criterion not in CRITERIA:
        raise InputError(f"--criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    timed = prefix_seconds(info, node_seconds(info)) if criterion == "compute" else []

    def share(cut: Cut) -> float:
        if criterion == "size":
            total = cut.head_param_bytes + cut.tail_param_bytes
            return cut.head_param_bytes / total if total else 0.0
        if criterion == "compute":
            return timed[cut.position] / timed[-1] if timed[-1] else 0.0
        total_f = cut.head_flops + cut.tail_flops
        return cut.head_flops / total_f if total_f else 0.0

    chosen: list[tuple[str, ...]] = []
    start = 0
    for j in range(1, pieces):
        remaining = pieces - 1 - j  # cuts still to place after this one
        window = offered[start : len(offered) - remaining]
        best = min(range(len(window)), key=lambda i: (abs(share(window[i]) - j / pieces), i))
        chosen.append(window[best].tensors)
        start += best + 1
    return chosen


def prove_equal(
    info: GraphInfo, pieces: list[Piece], feeds_list: list[dict[str, np.ndarray]]
) -> tuple[float, float]:
    """Max abs difference between the chained pieces and the whole model, and output scale."""
    source = str(info.loaded.path)
    diff = scale = 0.0
    for feeds in feeds_list:
        whole = run_model(info.loaded.model, feeds, source=source)
        chained = chain_outputs([p.model for p in pieces], feeds, source=source)
        d, s = max_abs_diff(whole, chained)
        diff, scale = max(diff, d), max(scale, s)
    return diff, scale


@validate_params(
    {
        "model_path": [PathLike()],
        "out": [PathLike()],
        "cuts": [InstanceOf(list, tuple), None],
        "pieces": [Interval(int, 1, None, closed="left"), None],
        "criterion": [Options(get_args(Criterion))],
        "input_shapes": [InstanceOf(dict), None],
        "samples": [Interval(int, 1, None, closed="left")],
        "tolerance": [Interval(float, 0, None, closed="left")],
        "operators": [InstanceOf(tuple)],
    }
)
def partition(
    model_path: Path,
    out: Path,
    *,
    cuts: list[tuple[str, ...]] | None = None,
    pieces: int | None = None,
    criterion: Criterion = "size",
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    samples: int = 3,
    tolerance: float = 1e-5,
    operators: tuple[str, ...] = ("partition",),
) -> PartitionResult:
    """Split ``model_path`` and write ``out/piece-K.onnx`` plus ``out/pieces.json``.

    Raises :class:`EquivalenceError` (nothing written) when the chained pieces differ from
    the whole model by more than ``tolerance`` x max(1, output scale).

    >>> partition(Path("m.onnx"), Path("out"), pieces=2, criterion="compute")  # doctest: +SKIP
    """
    info = analyse(load_model(model_path, input_shapes))
    if (cuts is None) == (pieces is None):
        raise InputError("give either --cut (one or more) or --pieces K, not both and not neither")
    chosen = cuts if cuts is not None else choose_cuts(info, pieces or 2, criterion)
    built = build_pieces(info, chosen)
    for k, piece in enumerate(built):
        try:
            onnx.checker.check_model(piece.model)
        except Exception as exc:
            raise InputError(f"{model_path}: piece {k + 1} fails onnx.checker: {exc}") from None
    feeds = [random_inputs(info.loaded.inputs, seed) for seed in range(samples)]
    diff, scale = prove_equal(info, built, feeds)
    if not diff <= tolerance * max(1.0, scale):
        raise EquivalenceError(
            f"{model_path}: the chained pieces differ from the whole model by {diff:.3g} "
            f"(allowed {tolerance:g} x max(1, {scale:.3g})); nothing written"
        )
    manifest = _manifest(info, chosen, built, operators)
    files = {f"piece-{k + 1}.onnx": p.model.SerializeToString() for k, p in enumerate(built)}
    files["pieces.json"] = manifest.to_json().encode()
    write_folder(out, files)
    return PartitionResult(manifest, tuple(built), diff, scale, samples)


def _manifest(
    info: GraphInfo, cuts: list[tuple[str, ...]], built: list[Piece], operators: tuple[str, ...]
) -> PiecesManifest:
    entries = []
    for k, piece in enumerate(built):
        data = piece.model.SerializeToString()
        entries.append(
            PieceEntry(
                index=k + 1,
                file=f"piece-{k + 1}.onnx",
                sha256=hashlib.sha256(data).hexdigest(),
                inputs=piece.inputs,
                outputs=piece.outputs,
                param_bytes=sum(t.ByteSize() for t in piece.model.graph.initializer),
                flops=float(sum(info.flops[i] for i in piece.nodes)),
            )
        )
    ordered = sorted(cuts, key=lambda c: min(info.producer.get(t, -1) for t in c))
    return PiecesManifest(
        source=info.loaded.path.name,
        source_sha256=sha256_file(info.loaded.path),
        operators=operators,
        inputs=info.loaded.inputs,
        outputs=tuple(info.tensors[o] for o in info.outputs),
        cuts=tuple(tuple(c) for c in ordered),
        pieces=tuple(entries),
    )
