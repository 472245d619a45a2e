"""The operators' variants of one ONNX subject, as folders of pieces the runtime deploys.

I is the file itself; Q static PTQ calibrated on the study's samples; E skips the last
``skip`` blocks of the longest run of identical sub-graphs; QE quantizes E; P cuts the model
in two at the ``compute`` balance; QEP cuts E in two and quantizes each piece on its float
predecessor's activations. Every variant is a folder with ``piece-K.onnx`` files.

>>> variants = build_variants(Path("m.onnx"), Path("work"), samples)  # doctest: +SKIP
>>> variants["P"].pieces[1].inputs[0].shape  # doctest: +SKIP
(1, 32, 8, 8)
"""

from __future__ import annotations

import hashlib
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from splitexit.errors import InputError
from splitexit.operators import (
    Samples,
    TensorInfo,
    analyse,
    find_runs,
    load_model,
    load_pieces,
    partition,
    quantize_bytes,
    quantize_pieces,
    skip_blocks,
)

__all__ = [
    "Variant",
    "VariantPiece",
    "build_variants",
    "piece_compute_s",
    "time_pieces",
    "time_variants",
    "variant_predictions",
]


@dataclass(frozen=True)
class VariantPiece:
    file: Path
    sha256: str
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]


@dataclass(frozen=True)
class Variant:
    """One operator applied to one subject: its pieces in order (one for whole models)."""

    operator: str
    pieces: tuple[VariantPiece, ...]
    output: str | None = None  # the model's first output; None: the last piece's first

    def predict(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        """The variant's first output for one feed, chaining its pieces (ONNX Runtime); a
        cut can reorder the last piece's outputs, so ``output`` names it when set."""
        tensors = dict(feed)
        out: list[np.ndarray] = []
        for piece in self.pieces:
            session = _session(piece.file)
            names = [t.name for t in piece.outputs]
            out = session.run(names, {t.name: tensors[t.name] for t in piece.inputs})
            tensors.update(zip(names, out, strict=True))
        return tensors[self.output] if self.output is not None else out[0]


_SESSIONS: dict[Path, Any] = {}


def _session(path: Path) -> Any:
    import onnxruntime as ort  # type: ignore[import-untyped]

    if path not in _SESSIONS:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        _SESSIONS[path] = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    return _SESSIONS[path]


def _whole(operator: str, path: Path, data: bytes) -> Variant:
    path.write_bytes(data)
    loaded = load_model(path)
    outputs = tuple(
        TensorInfo(o.name, tuple(d.dim_value for d in o.type.tensor_type.shape.dim), "float32")
        for o in loaded.model.graph.output
    )
    piece = VariantPiece(path, hashlib.sha256(data).hexdigest(), loaded.inputs, outputs)
    return Variant(operator, (piece,))


def _folder(operator: str, folder: Path) -> Variant:
    manifest = load_pieces(folder / "pieces.json")
    pieces = tuple(
        VariantPiece(folder / p.file, p.sha256, p.inputs, p.outputs) for p in manifest.pieces
    )
    return Variant(operator, pieces)


def build_variants(
    model: Path, work: Path, calibration: Samples, operators: tuple[str, ...], *, skip: int = 2
) -> dict[str, Variant]:
    """Write the variants of ``model`` for ``operators`` under ``work`` (created)."""
    work.mkdir(parents=True, exist_ok=True)
    loaded = load_model(model)
    feeds = calibration.feeds
    out: dict[str, Variant] = {}
    if "I" in operators:
        out["I"] = _whole("I", work / "I.onnx", loaded.model.SerializeToString())
    if "Q" in operators:
        q, _ = quantize_bytes(loaded.model, feeds, source=str(model))
        out["Q"] = _whole("Q", work / "Q.onnx", q)
    if {"E", "QE", "QEP"} & set(operators):
        info = analyse(loaded)
        runs = find_runs(info)
        if not runs:
            raise InputError(f"{model}: no run of identical sub-graphs for early exit (E)")
        exited = skip_blocks(info, runs[0], min(skip, runs[0].count - 1))
        onnx.checker.check_model(exited)
        e_bytes = exited.SerializeToString()
        e_var = _whole("E", work / "E.onnx", e_bytes)
        if "E" in operators:
            out["E"] = e_var
        if "QE" in operators:
            qe, _ = quantize_bytes(exited, feeds, source=f"{model} (E)")
            out["QE"] = _whole("QE", work / "QE.onnx", qe)
        if "QEP" in operators:
            partition(work / "E.onnx", work / "EP", pieces=2, criterion="compute")
            calib = work / "calibration.npz"
            arrays: dict[str, Any] = {k: np.concatenate([f[k] for f in feeds]) for k in feeds[0]}
            np.savez(calib, **arrays)
            quantize_pieces(work / "EP", work / "QEP", data=calib, count=len(feeds))
            out["QEP"] = _folder("QEP", work / "QEP")
    if "P" in operators:
        partition(model, work / "P", pieces=2, criterion="compute")
        out["P"] = _folder("P", work / "P")
    return out


def time_pieces(
    variant: Variant, feed: dict[str, np.ndarray], *, runs: int = 50
) -> list[tuple[float, float]]:
    """Each piece's (median, p99) seconds on ONNX Runtime, one thread, on this machine."""
    return time_variants({"v": variant}, feed, runs=runs)["v"]


def time_variants(
    variants: dict[str, Variant], feed: dict[str, np.ndarray], *, runs: int = 200, warmup: int = 20
) -> dict[str, list[tuple[float, float]]]:
    """Each variant's pieces timed **interleaved**: round ``r`` runs every piece of every
    variant once, so all medians see the same states of a shared machine (timed one variant
    after the other, a variant timed during a busy second came out up to 1.4x slower than its
    neighbours, and its compute is multiplied by the tier's ratio). (median, p99) seconds
    per piece, ONNX Runtime, one thread, ``warmup`` rounds dropped."""
    plans: list[tuple[str, int, Any, list[str], dict[str, np.ndarray]]] = []
    for name, variant in variants.items():
        tensors = dict(feed)
        for k, piece in enumerate(variant.pieces):
            session = _session(piece.file)
            names = [t.name for t in piece.outputs]
            piece_feed = {t.name: tensors[t.name] for t in piece.inputs}
            tensors.update(zip(names, session.run(names, piece_feed), strict=True))
            plans.append((name, k, session, names, piece_feed))
    times: dict[tuple[str, int], list[float]] = {(n, k): [] for n, k, *_ in plans}
    for r in range(runs + warmup):
        for name, k, session, names, piece_feed in plans:
            start = time.perf_counter()
            session.run(names, piece_feed)
            if r >= warmup:
                times[(name, k)].append(time.perf_counter() - start)
    return {
        name: [
            (statistics.median(times[(name, k)]), float(np.percentile(times[(name, k)], 99)))
            for k in range(len(variant.pieces))
        ]
        for name, variant in variants.items()
    }


def piece_compute_s(t: float, ratio: float, limit: tuple[int, int] | None) -> float:
    """Seconds a piece of ``t`` seconds of CPU (on this machine) takes on a tier: ``t`` x the
    tier's compute ratio, or on a CPU-quota tier (``limit`` = ``(quota_us, period_us)``) the
    CFS staircase, whole periods, ceil(t / quota) of them and at least one. Shared by the
    study's predictions and its planner's picks in ``cpu-quota`` mode.

    >>> piece_compute_s(0.0025, 12.0, (1000, 12000))  # 3 periods of 12 ms
    0.036
    """
    if limit is None:
        return t * ratio
    quota, period = limit
    return max(1, math.ceil(t / (quota * 1e-6))) * period * 1e-6


def variant_predictions(
    variant: Variant,
    timed: list[tuple[float, float]],
    ratios: list[float],
    transfers: list[float],
    quotas: Sequence[tuple[int, int] | None] | None = None,
) -> tuple[float, float]:
    """Predicted (median, p99) round trip: each piece's time x its tier's compute ratio, plus
    the transfers (input out, cut tensors between pieces, result back), in seconds.

    ``quotas`` (per piece: ``(quota_us, period_us)`` of a CPU-quota tier, or None) replaces
    the ratio by the CFS staircase: a piece of CPU time t on a confined tier takes whole
    periods, ceil(t / quota) of them and at least one (a worker serving an inference spends
    more than the kernel's 1 ms minimum quota per period on its gRPC handling alone: the
    study's runs throttled it in every period, docs/study.md, Session 11b)."""
    limits = list(quotas) if quotas is not None else [None] * len(timed)
    piece = piece_compute_s
    median = sum(piece(m, r, q) for (m, _), r, q in zip(timed, ratios, limits, strict=True))
    p99 = sum(piece(p, r, q) for (_, p), r, q in zip(timed, ratios, limits, strict=True))
    return median + sum(transfers), p99 + sum(transfers)
