"""Label-setting dynamic programming over partial plans (the engine of the exact solver).

A partial plan with k partitions ends at block p on tier a, having used the set of tiers U
(a bitmask), under threshold T. Every term of the model that is still to come depends only on
this state (T, p, a, U), so per state only the Pareto-optimal (latency so far, accuracy so far)
labels matter. From a state, a plan either closes with a last partition (p, p_L] on a tier
a' not in U, whose samples all exit (E_L = S_k), or continues with a non-last partition
(p, q] on a' not in U. With S = S_k(p) and E = E_{k+1}(p, q):

    continue: dLat = S * (PL(a,a') + O_p IB(a,a')) + S * R[a'] * work(p, q) + E * res(a')
              dAcc = acc_q * E
    close:    dLat = S * (PL(a,a') + O_p IB(a,a') + R[a'] * work(p, p_L) + res(a'))
              dAcc = acc_{p_L} * S

where work(p, q) = CK_{p+1} + ... + CK_q + CB_q and res(a) = PL(a, D) + result_bits IB(a, D).
The caller decides what may be pruned (see ``Pruner``); this module only applies the rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit.perfmodel import ModelInputs

__all__ = [
    "Completions",
    "Layer",
    "Pruner",
    "Tables",
    "bounds",
    "drop_subset_dominated",
    "expand",
    "first_layer",
    "segment_frontier",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
# (latency lower bounds, accuracy upper bounds) -> mask of labels that cannot matter
Pruner = Callable[[FloatArray, FloatArray], BoolArray]


@dataclass(frozen=True, eq=False)
class Tables:
    """Per-instance constants of the recursion, derived once."""

    inputs: ModelInputs
    result_cost: FloatArray  # res(a), (M,)
    max_acc_after: FloatArray  # max acc_q over q > p, (N,)
    future: FloatArray  # least cost per staying sample from (a, U, p), (M, 2^M, N); see bounds

    @classmethod
    def build(cls, inputs: ModelInputs) -> Tables:
        n, m = inputs.num_blocks, inputs.num_tiers
        mo = inputs.message_cost  # per-message overheads, zeros in the paper's model
        res = (
            inputs.path_latency[:, inputs.destination]
            + inputs.result_bits * (inputs.path_inv_bandwidth[:, inputs.destination])
            + mo[:, inputs.destination]
        )
        # work(p, q) = cum[q+1] - cum[p+1] + CB[q]; minimise cum[q+1] + CB[q] over q > p.
        ends = inputs.compute_cum[1:] + inputs.branch_compute
        suffix_min = np.minimum.accumulate(ends[::-1])[::-1]
        min_work = np.full(n, np.inf)
        min_work[:-1] = suffix_min[1:] - inputs.compute_cum[1:n]
        suffix_acc = np.maximum.accumulate(inputs.accuracy[::-1])[::-1]
        max_acc = np.full(n, -np.inf)
        max_acc[:-1] = suffix_acc[1:]
        masks = np.arange(1 << m)
        free = ((masks[:, None] >> np.arange(m)) & 1) == 0  # (2^M, M)
        min_ratio = np.where(free, inputs.compute_ratio, np.inf).min(axis=1)
        min_result = np.where(free, res, np.inf).min(axis=1)
        # future[a, U, p]: cheapest hop of O_p bits from a to a tier outside U, plus the least
        # compute and delivery any continuation must pay, per staying sample
        # (a full U has no continuation at all: inf, also where the least work is 0)
        with np.errstate(invalid="ignore"):  # inf * 0 where np.where discards it
            compute = np.where(
                np.isinf(min_ratio)[:, None], np.inf, min_ratio[:, None] * min_work[None, :]
            )
        rest = compute + min_result[:, None]  # (U, p)
        future = np.empty((m, 1 << m, n))
        for a in range(m):
            hop = (
                inputs.path_latency[a][:, None]
                + inputs.path_inv_bandwidth[a][:, None] * (inputs.output_bits[None, :])
                + mo[a][:, None]
            )  # (a', p)
            future[a] = np.where(free[:, :, None], hop[None], np.inf).min(axis=1) + rest
        return cls(inputs, res, max_acc, future)


@dataclass(frozen=True, eq=False)
class Layer:
    """Labels of partial plans with k partitions. ``parent`` indexes the previous layer;
    ``pcode`` / ``acode`` encode the partition and placement prefixes in base N and base M,
    which orders plans exactly like the enumeration (for ties)."""

    k: int
    t: IntArray
    p: IntArray
    a: IntArray
    used: IntArray
    lat: FloatArray
    acc: FloatArray
    parent: IntArray
    pcode: IntArray
    acode: IntArray

    def __len__(self) -> int:
        return int(self.lat.shape[0])

    def take(self, index: IntArray | BoolArray) -> Layer:
        return Layer(
            self.k,
            self.t[index],
            self.p[index],
            self.a[index],
            self.used[index],
            self.lat[index],
            self.acc[index],
            self.parent[index],
            self.pcode[index],
            self.acode[index],
        )

    def state_key(self, tables: Tables) -> IntArray:
        n, m = tables.inputs.num_blocks, tables.inputs.num_tiers
        return ((self.t * n + self.p) * m + self.a) * (1 << m) + self.used

    def tie_key(self, tables: Tables) -> IntArray:
        scale = int(tables.inputs.num_tiers) ** self.k
        key: IntArray = self.pcode * scale + self.acode
        return key


@dataclass(frozen=True, eq=False)
class Completions:
    """Whole plans with k + 1 partitions made by closing labels of layer k."""

    k: int  # layer of the parent labels
    parent: IntArray
    a_last: IntArray
    p_last: IntArray
    lat: FloatArray
    acc: FloatArray

    def take(self, index: IntArray) -> Completions:
        return Completions(
            self.k,
            self.parent[index],
            self.a_last[index],
            self.p_last[index],
            self.lat[index],
            self.acc[index],
        )

    @staticmethod
    def concat(parts: list[Completions]) -> Completions:
        return Completions(
            parts[0].k,
            np.concatenate([c.parent for c in parts]),
            np.concatenate([c.a_last for c in parts]),
            np.concatenate([c.p_last for c in parts]),
            np.concatenate([c.lat for c in parts]),
            np.concatenate([c.acc for c in parts]),
        )


def segment_frontier(key: IntArray, lat: FloatArray, acc: FloatArray, tie: IntArray) -> IntArray:
    """Indices of the Pareto-optimal labels of each group ``key`` (exact ties: smallest tie)."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((tie, -acc, lat, key))
    k, a = key[order], acc[order]
    starts = np.empty(k.size, dtype=bool)
    starts[0] = True
    starts[1:] = k[1:] != k[:-1]
    # A running maximum of accuracy that restarts at each group: accuracies lie in [0, 1],
    # so lifting group g by 2g keeps groups apart under one np.maximum.accumulate.
    lifted = a + 2.0 * (np.cumsum(starts) - 1)
    best = np.maximum.accumulate(lifted)
    keep = starts.copy()
    keep[1:] |= lifted[1:] > best[:-1]
    kept: IntArray = order[keep].astype(np.int64)
    return kept


def first_layer(tables: Tables) -> Layer:
    """Labels of one non-last partition (blocks 1..p on tier a) for every (T, p, a)."""
    inputs = tables.inputs
    nt, n, m = inputs.num_thresholds, inputs.num_blocks, inputs.num_tiers
    t, p, a = (
        x.ravel() for x in np.meshgrid(np.arange(nt), np.arange(n - 1), np.arange(m), indexing="ij")
    )
    exits = inputs.exit_cum[t, p + 1]
    src = inputs.source
    lat = (
        inputs.path_latency[src, a]
        + inputs.input_bits * inputs.path_inv_bandwidth[src, a]
        + inputs.message_cost[src, a]
        + inputs.compute_ratio[a] * (inputs.compute_cum[p + 1] + inputs.branch_compute[p])
        + exits * tables.result_cost[a]
    )
    return Layer(
        k=1,
        t=t,
        p=p,
        a=a,
        used=(1 << a).astype(np.int64),
        lat=lat,
        acc=inputs.accuracy[p] * exits,
        parent=np.full(t.size, -1, dtype=np.int64),
        pcode=p.copy(),
        acode=a.copy(),
    )


def bounds(tables: Tables, layer: Layer) -> tuple[FloatArray, FloatArray]:
    """Optimistic final (latency, accuracy) of every label: whatever comes next must move the
    S staying samples to an unused tier, run at least one partition there, and deliver."""
    stay = 1.0 - tables.inputs.exit_cum[layer.t, layer.p + 1]
    future = tables.future[layer.a, layer.used, layer.p]
    # a label with nowhere to go (future = inf) is hopeless even when nobody stays
    ahead = np.where(np.isinf(future), np.inf, stay * future)
    return layer.lat + ahead, layer.acc + stay * tables.max_acc_after[layer.p]


def expand(
    tables: Tables, layer: Layer, *, close: bool, extend: bool, prune: Pruner
) -> tuple[list[Completions], Layer | None]:
    """Close every label into whole plans and/or extend it by one non-last partition.

    Completions and new labels that ``prune`` rejects are dropped as they are made; the new
    labels are then reduced to each state's Pareto set.
    """
    inputs = tables.inputs
    n, m = inputs.num_blocks, inputs.num_tiers
    cum, exit_cum, ratio = inputs.compute_cum, inputs.exit_cum, inputs.compute_ratio
    stay = 1.0 - exit_cum[layer.t, layer.p + 1]
    closed: list[Completions] = []
    grown: list[Layer] = []
    for nxt in range(m):
        rows = np.flatnonzero(((layer.used >> nxt) & 1) == 0)
        if rows.size == 0:
            continue
        p, s = layer.p[rows], stay[rows]
        hop = s * (
            inputs.path_latency[layer.a[rows], nxt]
            + inputs.output_bits[p] * inputs.path_inv_bandwidth[layer.a[rows], nxt]
            + inputs.message_cost[layer.a[rows], nxt]
        )
        # every q in p+1 .. N-1 for every row, flattened
        counts = (n - 1) - p
        rep = np.repeat(np.arange(rows.size), counts)
        q = np.arange(rep.size) - np.repeat(np.cumsum(counts) - counts, counts) + p[rep] + 1
        work = cum[q + 1] - cum[p[rep] + 1] + inputs.branch_compute[q]
        base = layer.lat[rows][rep] + hop[rep]
        if close:
            lat = base + s[rep] * (ratio[nxt] * work + tables.result_cost[nxt])
            acc = layer.acc[rows][rep] + inputs.accuracy[q] * s[rep]
            ok = ~prune(lat, acc)
            closed.append(
                Completions(layer.k, rows[rep][ok], np.full(ok.sum(), nxt), q[ok], lat[ok], acc[ok])
            )
        if extend:
            mid = q <= n - 2
            r, qm = rep[mid], q[mid]
            parent = rows[r]
            exits = exit_cum[layer.t[parent], qm + 1] - exit_cum[layer.t[parent], p[r] + 1]
            child = Layer(
                k=layer.k + 1,
                t=layer.t[parent],
                p=qm,
                a=np.full(qm.size, nxt, dtype=np.int64),
                used=layer.used[parent] | (1 << nxt),
                lat=base[mid] + s[r] * ratio[nxt] * work[mid] + exits * tables.result_cost[nxt],
                acc=layer.acc[parent] + inputs.accuracy[qm] * exits,
                parent=parent,
                pcode=layer.pcode[parent] * n + qm,
                acode=layer.acode[parent] * m + nxt,
            )
            grown.append(child.take(~prune(*bounds(tables, child))))
    if not extend or not grown:
        return closed, None
    merged = _concat(grown)
    keep = segment_frontier(
        merged.state_key(tables), merged.lat, merged.acc, merged.tie_key(tables)
    )
    return closed, merged.take(keep)


def _concat(layers: list[Layer]) -> Layer:
    def cat(name: str) -> Any:
        return np.concatenate([getattr(layer, name) for layer in layers])

    return Layer(
        layers[0].k,
        cat("t"),
        cat("p"),
        cat("a"),
        cat("used"),
        cat("lat"),
        cat("acc"),
        cat("parent"),
        cat("pcode"),
        cat("acode"),
    )


def drop_subset_dominated(tables: Tables, layer: Layer, previous: Layer) -> Layer:
    """Drop labels of ``layer`` dominated by a label of ``previous`` at the same (T, p, a)
    whose used tiers are a subset: the latter can do everything the former can, with one
    partition fewer (which also wins exact ties). Only valid when plans of any length count.
    """
    m = tables.inputs.num_tiers
    lifted: list[Layer] = []
    for extra in range(m):
        rows = np.flatnonzero(((previous.used >> extra) & 1) == 0)
        moved = previous.take(rows)
        lifted.append(
            Layer(
                layer.k,
                moved.t,
                moved.p,
                moved.a,
                moved.used | (1 << extra),
                moved.lat,
                moved.acc,
                moved.parent,
                moved.pcode,
                moved.acode,
            )
        )
    rivals = _concat(lifted)
    both = _concat([rivals, layer])
    # rivals sort first among exact ties, so an equal label of ``layer`` is dropped
    tie = np.concatenate(
        [np.zeros(len(rivals), dtype=np.int64), np.ones(len(layer), dtype=np.int64)]
    )
    keep = segment_frontier(both.state_key(tables), both.lat, both.acc, tie)
    return layer.take(np.sort(keep[keep >= len(rivals)] - len(rivals)))
