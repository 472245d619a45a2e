"""Partition: pieces between successive cuts, written with their ``splitexit.pieces/1``
manifest, and the proof that the chained pieces reproduce the whole model.

A piece is any ONNX graph with any number of input and output tensors. It keeps the original
tensor names at the cuts; the manifest lists each piece's inputs and outputs (name, full shape
with batch, dtype), so a runner keeps one dictionary of tensors and runs the pieces in order.
Constant-only nodes a piece needs are copied into it; initializers go where they are read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import helper

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._cuts import Split, split_at
from splitexit.operators._graph import GraphInfo
from splitexit.operators._model import TensorInfo, ort_session

__all__ = ["Piece", "build_pieces", "chain_outputs", "max_abs_diff", "run_model"]


@returned_type
@dataclass(frozen=True)
class Piece:
    """One piece of a partition: its model and its boundary tensors."""

    model: onnx.ModelProto
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    nodes: tuple[int, ...]  # indices into the original graph (constant copies left out)


def _ordered_splits(info: GraphInfo, cuts: list[tuple[str, ...]]) -> list[Split]:
    splits = [split_at(info, tuple(c)) for c in cuts]
    splits.sort(key=lambda s: len(s.head))
    for a, b in itertools.pairwise(splits):
        if not a.tail > b.tail:
            raise InputError(
                f"{info.loaded.path}: --cut {','.join(a.tensors)} and --cut {','.join(b.tensors)} "
                "overlap; give cuts that follow one another"
            )
    return splits


@validate_params({"info": [InstanceOf(GraphInfo)], "cuts": [InstanceOf(list, tuple)]})
def build_pieces(info: GraphInfo, cuts: list[tuple[str, ...]]) -> list[Piece]:
    """Split ``info``'s model at ``cuts`` (each a tuple of tensor names) into len(cuts)+1
    pieces, in order.

    >>> pieces = build_pieces(info, [("relu_3",)])  # doctest: +SKIP
    """
    splits = _ordered_splits(info, cuts)
    everything = frozenset(range(len(info.nodes)))
    bounds = [everything, *(s.tail for s in splits), frozenset()]
    groups = [sorted(a - b) for a, b in itertools.pairwise(bounds)]
    owner: dict[str, int] = {}
    for k, group in enumerate(groups):
        for i in group:
            for out in info.nodes[i].output:
                owner[out] = k
    for name in info.inputs:
        owner[name] = -1
    needed_later: dict[int, set[str]] = {}
    for k, group in enumerate(groups):
        for i in group:
            for name in info.reads[i]:
                src = owner.get(name)
                if name not in info.constants and src is not None and src != k:
                    needed_later.setdefault(src, set()).add(name)
    outputs = set(info.outputs)
    pieces = []
    for k, group in enumerate(groups):
        live = [i for i in group if not _constant_node(info, i)]
        if not live:
            raise InputError(
                f"{info.loaded.path}: piece {k + 1} would hold no computation; drop a cut"
            )
        produced = [o for i in group for o in info.nodes[i].output if o]
        outs = [o for o in produced if o in needed_later.get(k, set()) or o in outputs]
        outs += [
            o
            for o in info.outputs
            if o in info.constants and k == len(groups) - 1 and o not in outs
        ]
        pieces.append(_piece(info, live, outs, k))
    return pieces


def _constant_node(info: GraphInfo, i: int) -> bool:
    return all(o in info.constants for o in info.nodes[i].output if o)


def _piece(info: GraphInfo, live: list[int], outs: list[str], k: int) -> Piece:
    produced = {o for i in live for o in info.nodes[i].output}
    ins: list[str] = []
    consts: set[int] = set()
    stack = [n for i in live for n in info.reads[i]] + [o for o in outs if o in info.constants]
    inits: set[str] = set()
    while stack:
        name = stack.pop()
        if name in produced:
            continue
        if name in info.initializer_bytes:
            inits.add(name)
        elif name in info.constants:
            node = info.producer[name]
            if node not in consts:
                consts.add(node)
                stack.extend(info.reads[node])
        elif name not in ins:
            ins.append(name)
    ins.sort(key=lambda n: (info.producer.get(n, -1), n))
    nodes = [info.nodes[i] for i in sorted(consts | set(live))]
    graph = info.loaded.model.graph
    initializers = [t for t in graph.initializer if t.name in inits]
    in_infos = tuple(info.tensors[n] for n in ins)
    out_infos = tuple(info.tensors[n] for n in outs)
    new_graph = helper.make_graph(
        nodes,
        f"{graph.name or 'graph'}_piece{k + 1}",
        [_value_info(t) for t in in_infos],
        [_value_info(t) for t in out_infos],
        initializers,
    )
    if info.loaded.model.ir_version < 4:  # before IR 4 every initializer is also an input
        new_graph.input.extend(v for v in graph.input if v.name in inits)
    model = helper.make_model(new_graph, opset_imports=list(info.loaded.model.opset_import))
    model.ir_version = info.loaded.model.ir_version
    model.functions.extend(info.loaded.model.functions)
    model.producer_name = "splitexit.operators"
    return Piece(model=model, inputs=in_infos, outputs=out_infos, nodes=tuple(live))


def _value_info(t: TensorInfo) -> onnx.ValueInfoProto:
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype))
    return helper.make_tensor_value_info(t.name, elem, list(t.shape))


def run_model(
    model: onnx.ModelProto | bytes, feeds: dict[str, np.ndarray], *, source: str
) -> dict[str, np.ndarray]:
    """Run a model once on ONNX Runtime CPU; every output by name."""
    session = ort_session(model, source=source)
    names = [o.name for o in session.get_outputs()]
    wanted = {i.name for i in session.get_inputs()}
    values = session.run(names, {k: v for k, v in feeds.items() if k in wanted})
    return dict(zip(names, values, strict=True))


@validate_params(
    {"models": [InstanceOf(list, tuple)], "feeds": [InstanceOf(dict)], "source": [InstanceOf(str)]}
)
def chain_outputs(
    models: list[onnx.ModelProto | bytes], feeds: dict[str, np.ndarray], *, source: str
) -> dict[str, np.ndarray]:
    """Run pieces in order on one dictionary of tensors; return every tensor produced."""
    tensors = dict(feeds)
    for k, model in enumerate(models):
        tensors.update(run_model(model, tensors, source=f"{source} piece {k + 1}"))
    return tensors


def max_abs_diff(
    reference: dict[str, np.ndarray], other: dict[str, np.ndarray]
) -> tuple[float, float]:
    """(max |a - b|, max |a|) over the reference's tensors, for a tolerance relative to scale."""
    diff, scale = 0.0, 0.0
    for name, ref in reference.items():
        a = np.asarray(ref, dtype=np.float64)
        b = np.asarray(other[name], dtype=np.float64)
        if a.size:
            diff = max(diff, float(np.max(np.abs(a - b))))
            scale = max(scale, float(np.max(np.abs(a))))
    return diff, scale
