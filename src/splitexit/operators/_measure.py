"""What every operator reports: file size, ONNX Runtime latency, agreement with the float
model (top-1 for classifiers, max and mean absolute difference otherwise), accuracy."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.operators._model import ort_session

__all__ = ["Agreement", "agreement", "latency", "outputs_of", "paired_latency"]


@validate_params(
    {
        "model": [InstanceOf("onnx:ModelProto", bytes, name="an ONNX model (ModelProto or bytes)")],
        "feeds": [InstanceOf(dict)],
        "runs": [Interval(int, 1, None, closed="left")],
        "threads": [Interval(int, 1, None, closed="left")],
        "source": [InstanceOf(str)],
    }
)
def latency(
    model: onnx.ModelProto | bytes,
    feeds: dict[str, np.ndarray],
    *,
    runs: int = 20,
    threads: int = 1,
    source: str = "model",
) -> float:
    """Median seconds of one ONNX Runtime CPU run (after two warm-up runs)."""
    session = ort_session(model, source=source, threads=threads)
    wanted = {i.name for i in session.get_inputs()}
    feed = {k: v for k, v in feeds.items() if k in wanted}
    for _ in range(2):
        session.run(None, feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@validate_params(
    {
        "first": [InstanceOf("onnx:ModelProto", bytes, name="an ONNX model (ModelProto or bytes)")],
        "second": [
            InstanceOf("onnx:ModelProto", bytes, name="an ONNX model (ModelProto or bytes)")
        ],
        "feeds": [InstanceOf(dict)],
        "runs": [Interval(int, 1, None, closed="left")],
        "threads": [Interval(int, 1, None, closed="left")],
        "warmup": [Interval(int, 0, None, closed="left")],
        "source": [InstanceOf(str)],
    }
)
def paired_latency(
    first: onnx.ModelProto | bytes,
    second: onnx.ModelProto | bytes,
    feeds: dict[str, np.ndarray],
    *,
    runs: int = 20,
    threads: int = 1,
    warmup: int = 5,
    source: str = "model",
) -> tuple[float, float]:
    """Median seconds of one ONNX Runtime CPU run of each model, the two interleaved run by
    run (the order alternating) so that a noisy, shared machine slows both alike.

    >>> f, q = paired_latency(float_model, int8_bytes, feeds, runs=200)  # doctest: +SKIP
    """
    sessions = [
        ort_session(m, source=s, threads=threads)
        for m, s in ((first, source), (second, f"{source} (variant)"))
    ]
    wanted = [{i.name for i in s.get_inputs()} for s in sessions]
    feed = [{k: v for k, v in feeds.items() if k in w} for w in wanted]
    for _ in range(warmup):
        for session, f in zip(sessions, feed, strict=True):
            session.run(None, f)
    times: list[list[float]] = [[], []]
    for r in range(runs):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            sessions[k].run(None, feed[k])
            times[k].append(time.perf_counter() - start)
    return float(np.median(times[0])), float(np.median(times[1]))


def outputs_of(
    model: onnx.ModelProto | bytes, feeds: list[dict[str, np.ndarray]], *, source: str
) -> list[np.ndarray]:
    """The first output of every run."""
    session = ort_session(model, source=source)
    wanted = {i.name for i in session.get_inputs()}
    name = session.get_outputs()[0].name
    return [session.run([name], {k: v for k, v in f.items() if k in wanted})[0] for f in feeds]


@returned_type
@dataclass(frozen=True)
class Agreement:
    """Agreement of a variant with the float model on held-out runs."""

    classifier: bool
    top1_agreement: float | None
    max_abs_diff: float
    mean_abs_diff: float
    accuracy_float: float | None
    accuracy_variant: float | None
    samples: int

    def to_mapping(self) -> dict[str, Any]:
        return dict(self.__dict__)


@validate_params(
    {
        "reference": [InstanceOf(list, tuple)],
        "variant": [InstanceOf(list, tuple)],
        "labels": [InstanceOf(np.ndarray), None],
    }
)
def agreement(
    reference: list[np.ndarray], variant: list[np.ndarray], labels: np.ndarray | None = None
) -> Agreement:
    """Compare per-run first outputs; a classifier is a (batch, classes>1) output.

    >>> agreement([np.eye(3)], [np.eye(3)]).top1_agreement
    1.0
    """
    ref = np.concatenate([np.asarray(r, np.float64).reshape(len(r), -1) for r in reference])
    var = np.concatenate([np.asarray(v, np.float64).reshape(len(v), -1) for v in variant])
    diff = np.abs(ref - var)
    classifier = reference[0].ndim == 2 and reference[0].shape[1] > 1
    top1 = acc_f = acc_v = None
    if classifier:
        top1 = float(np.mean(ref.argmax(1) == var.argmax(1)))
        if labels is not None:
            flat = np.asarray(labels).ravel()[: len(ref)]
            acc_f = float(np.mean(ref.argmax(1) == flat))
            acc_v = float(np.mean(var.argmax(1) == flat))
    return Agreement(
        classifier, top1, float(diff.max()), float(diff.mean()), acc_f, acc_v, len(ref)
    )
