"""The exact Pareto frontier without enumerating configurations (issue 6).

Label-setting dynamic programming (``_labels``) over states (T, last block, tier, used tiers),
with three prunings that never lose a frontier point:

1. per state, only Pareto-optimal labels survive (the future does not depend on the label);
2. a label dominated by a label at the same (T, p, a) with a subset of used tiers goes (it has
   the same futures and one partition fewer);
3. a label whose optimistic completion (latency lower bound, accuracy upper bound) is strictly
   dominated by a plan already found goes; plans are found layer by layer, from one partition
   up, so the incumbent frontier tightens as the search deepens.

Exact ties follow the enumerating planner: fewer partitions, then enumeration order, encoded
by each label's partition and placement prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from splitexit.perfmodel import ModelInputs, coefficients, partition_terms
from splitexit.planner._labels import (
    Completions,
    Layer,
    Pruner,
    Tables,
    bounds,
    drop_subset_dominated,
    expand,
    first_layer,
)
from splitexit.planner._pareto import ACCURACY_DECIMALS, LATENCY_DECIMALS, frontier_order
from splitexit.planner._space import placements
from splitexit.planner._sweep import Candidates

__all__ = ["ExactFrontier", "exact_box", "exact_frontier", "single_partition_candidates"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Margins that keep pruning strict: a plan is only discarded when something found is better
# by more than floating-point noise, so exact ties reach the tie rules.
_LAT_MARGIN = 1e-9  # seconds
_ACC_MARGIN = 1e-11


@dataclass(frozen=True, eq=False)
class ExactFrontier:
    frontier: Candidates
    states_explored: int
    labels_kept: int


class _Incumbent:
    """The frontier of plans found so far, as a pruner."""

    def __init__(self, lat: FloatArray, acc: FloatArray) -> None:
        self.lat = np.zeros(0)
        self.acc = np.zeros(0)
        self.add(lat, acc)

    def add(self, lat: FloatArray, acc: FloatArray) -> None:
        lat = np.concatenate([self.lat, lat])
        acc = np.concatenate([self.acc, acc])
        keep = frontier_order(lat, acc)
        self.lat, self.acc = lat[keep], acc[keep]

    def dead(self, lat_lb: FloatArray, acc_ub: FloatArray) -> npt.NDArray[np.bool_]:
        i = np.searchsorted(self.lat, lat_lb - _LAT_MARGIN, side="right") - 1
        best = np.where(i >= 0, self.acc[np.maximum(i, 0)], -np.inf)
        return np.asarray(best >= acc_ub + _ACC_MARGIN)


def single_partition_candidates(inputs: ModelInputs) -> Candidates:
    """Every configuration with L = 1 (blocks 1..p on one tier), in enumeration order."""
    n, m = inputs.num_blocks, inputs.num_tiers
    parts = np.arange(n, dtype=np.int64)[:, None]
    tiers = placements(m, 1)
    terms = partition_terms(inputs, parts, np.zeros(1, dtype=np.int64))
    lat = np.round(terms.features @ coefficients(inputs, tiers), LATENCY_DECIMALS).ravel()
    acc = np.repeat(np.round(terms.accuracy, ACCURACY_DECIMALS), m)
    size = n * m
    return Candidates(
        latency=lat,
        accuracy=acc,
        num_parts=np.ones(size, dtype=np.int64),
        order=np.arange(size, dtype=np.int64),
        threshold=np.full(size, -1, dtype=np.int64),
        partition=np.repeat(parts, m, axis=0),
        placement=np.tile(tiers, (n, 1)),
    )


def _order(inputs: ModelInputs, layers: list[Layer], comp: Completions) -> IntArray:
    """Rank-preserving code of (P, T, A) in enumeration order (0 when it would overflow)."""
    n, m, nt = inputs.num_blocks, inputs.num_tiers, inputs.num_thresholds
    num_parts = comp.k + 1
    if n**num_parts * nt * m**num_parts >= 2**62:
        return np.zeros(comp.parent.size, dtype=np.int64)
    layer = layers[comp.k - 1]
    pcode = layer.pcode[comp.parent] * n + comp.p_last
    acode = layer.acode[comp.parent] * m + comp.a_last
    order: IntArray = (pcode * nt + layer.t[comp.parent]) * m**num_parts + acode
    return order


def _reduce(inputs: ModelInputs, layers: list[Layer], closed: list[Completions]) -> Completions:
    """One layer's completions, reduced to their own frontier (exact ties by enumeration order)."""
    comp = Completions.concat(closed)
    keep = frontier_order(
        np.round(comp.lat, LATENCY_DECIMALS),
        np.round(comp.acc, ACCURACY_DECIMALS),
        _order(inputs, layers, comp),
    )
    return comp.take(keep)


def _finish(inputs: ModelInputs, layers: list[Layer], done: list[Completions]) -> Candidates:
    """The frontier of all completions, with configurations rebuilt for its points only."""
    widest = max((c.k + 1 for c in done), default=1)
    if not done:
        return Candidates.empty(widest)
    latency = np.round(np.concatenate([c.lat for c in done]), LATENCY_DECIMALS)
    accuracy = np.round(np.concatenate([c.acc for c in done]), ACCURACY_DECIMALS)
    num_parts = np.concatenate([np.full(c.parent.size, c.k + 1, dtype=np.int64) for c in done])
    order = np.concatenate([_order(inputs, layers, c) for c in done])
    group = np.concatenate([np.full(c.parent.size, g, dtype=np.int64) for g, c in enumerate(done)])
    row = np.concatenate([np.arange(c.parent.size, dtype=np.int64) for c in done])
    keep = frontier_order(latency, accuracy, num_parts, order)
    partition = np.full((keep.size, widest), -1, dtype=np.int64)
    placement = np.full((keep.size, widest), -1, dtype=np.int64)
    threshold = np.empty(keep.size, dtype=np.int64)
    for out, (g, r) in enumerate(zip(group[keep], row[keep], strict=True)):
        comp = done[int(g)]
        partition[out, comp.k], placement[out, comp.k] = comp.p_last[r], comp.a_last[r]
        index = int(comp.parent[r])
        threshold[out] = layers[comp.k - 1].t[index]
        for j in range(comp.k - 1, -1, -1):  # walk the parents back to the first layer
            partition[out, j], placement[out, j] = layers[j].p[index], layers[j].a[index]
            index = int(layers[j].parent[index])
    return Candidates(
        latency=latency[keep],
        accuracy=accuracy[keep],
        num_parts=num_parts[keep],
        order=order[keep],
        threshold=threshold,
        partition=partition,
        placement=placement,
    )


def _search(
    inputs: ModelInputs,
    *,
    max_parts: int,
    close_at: set[int],
    prune: Pruner,
    incumbent: _Incumbent | None,
) -> tuple[list[Layer], list[Completions], int]:
    """Grow layers 1 .. max_parts - 1, closing plans at the layers in ``close_at``."""
    if max_parts < 2:
        return [], [], 0
    tables = Tables.build(inputs)
    first = first_layer(tables)
    layer: Layer | None = first.take(~prune(*bounds(tables, first)))
    layers: list[Layer] = []
    done: list[Completions] = []
    states = 0
    while layer is not None and len(layer) and layer.k < max_parts:
        layers.append(layer)
        states += int(np.unique(layer.state_key(tables)).size)
        closed, grown = expand(
            tables, layer, close=layer.k in close_at, extend=layer.k + 1 < max_parts, prune=prune
        )
        if closed:
            reduced = _reduce(inputs, layers, closed)
            done.append(reduced)
            if incumbent is not None:
                incumbent.add(reduced.lat, reduced.acc)
        if incumbent is not None and grown is not None:
            grown = drop_subset_dominated(tables, grown, layer)
            grown = grown.take(~prune(*bounds(tables, grown)))
        layer = grown
    return layers, done, states


def exact_frontier(inputs: ModelInputs) -> ExactFrontier:
    """The Pareto frontier of all configurations, identical to enumerating them."""
    single = single_partition_candidates(inputs)
    max_parts = min(inputs.num_blocks, inputs.num_tiers)
    incumbent = _Incumbent(single.latency, single.accuracy)
    layers, done, states = _search(
        inputs,
        max_parts=max_parts,
        close_at=set(range(1, max_parts)),
        prune=incumbent.dead,
        incumbent=incumbent,
    )
    width = max(max_parts, 1)
    found = Candidates.concat([single, _finish(inputs, layers, done)], width)
    return ExactFrontier(
        frontier=found.frontier(),
        states_explored=states + inputs.num_blocks * inputs.num_tiers,
        labels_kept=sum(len(layer) for layer in layers),
    )


def exact_box(
    inputs: ModelInputs, num_parts: int, *, max_latency_s: float, min_accuracy: float
) -> Candidates:
    """The frontier of configurations with exactly ``num_parts`` partitions inside the box
    latency <= ``max_latency_s`` and accuracy >= ``min_accuracy`` (rounded values)."""
    if num_parts == 1:
        found = single_partition_candidates(inputs)
    else:

        def outside(lat_lb: FloatArray, acc_ub: FloatArray) -> npt.NDArray[np.bool_]:
            return np.asarray(
                (lat_lb > max_latency_s + _LAT_MARGIN) | (acc_ub < min_accuracy - _ACC_MARGIN)
            )

        layers, done, _ = _search(
            inputs, max_parts=num_parts, close_at={num_parts - 1}, prune=outside, incumbent=None
        )
        found = _finish(inputs, layers, done)
    inside = (found.latency <= round(max_latency_s, LATENCY_DECIMALS)) & (
        found.accuracy >= round(min_accuracy, ACCURACY_DECIMALS)
    )
    return found.take(np.flatnonzero(inside)).frontier()
