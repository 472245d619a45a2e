"""Cut sets of an ONNX graph, and the check that a user's ``--cut`` is one.

A cut is a set of tensors S such that the nodes after it (every node that reads S, directly
or through other such nodes) need nothing from the nodes before it except S itself and
constants (initializers and tensors computed from constants only).

Single-tensor cuts come from the dominators of the tensor graph (networkx): a tensor that
every path from the inputs to the outputs crosses. The nodes are then ordered so that each
dominator's descendants come after everything else, and the live tensors at every position
of that order are the candidate cuts; between two single-tensor cuts the position with the
fewest live bytes gives a multi-tensor cut (FPN-like necks, two-branch heads), recursively
while the gap is long.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import networkx as nx  # type: ignore[import-untyped]

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._graph import GraphInfo

__all__ = [
    "CUTS_FORMAT",
    "Cut",
    "Split",
    "cut_order",
    "cuts_to_mapping",
    "find_cuts",
    "split_at",
]

CUTS_FORMAT = "splitexit.cuts/1"
_SRC, _SINK = "\0source", "\0sink"


@dataclass(frozen=True)
class Split:
    """The nodes before and after a valid cut (0-based indices in the graph's order)."""

    tensors: tuple[str, ...]
    head: frozenset[int]
    tail: frozenset[int]


@returned_type
@dataclass(frozen=True)
class Cut:
    """One offered cut with its sizes; ``seconds`` is ``(head, tail)`` when timed."""

    tensors: tuple[str, ...]
    position: int  # nodes in the head (in the cut order)
    tensor_bytes: int
    head_param_bytes: int
    tail_param_bytes: int
    head_flops: float
    tail_flops: float
    seconds: tuple[float, float] | None = None

    def to_mapping(self, info: GraphInfo) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tensors": list(self.tensors),
            "shapes": [list(info.tensors[t].shape) for t in self.tensors],
            "dtypes": [info.tensors[t].dtype for t in self.tensors],
            "bytes": self.tensor_bytes,
            "head": {"param_bytes": self.head_param_bytes, "flops": self.head_flops},
            "tail": {"param_bytes": self.tail_param_bytes, "flops": self.tail_flops},
        }
        if self.seconds is not None:
            data["head"]["seconds"], data["tail"]["seconds"] = self.seconds
        return data


def _dominators(info: GraphInfo) -> list[str]:
    """Tensors that dominate the sink, from the inputs towards the outputs."""
    graph = nx.DiGraph()
    graph.add_node(_SRC)
    graph.add_edges_from((_SRC, name) for name in info.inputs)
    for node, reads in zip(info.nodes, info.reads, strict=True):
        live = [n for n in reads if n not in info.constants]
        outs = [o for o in node.output if o and o not in info.constants]
        for out in outs:
            graph.add_edges_from((src, out) for src in (live or [_SRC]))
    graph.add_edges_from((o, _SINK) for o in info.outputs if o not in info.constants)
    if _SINK not in graph:
        return []
    idom = nx.immediate_dominators(graph, _SRC)
    if _SINK not in idom:
        return []
    chain, cur = [], idom[_SINK]
    while cur != _SRC:
        chain.append(cur)
        cur = idom[cur]
    return [t for t in reversed(chain) if t not in info.inputs]


def _order(info: GraphInfo, doms: list[str]) -> list[int]:
    """A topological order in which every dominator's descendants come last."""
    rank = {t: j + 1 for j, t in enumerate(doms)}
    seg_of: dict[str, int] = {}
    segs = []
    for node, reads in zip(info.nodes, info.reads, strict=True):
        seg = max((seg_of.get(n, 0) for n in reads), default=0)
        segs.append(seg)
        for out in node.output:
            seg_of[out] = max(seg, rank.get(out, 0))
    return sorted(range(len(info.nodes)), key=lambda i: (segs[i], i))


def cut_order(info: GraphInfo) -> list[int]:
    """The node order in which cuts are positions (see the module docstring)."""
    return _order(info, _dominators(info))


def _live_sets(info: GraphInfo, order: list[int]) -> list[tuple[str, ...]]:
    """Live non-constant tensors after each position of ``order``, in graph order."""
    pos = {node: p for p, node in enumerate(order)}
    last: dict[str, int] = {}
    for node, reads in enumerate(info.reads):
        for name in reads:
            if name not in info.constants:
                last[name] = max(last.get(name, -1), pos[node])
    born = {name: -1 for name in info.inputs}
    for node in range(len(info.nodes)):
        for out in info.nodes[node].output:
            if out and out not in info.constants:
                born[out] = pos[node]
    starts: dict[int, list[str]] = {}
    for name, b in born.items():
        if last.get(name, -1) > b:
            starts.setdefault(b, []).append(name)
    live: dict[str, int] = {n: 0 for n in starts.get(-1, [])}
    result = []
    for p in range(len(order)):
        for name in starts.get(p, []):
            live[name] = 0
        for name in [n for n in live if last[n] <= p]:
            del live[name]
        result.append(tuple(sorted(live, key=lambda n: (born[n], n))))
    return result


@validate_params(
    {"info": [InstanceOf(GraphInfo)], "min_gap": [Interval(int, 0, None, closed="left")]}
)
def find_cuts(info: GraphInfo, *, min_gap: int = 6) -> list[Cut]:
    """Every offered cut of ``info``'s graph, in graph order.

    >>> [c.tensors for c in find_cuts(analyse(load_model(path)))]  # doctest: +SKIP
    [('relu1',), ('add1', 'conv3')]
    """
    order = cut_order(info)
    lives = _live_sets(info, order)
    n = len(order)
    inputs = set(info.inputs)
    ok = [bool(s) and not set(s) <= inputs for s in lives[:-1]] + [False]
    singles = [p for p in range(n) if ok[p] and len(lives[p]) == 1]
    chosen = set(singles)

    def gap(lo: int, hi: int) -> None:  # positions strictly between lo and hi
        inner = [p for p in range(lo + 1, hi) if ok[p]]
        if hi - lo - 1 < min_gap or not inner:
            return
        best = min(inner, key=lambda p: (sum(info.tensors[t].nbytes for t in lives[p]), -p))
        chosen.add(best)
        gap(lo, best)
        gap(best, hi)

    bounds = [-1, *singles, n - 1]
    for lo, hi in itertools.pairwise(bounds):
        gap(lo, hi)
    cuts, seen = [], set()
    prefix_flops, prefix_params = _prefix(info, order)
    for p in sorted(chosen):
        if lives[p] in seen:
            continue
        seen.add(lives[p])
        cuts.append(
            Cut(
                tensors=lives[p],
                position=p + 1,
                tensor_bytes=sum(info.tensors[t].nbytes for t in lives[p]),
                head_param_bytes=prefix_params[p + 1],
                tail_param_bytes=prefix_params[-1] - prefix_params[p + 1],
                head_flops=prefix_flops[p + 1],
                tail_flops=prefix_flops[-1] - prefix_flops[p + 1],
            )
        )
    return cuts


def _prefix(info: GraphInfo, order: list[int]) -> tuple[list[float], list[int]]:
    flops, params = [0.0], [0]
    seen: set[str] = set()
    for node in order:
        fresh = [n for n in info.reads[node] if n in info.initializer_bytes and n not in seen]
        seen.update(fresh)
        flops.append(flops[-1] + info.flops[node])
        params.append(params[-1] + sum(info.initializer_bytes[n] for n in fresh))
    return flops, params


@validate_params({"info": [InstanceOf(GraphInfo)], "tensors": [InstanceOf(tuple, list)]})
def split_at(info: GraphInfo, tensors: tuple[str, ...]) -> Split:
    """Check that ``tensors`` is a cut and return the nodes on either side.

    Raises InputError naming the first problem, e.g. ``node 'Add_7' after the cut reads
    'relu_2' from before it``.
    """
    cut = set(tensors)
    where = f"{info.loaded.path}: --cut {','.join(tensors)}"
    for name in tensors:
        if name not in info.producer and name not in info.inputs:
            raise InputError(
                f"{where} is not a valid cut: no tensor {name!r} in the top-level graph"
            )
        if name in info.constants:
            raise InputError(f"{where} is not a valid cut: {name!r} is a constant")
    ancestors: set[int] = set()
    stack = [info.producer[n] for n in tensors if n in info.producer]
    while stack:
        node = stack.pop()
        if node not in ancestors:
            ancestors.add(node)
            stack.extend(
                info.producer[n]
                for n in info.reads[node]
                if n in info.producer and n not in info.constants
            )
    tail: set[int] = set()
    after = set(cut)
    for i, reads in enumerate(info.reads):
        if i not in ancestors and any(n in after for n in reads):
            tail.add(i)
            after.update(o for o in info.nodes[i].output if o)
    for i in sorted(tail):
        for name in info.reads[i]:
            if name not in after and name not in info.constants:
                raise InputError(
                    f"{where} is not a valid cut: node {_label(info, i)!r} "
                    f"after it reads {name!r} from before it; add {name!r} to the cut"
                )
    read = {n for i in tail for n in info.reads[i]}
    for name in tensors:
        if name not in read:
            raise InputError(f"{where} is not a valid cut: nothing after it reads {name!r}")
    head = frozenset(range(len(info.nodes))) - tail
    return Split(tensors=tuple(tensors), head=head, tail=frozenset(tail))


@validate_params({"info": [InstanceOf(GraphInfo)], "cuts": [InstanceOf(list, tuple)]})
def cuts_to_mapping(info: GraphInfo, cuts: list[Cut]) -> dict[str, Any]:
    """The ``splitexit.cuts/1`` document."""
    return {
        "format": CUTS_FORMAT,
        "model": str(info.loaded.path),
        "inputs": [t.to_mapping() for t in info.loaded.inputs],
        "nodes": len(info.nodes),
        "param_bytes": sum(info.initializer_bytes.values()),
        "flops": sum(info.flops),
        "cuts": [c.to_mapping(info) for c in cuts],
    }


def _label(info: GraphInfo, i: int) -> str:
    return info.nodes[i].name or f"{info.nodes[i].op_type} #{i}"
