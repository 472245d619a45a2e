"""The one way an ONNX Runtime session is built and timed, for the profile and the worker.

A tier worker (``splitexit.runtime``) times each partition it deploys to know its reference
compute time, and `splitexit profile` / `splitexit retime` time the graphs whose times the
planner adds up. Both build their session with :func:`ort_session` and time it with
:func:`call_time`, so the profile predicts the time the worker measures: the same session
options (``intra_op_num_threads`` as given, inter-op 1, ORT's default graph optimization and
sequential execution), the same float32 zeros as input, the same statistic (a percentile of
the calls after the warm-up calls). onnxruntime is imported when called; no torch.

>>> call_time_runs(20)
(5, 15)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

__all__ = ["call_time", "call_time_runs", "ort_session"]


@validate_params(
    {
        "model": [InstanceOf(bytes, str)],
        "threads": [Interval(int, 1, None)],
        "providers": [InstanceOf(tuple, list)],
    }
)
def ort_session(
    model: bytes | str, threads: int, providers: Sequence[str] = ("CPUExecutionProvider",)
) -> Any:
    """An ONNX Runtime session of ``model`` (bytes or a path): ``threads`` intra-op threads,
    one inter-op thread, every other option ORT's default; ``providers`` in order."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, options, providers=list(providers))


@validate_params({"runs": [Interval(int, 1, None)]})
def call_time_runs(runs: int) -> tuple[int, int]:
    """(warm-up calls, timed calls) of a worker that runs its partition ``runs`` times: the
    first quarter warms up."""
    return runs // 4, runs - runs // 4


@validate_params(
    {
        "session": [InstanceOf("onnxruntime:InferenceSession")],
        "feeds": [InstanceOf(dict)],
        "runs": [Interval(int, 1, None)],
        "warmup": [Interval(int, 0, None)],
        "percentile": [Interval(float, 0, 100, closed="right")],
    }
)
def call_time(
    session: Any,
    feeds: dict[str, np.ndarray[Any, Any]],
    *,
    runs: int,
    warmup: int,
    percentile: float = 50.0,
) -> float:
    """Seconds of one ``session.run`` of every output on ``feeds``: the ``percentile`` of
    ``runs`` wall-clock calls after ``warmup`` untimed ones."""
    if not feeds:
        raise InputError("call_time needs at least one input tensor")
    outputs = [o.name for o in session.get_outputs()]
    for _ in range(warmup):
        session.run(outputs, feeds)
    times = np.empty(runs)
    for i in range(runs):
        start = time.perf_counter()
        session.run(outputs, feeds)
        times[i] = time.perf_counter() - start
    return float(np.percentile(times, percentile))
