"""The early-exit operator, black box (seed 004, Algorithm 1): find runs of identically
structured consecutive sub-graphs between single-tensor cuts and skip the last k of a run.

A block is the nodes between two single-tensor cuts, possibly spanning several consecutive
cut-to-cut segments. Two blocks are identical when they have the same operator sequence and
attributes, the same weight shapes and the same input and output shapes; a run is two or
more identical blocks in a row whose input and output shapes are equal, so skipping its last
k blocks (feeding the run's later consumers the input of the first skipped block) keeps the
graph well-typed. The exit is static, as in the seed: every sample takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import onnx
from onnx import AttributeProto, helper

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._cuts import cut_order, find_cuts
from splitexit.operators._graph import GraphInfo

__all__ = ["Run", "find_runs", "skip_blocks"]

_MAX_SEGMENTS_PER_BLOCK = 6


@returned_type
@dataclass(frozen=True)
class Run:
    """``count`` identical blocks; block j spans nodes ``blocks[j]`` from ``boundaries[j]`` to
    ``boundaries[j + 1]`` (tensor names)."""

    boundaries: tuple[str, ...]
    blocks: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]  # operator sequence of one block

    @property
    def count(self) -> int:
        return len(self.blocks)

    def to_mapping(self) -> dict[str, Any]:
        return {
            "blocks": self.count,
            "ops_per_block": list(self.ops),
            "boundaries": list(self.boundaries),
        }


def _attr_key(attr: AttributeProto) -> Any:
    if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
        return (attr.name, "graph")
    return (attr.name, str(helper.get_attribute_value(attr)))


def _signature(info: GraphInfo, nodes: list[int], first: str, last: str) -> tuple[Any, ...]:
    local = {first: "in"}
    sig: list[Any] = [info.tensors[first].shape, info.tensors[last].shape]
    for k, i in enumerate(nodes):
        node = info.nodes[i]
        ins: list[Any] = []
        for name in node.input:
            if name in info.initializer_dims:
                ins.append(("w", info.initializer_dims[name]))
            else:
                ins.append(local.get(name, "const" if name in info.constants else "outside"))
        for j, out in enumerate(node.output):
            local[out] = f"{k}.{j}"
        sig.append(
            (
                node.domain,
                node.op_type,
                tuple(ins),
                tuple(sorted(_attr_key(a) for a in node.attribute)),
            )
        )
    return tuple(sig)


@validate_params({"info": [InstanceOf(GraphInfo)]})
def find_runs(info: GraphInfo) -> list[Run]:
    """Maximal runs of identical blocks, longest (in nodes) first.

    >>> [r.count for r in find_runs(info)]  # doctest: +SKIP
    [3, 2]
    """
    order = cut_order(info)
    singles = [c for c in find_cuts(info, min_gap=10**9) if len(c.tensors) == 1]
    pos = [0] + [c.position for c in singles]
    names = [info.inputs[0] if len(info.inputs) == 1 else ""] + [c.tensors[0] for c in singles]
    if not names[0]:
        pos, names = pos[1:], names[1:]
    runs: list[Run] = []
    for width in range(1, _MAX_SEGMENTS_PER_BLOCK + 1):
        for start in range(width):
            idx = list(range(start, len(pos) - width, width))
            sigs = [
                _signature(info, order[pos[i] : pos[i + width]], names[i], names[i + width])
                for i in idx
            ]
            j = 0
            while j < len(idx):
                k = j
                while k + 1 < len(idx) and sigs[k + 1] == sigs[j]:
                    k += 1
                first, last = names[idx[j]], names[idx[k] + width]
                if k > j and info.tensors[first].shape == info.tensors[last].shape:
                    runs.append(
                        Run(
                            boundaries=tuple(names[i] for i in [*idx[j : k + 1], idx[k] + width]),
                            blocks=tuple(
                                tuple(order[pos[i] : pos[i + width]]) for i in idx[j : k + 1]
                            ),
                            ops=tuple(
                                info.nodes[n].op_type
                                for n in order[pos[idx[j]] : pos[idx[j] + width]]
                            ),
                        )
                    )
                j = k + 1
    runs.sort(key=lambda r: -sum(len(b) for b in r.blocks))
    kept: list[Run] = []
    for run in runs:  # drop runs whose nodes another, longer run already covers
        nodes = {n for b in run.blocks for n in b}
        if not any(nodes <= {n for b in k.blocks for n in b} for k in kept):
            kept.append(run)
    return kept


@validate_params(
    {
        "info": [InstanceOf(GraphInfo)],
        "run": [InstanceOf(Run)],
        "skip": [Interval(int, 1, None, closed="left")],
    }
)
def skip_blocks(info: GraphInfo, run: Run, skip: int) -> onnx.ModelProto:
    """The model without the last ``skip`` blocks of ``run``; tensor names are kept."""
    if not 1 <= skip <= run.count:
        raise InputError(f"--skip must be in 1..{run.count} for this run, got {skip}")
    dropped = {n for b in run.blocks[run.count - skip :] for n in b}
    source, target = run.boundaries[run.count - skip], run.boundaries[-1]
    model = onnx.ModelProto()
    model.CopyFrom(info.loaded.model)
    graph = model.graph
    kept = [n for i, n in enumerate(info.nodes) if i not in dropped]
    del graph.node[:]
    for node in kept:
        new = graph.node.add()
        new.CopyFrom(node)
        for j, name in enumerate(new.input):
            if name == target:
                new.input[j] = source
    if target in {o.name for o in graph.output}:
        graph.node.append(helper.make_node("Identity", [source], [target], name=f"{target}_exit"))
    used = {n for node in graph.node for n in node.input}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    names = {t.name for t in keep}
    inits_all = set(info.initializer_bytes)
    inputs = [v for v in graph.input if v.name not in inits_all or v.name in names]
    del graph.input[:]
    graph.input.extend(inputs)
    del graph.value_info[:]
    return model
