"""Measured compute for ``--pieces K --criterion compute``: ONNX Runtime kernel time of every
node, summed between cuts.

One profiling session runs the whole model at ORT's basic optimization level: constants are
folded (a model that builds its weights at run time would otherwise charge that to the first
piece) but nodes are not fused or relaid out, so every node keeps its name and its time is
its own (fusion would merge a Conv with its Relu and hide which side of a cut the time
belongs to). Each node's median kernel time over the runs is its cost; the head of a cut costs
the sum over the nodes before it in the cut order. The pieces themselves later run fully
optimized, so their times match the shares only roughly (docs/operators.md measures how
well). Estimated FLOPs stay available as ``--criterion flops``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import onnx

from splitexit.errors import InputError
from splitexit.operators._cuts import cut_order
from splitexit.operators._graph import GraphInfo, random_inputs

__all__ = ["node_seconds", "prefix_seconds"]

_PREFIX = "splitexit_node_"
_SUFFIX = "_kernel_time"


def node_seconds(info: GraphInfo, *, runs: int = 10) -> list[float]:
    """Median ONNX Runtime CPU kernel seconds of each node of ``info`` (one thread).

    >>> sum(node_seconds(analyse(load_model(Path("m.onnx")))))  # doctest: +SKIP
    0.0123
    """
    import onnxruntime as ort  # type: ignore[import-untyped]

    model = onnx.ModelProto()
    model.CopyFrom(info.loaded.model)
    for i, node in enumerate(model.graph.node):
        node.name = f"{_PREFIX}{i}"
    with tempfile.TemporaryDirectory(prefix="splitexit-profile-") as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp, "profile"))
        try:
            session = ort.InferenceSession(
                model.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(
                f"{info.loaded.path}: ONNX Runtime cannot run this model: {first}"
            ) from None
        feeds = random_inputs(info.loaded.inputs)
        for _ in range(max(runs, 1) + 1):  # the first run warms up and is dropped below
            session.run(None, feeds)
        events = json.loads(Path(session.end_profiling()).read_text())
    durations: dict[int, list[float]] = {}
    for event in events:
        name = str(event.get("name", ""))
        if event.get("cat") != "Node" or not name.startswith(_PREFIX):
            continue
        if not name.endswith(_SUFFIX):
            continue
        index = name[len(_PREFIX) : -len(_SUFFIX)]
        if index.isdigit():
            durations.setdefault(int(index), []).append(float(event.get("dur", 0.0)) * 1e-6)
    return [
        float(np.median(durations[i][1:] or durations[i])) if i in durations else 0.0
        for i in range(len(info.nodes))
    ]


def prefix_seconds(info: GraphInfo, seconds: list[float]) -> list[float]:
    """Cumulative seconds along the cut order: entry ``p`` is the cost of the first ``p``
    nodes, so a cut at position ``p`` has head ``[p]`` and tail ``[-1] - [p]``."""
    total = [0.0]
    for node in cut_order(info):
        total.append(total[-1] + seconds[node])
    return total
