"""A ``splitexit.profile/1`` of a user's ONNX model: blocks are the segments between
consecutive valid cuts, timed on ONNX Runtime on this (the reference) machine.

Each block's compute is a percentile (99 by default, as ``splitexit profile`` times our own
models; 50 is the median the testbed's stretch uses) of batch-1 runs of its piece, fed the
activations the model really produces on the user's first sample. Its output size is the
bytes of the live tensors at the cut after it (the sum over a multi-tensor cut), the last
block's the model's outputs. There is one exit, at the end: every sample leaves there, the
intermediate branches cost nothing and are never taken, and the accuracy is top-1 against
the labels when given, else 1.0 (agreement of the model with itself).

>>> profile = profile_onnx(Path("m.onnx"), Path("data.npz"), out=Path("p.json"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from splitexit._validation import InstanceOf, Interval, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.operators._cuts import find_cuts
from splitexit.operators._data import Samples, load_samples
from splitexit.operators._graph import GraphInfo, analyse
from splitexit.operators._manifest import sha256_file
from splitexit.operators._model import LoadedModel, load_model, ort_session
from splitexit.operators._pieces import Piece, build_pieces, run_model
from splitexit.profile import OnnxSource, Profile

__all__ = ["OnnxProfileSettings", "profile_onnx", "top1"]

CutKind = Literal["single", "all"]
TimingKind = Literal["segments", "whole"]
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")  # an operator variant's label


@validate_params(
    {
        "cuts": [InstanceOf(str)],  # its own check keeps the CLI's "--cuts must be" line
        "runs": [Interval(int, 1, None, closed="left")],
        "percentile": [Interval(float, 0, 100, closed="right")],
        "limit": [Interval(int, 1, None, closed="left"), None],
        "timing": [InstanceOf(str)],  # its own check keeps the CLI's "--timing must be" line
        "operator": [InstanceOf(str), None],
    }
)
@dataclass(frozen=True)
class OnnxProfileSettings:
    """How to cut and time: which cuts, runs per piece, the percentile kept."""

    cuts: CutKind = "single"  # single-tensor cuts only, or multi-tensor ones too
    runs: int = 50  # timed batch-1 runs per piece (after 3 warm-up runs)
    percentile: float = 99.0
    limit: int | None = None  # samples of the data used for accuracy
    # "whole": segment times scaled to sum to the whole model timed in one session
    timing: TimingKind = "segments"
    operator: str | None = None  # the operator variant this model is (I, Q, E, QE, ...)

    def __post_init__(self) -> None:
        if self.timing not in ("segments", "whole"):
            raise InputError(f"--timing must be 'segments' or 'whole', got {self.timing!r}")
        if self.operator is not None and not _LABEL.fullmatch(self.operator):
            raise InputError(
                f"--operator must be a label such as I, Q, E or QE (a letter, then letters, "
                f"digits, '_' or '-'), got {self.operator!r}"
            )
        if self.cuts not in ("single", "all"):
            raise InputError(f"--cuts must be 'single' or 'all', got {self.cuts!r}")
        if self.runs < 1:
            raise InputError(f"--runs must be >= 1, got {self.runs}")
        if not 0.0 < self.percentile <= 100.0:
            raise InputError(f"--percentile must be in (0, 100], got {self.percentile}")


def _cuts(info: GraphInfo, kind: CutKind) -> list[tuple[str, ...]]:
    offered = [c.tensors for c in find_cuts(info)]
    return [c for c in offered if kind == "all" or len(c) == 1]


def _time(piece: Piece, feeds: dict[str, np.ndarray], settings: OnnxProfileSettings) -> float:
    session = ort_session(piece.model, source=f"piece {piece.nodes[:1]}")
    return _time_session(session, feeds, settings)


def _time_session(
    session: Any, feeds: dict[str, np.ndarray], settings: OnnxProfileSettings
) -> float:
    """``settings.percentile`` of ``settings.runs`` runs of ``session`` (after 3 warm-ups)."""
    feed = {i.name: feeds[i.name] for i in session.get_inputs()}
    for _ in range(3):
        session.run(None, feed)
    times = []
    for _ in range(settings.runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, settings.percentile))


def top1(loaded: LoadedModel, samples: Samples) -> np.ndarray:
    """The whole model's top-1 class (argmax of its first output's last axis), per sample row."""
    session = ort_session(loaded.model, source=str(loaded.path))
    name = session.get_outputs()[0].name
    rows = [session.run([name], feed)[0] for feed in samples.feeds]
    return np.concatenate([r.reshape(r.shape[0], -1).argmax(axis=1) for r in rows])


def _relative(path: Path, folder: Path) -> str:
    try:
        return os.path.relpath(path.resolve(), folder.resolve())
    except ValueError:  # another drive
        return str(path.resolve())


@validate_params(
    {
        "model_path": [PathLike()],
        "data": [PathLike()],
        "out": [PathLike()],
        "labels": [PathLike(), None],
        "input_shapes": [InstanceOf(dict), None],
        "settings": [InstanceOf(OnnxProfileSettings), None],
        "trace_out": [PathLike(), None],
    }
)
def profile_onnx(
    model_path: Path,
    data: Path,
    *,
    out: Path,
    labels: Path | None = None,
    input_shapes: dict[str, tuple[int, ...]] | None = None,
    settings: OnnxProfileSettings | None = None,
    trace_out: Path | None = None,
) -> Profile:
    """Cut, time and size ``model_path`` on ``data`` (an ``.npz``); paths in the profile are
    relative to ``out``'s folder. Only the per-sample trace is written here, to ``trace_out``
    when given (``save_profile`` writes the profile): one exit at the end, so every sample
    leaves there (entropy 1 at the other blocks, where no exit exists) and its correctness
    is the top-1 against the labels, or agreement with itself. ``splitexit run`` and
    ``fidelity`` replay it as they replay our own models' traces."""
    settings = settings or OnnxProfileSettings()
    loaded = load_model(model_path, input_shapes)
    if any(not t.shape or t.shape[0] != 1 for t in loaded.inputs):
        raise InputError(
            f"{model_path}: the profile times batch-1 runs; give --input-shape with a batch "
            f"of 1, got {[list(t.shape) for t in loaded.inputs]}"
        )
    info = analyse(loaded)
    cuts = _cuts(info, settings.cuts)
    pieces = build_pieces(info, cuts)
    samples = load_samples(data, loaded.inputs, limit=settings.limit)
    tensors = dict(samples.feeds[0])
    compute = []
    for k, piece in enumerate(pieces):
        compute.append(_time(piece, tensors, settings))
        tensors.update(run_model(piece.model, tensors, source=f"{model_path} piece {k + 1}"))
    timing_note = ""
    if settings.timing == "whole":
        whole = _time_session(
            ort_session(loaded.model, source=str(model_path)), samples.feeds[0], settings
        )
        summed = sum(compute)
        compute = [c * whole / summed for c in compute] if summed > 0 else compute
        timing_note = f", segments scaled to the whole model's {whole * 1e3:.4g} ms"
    outputs = [info.tensors[o] for o in info.outputs]
    result_bits = float(sum(t.nbytes for t in outputs) * 8)
    sizes = [float(sum(info.tensors[t].nbytes for t in cut) * 8) for cut in cuts]
    sizes.append(result_bits)
    predicted = top1(loaded, samples)
    truth = _labels(labels, samples, len(predicted))
    accuracy = 1.0 if truth is None else float(np.mean(predicted == truth))
    n = len(pieces)
    first = outputs[0].shape
    folder = out.parent
    source = OnnxSource(
        path=_relative(model_path, folder),
        sha256=sha256_file(model_path),
        cuts=tuple(tuple(c) for c in cuts),
        input_shapes=loaded.input_shapes,
        data=_relative(data, folder),
        statistic="median" if settings.percentile == 50.0 else f"p{settings.percentile:g}",
        operator=settings.operator,
        timing=settings.timing,
    )
    said = "top-1 accuracy on the labels" if truth is not None else "agreement with itself"
    trace_name = None
    if trace_out is not None:
        _write_trace(trace_out, model_path.stem, data.stem, predicted, truth, n)
        trace_name = _relative(trace_out, folder)
    return Profile(
        model=model_path.stem,
        dataset=data.stem,
        num_classes=max(2, int(first[-1]) if first else 2),
        input_bits=float(sum(t.nbytes for t in loaded.inputs) * 8),
        result_bits=result_bits,
        thresholds=np.array([1.0]),
        block_names=tuple(_name(k, cuts) for k in range(n)),
        output_bits=np.array(sizes, dtype=np.float64),
        block_compute_s=np.array(compute, dtype=np.float64),
        branch_compute_s=np.zeros(n),
        accuracy=np.array([0.0] * (n - 1) + [accuracy]),
        accuracy_joint=None,
        exit_rates=np.array([[0.0] * (n - 1) + [1.0]]),
        reference_device=f"onnxruntime CPU, 1 thread, {source.statistic} of "
        f"{settings.runs} batch-1 runs{timing_note}",
        notes=f"user ONNX model {model_path.name}"
        + ("" if settings.operator is None else f" (operator variant {settings.operator})")
        + f": {n} segments between "
        f"{settings.cuts}-tensor cuts; one exit at the end ({said} over "
        f"{len(predicted)} samples); branches 1..{n - 1} are never taken",
        onnx=source,
        trace=trace_name,
    )


def _write_trace(
    path: Path,
    model: str,
    dataset: str,
    predicted: np.ndarray,
    truth: np.ndarray | None,
    num_blocks: int,
) -> None:
    from splitexit.profile import Trace, save_trace

    samples = len(predicted)
    labels = (predicted if truth is None else truth).astype(np.int64)
    entropy = np.ones((samples, num_blocks), dtype=np.float32)  # no exit before the last
    correct = np.zeros((samples, num_blocks), dtype=np.bool_)
    correct[:, -1] = predicted == labels
    save_trace(
        Trace(
            model=model, dataset=dataset, split="profile", labels=labels,
            entropy_joint=entropy, correct_joint=correct,
            entropy_separate=entropy, correct_separate=correct,
        ),
        path,
    )  # fmt: skip


def _name(k: int, cuts: list[tuple[str, ...]]) -> str:
    return f"segment {k + 1} (to {'+'.join(cuts[k])})" if k < len(cuts) else f"segment {k + 1}"


def _labels(path: Path | None, samples: Samples, count: int) -> np.ndarray | None:
    if path is None:
        return None if samples.labels is None else samples.labels.reshape(-1)[:count]
    try:
        raw = np.load(path, allow_pickle=False)
        values = raw["labels"] if isinstance(raw, np.lib.npyio.NpzFile) else raw
    except Exception as exc:
        raise InputError(f"--labels {path}: cannot read labels ({exc})") from None
    values = np.asarray(values).reshape(-1)
    if values.size < count:
        raise InputError(f"--labels {path}: {values.size} labels for {count} samples")
    return values[:count].astype(np.int64)
