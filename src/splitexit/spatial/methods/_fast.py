"""Our fast optimizer: equal-finish splitting on the real (non-linear) timing, then search.

1. **Split** a partition volume by volume, in order, like the agent of Algorithm 2, but
   solving each step directly: the split decisions make the providers finish the volume
   together *as the simulator times it* (latency tables, halos, I/O overhead, shared links,
   the accumulated latencies ``T_{l-1}``); see :class:`ExactFinish`. Because senders serve
   their destinations in device order, the finish time of provider ``k`` is exact once the
   rows of providers ``0..k-1`` are fixed, so the greedy of ``equal_finish_cuts`` is exact.
2. **Start** from several partitions (LC-PSS for several alpha, AOFL's, one volume per
   downsampling stage, one volume), each with every set of active providers (the k fastest
   for large groups: a slow link or board can cost more than it brings), and from offloading
   embedded in each partition.
3. **Polish** the best starts by coordinate descent with exact line searches on the split
   decisions (:func:`polish`): this finds the lopsided splits where a second provider takes
   only the few rows it can finish and hand back in time.
4. **Hill-climb** on the partition (add, drop or move one location) with what is left.

Offloading (Fig. 1(d)), AOFL's strategy and any given strategies (the previous one, when
re-planning online) are starts too, so the result never loses to them (:data:`FAST_STARTS`
says them in words, for reports). The search is bounded by a number of simulator evaluations
(:mod:`~splitexit.spatial.methods._budget`), not by seconds: one seed, one result.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.spatial.geometry._geometry import FloatArray, IntArray, volume_rows
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import Run, simulate
from splitexit.spatial.methods._baselines import aofl, deeperthings, offload
from splitexit.spatial.methods._budget import SPLIT_VOLUME_COST, Budget
from splitexit.spatial.methods._equalize import equal_finish_cuts
from splitexit.spatial.methods._lcpss import check_alpha, lcpss
from splitexit.spatial.methods._polish import polish, polish_within

__all__ = ["FAST_EVALUATIONS", "FAST_STARTS", "ExactFinish", "fast", "polish", "split_volumes"]

FAST_EVALUATIONS = 5000
FAST_STARTS = (
    "offload; AOFL's strategy; given starts (re-planning: the previous strategy); the "
    "partitions of LC-PSS (alpha in 0.25, 0.5, 0.75, 1 and the given alpha, the given seed), "
    "AOFL, DeeperThings (one volume per downsampling stage) and one volume, each split by "
    "equal finish on every set of active providers (the k fastest beyond 5) and offloaded "
    "to the fastest provider"
)


@validate_params(
    {
        "run": [InstanceOf(Run)],
        "final": [InstanceOf(bool)],
        "active": [InstanceOf(tuple, list), None],
    }
)
class ExactFinish:
    """Finish time of a provider's part of the next volume of ``run``, as the simulator has it.

    For the last volume the time to hand its rows on (to the requester) is added, so that the
    gathering is balanced too.
    """

    def __init__(self, run: Run, *, final: bool, active: Sequence[bool] | None = None):
        p = run.problem
        self.active = [True] * p.num_devices if active is None else list(active)
        first = run.boundaries[run.volume]
        last = run.boundaries[run.volume + 1] - 1
        self.layers = p.model.layers[first : last + 1]
        self.tables = p.volume_tables(first, last)
        self.compute_free = run.compute_free.tolist()
        held = run._held
        self.held = None if held is None else (held[0].tolist(), held[1].tolist())
        self.start_links = (
            [run.requester_link_free]
            if held is None
            else [max(run.link_free[j], run.ready[j]) for j in range(p.num_devices)]
        )
        self.links = list(self.start_links)
        self.row_bits = p.input_row_bits(first)
        self.rate = run._rate
        self.req_rate = run._req_rate
        self.bw = run._bw
        self.req_bw = run._req_bw
        self.overhead = run._overhead
        self.return_bits = float(p.out_row_bits[last]) if final else 0.0
        self._rows: dict[int, tuple[list[IntArray], IntArray, IntArray]] = {}

    def _parts(self, start: int) -> tuple[list[IntArray], IntArray, IntArray]:
        if start not in self._rows:
            stops = np.arange(start, self.layers[-1].h_out + 1, dtype=np.int64)
            rows = volume_rows(self.layers, np.full(stops.shape, start), stops - 1)
            counts = [np.maximum(hi - lo + 1, 0) for lo, hi in rows[:-1]]
            self._rows[start] = (counts, rows[-1][0], rows[-1][1])
        return self._rows[start]

    def reset(self) -> None:
        self.links = list(self.start_links)

    def _transfers(
        self, k: int, in_lo: IntArray, in_hi: IntArray
    ) -> list[tuple[int, FloatArray, FloatArray]]:
        """Per sender: transfer time to ``k`` and time the sender's link is occupied."""
        ov = self.overhead
        if self.held is None:
            bits = np.maximum(in_hi - in_lo + 1, 0) * self.row_bits
            return [(0, bits / self.req_rate[k] + ov, bits / self.req_bw + ov)]
        out = []
        for j, (h_lo, h_hi) in enumerate(zip(*self.held, strict=True)):
            if j == k or h_hi < h_lo:
                continue
            rows = np.minimum(in_hi, h_hi) - np.maximum(in_lo, h_lo) + 1
            bits = np.maximum(rows, 0) * self.row_bits
            sent = rows > 0
            out.append(
                (
                    j,
                    np.where(sent, bits / self.rate[j][k] + ov, 0.0),
                    np.where(sent, bits / self.bw[j] + ov, 0.0),
                )
            )
        return out

    def finish(self, k: int, start: int, stops: IntArray) -> FloatArray:
        if not self.active[k]:
            return np.where(stops > start, np.inf, 0.0)
        counts, in_lo, in_hi = self._parts(start)
        index = stops - start
        comp = sum(table[k, c[index]] for table, c in zip(self.tables, counts, strict=True))
        arrival = np.zeros(index.shape)
        for j, dt, _ in self._transfers(k, in_lo[index], in_hi[index]):
            arrival = np.maximum(arrival, np.where(dt > 0, self.links[j] + dt, 0.0))
        done = np.maximum(self.compute_free[k], arrival) + comp
        if self.return_bits:
            done = done + (stops - start) * self.return_bits / self.req_rate[k] + self.overhead
        return np.where(stops > start, done, 0.0)

    def commit(self, k: int, start: int, stop: int) -> None:
        if stop <= start:
            return
        _, in_lo, in_hi = self._parts(start)
        i = stop - start
        for j, _, busy in self._transfers(k, in_lo[i : i + 1], in_hi[i : i + 1]):
            self.links[j] += float(busy[0])


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "boundaries": [InstanceOf(tuple, list)],
        "active": [InstanceOf(tuple, list), None],
    }
)
def split_volumes(
    problem: Problem, boundaries: Sequence[int], active: Sequence[bool] | None = None
) -> Strategy:
    """Equal-finish split decisions for every volume of a partition, in order.

    Providers not ``active`` get empty split-parts.
    """
    run = Run(problem, boundaries)
    splits = []
    volumes = len(boundaries) - 1
    for v in range(volumes):
        model = ExactFinish(run, final=v == volumes - 1, active=active)
        height = problem.height(boundaries[v + 1] - 1)
        cuts = equal_finish_cuts(model, height, problem.num_devices)
        splits.append(cuts)
        run.step(cuts)
    return Strategy(tuple(boundaries), tuple(splits))


def _neighbours(boundaries: tuple[int, ...], n: int) -> list[tuple[int, ...]]:
    """Partitions one location away: add or drop a location, or move one by a layer."""
    inner = set(boundaries[1:-1])
    out = [inner ^ {j} for j in range(1, n)]
    for j in inner:
        out += [(inner - {j}) | {m} for m in (j - 1, j + 1) if 0 < m < n and m not in inner]
    return [(0, *sorted(b), n) for b in out]


def _subsets(problem: Problem) -> list[tuple[bool, ...]]:
    """Sets of active providers: all of them for up to 5, else the k fastest for every k."""
    d = problem.num_devices
    if d <= 5:  # every set, all providers first
        masks = itertools.product((True, False), repeat=d)
        return [m for m in masks if any(m)]
    n, height = problem.num_layers, problem.height(problem.num_layers - 1)
    alone = [
        simulate(problem, Strategy((0, n), (tuple([0] * k + [height] * (d - 1 - k)),))).latency_s
        for k in range(d)
    ]
    order = np.argsort(alone, kind="stable")
    return [tuple(bool(k in order[:size]) for k in range(d)) for size in range(d, 0, -1)]


def _alone_on(problem: Problem, boundaries: tuple[int, ...], k: int) -> Strategy:
    """Every volume of ``boundaries`` on provider ``k`` alone (offloading, Fig. 1(d))."""
    d = problem.num_devices
    splits = []
    for end in boundaries[1:]:
        height = problem.height(end - 1)
        splits.append(tuple([0] * k + [height] * (d - 1 - k)))
    return Strategy(boundaries, tuple(splits))


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "max_evaluations": [Interval(int, None, None)],
        "alpha": [Interval(float, None, None)],
        "seed": [Interval(int, 0, None)],
        "starts": [InstanceOf(tuple, list)],
        "time_limit_s": [Interval(float, None, None), None],
    }
)
def fast(
    problem: Problem,
    *,
    max_evaluations: int = FAST_EVALUATIONS,
    alpha: float = 0.75,
    seed: int = 0,
    starts: Sequence[Strategy] = (),
    time_limit_s: float | None = None,
) -> Strategy:
    """Our optimizer, bounded by ``max_evaluations`` simulator evaluations (deterministic).

    1. Starting grid (up to 30% of the evaluations; splitting a volume by equal finish costs
       ``SPLIT_VOLUME_COST``): partitions (LC-PSS for alpha in 0.25..1 and the given
       ``alpha``, AOFL's, one per downsampling stage, one volume) times sets of active
       providers, each split by equal finish; plus offloading embedded in each partition
       (all on the fastest provider), which the line search can then open up.
    2. Multi-start polish (up to 85%): the best start of every partition, best first.
    3. Partition hill-climb with the rest: add, drop or move one location, re-split, polish.

    Offloading, AOFL's strategy and the given ``starts`` (e.g. the previous strategy when
    re-planning online) are starting points too, so the result is never worse than any.
    The default 5000 evaluations take about 5 s here. ``time_limit_s`` is an optional
    wall-clock guard, off by default; with it the result may depend on the machine's load.

    >>> from splitexit.spatial import group_cluster, load_model, make_problem
    >>> problem = make_problem(load_model("tinycnn"), group_cluster("DA", bandwidth=50e6))
    >>> fast(problem, max_evaluations=300) == fast(problem, max_evaluations=300)
    True
    """
    budget = Budget(max_evaluations, time_limit_s=time_limit_s)
    check_alpha(alpha)
    n = problem.num_layers

    def latency(strategy: Strategy) -> float:
        budget.spend()
        return simulate(problem, strategy).latency_s

    def split(boundaries: Sequence[int], active: Sequence[bool] | None) -> Strategy:
        budget.spend(SPLIT_VOLUME_COST * (len(boundaries) - 1))
        return split_volumes(problem, boundaries, active)

    baseline = offload(problem)
    fastest = sum(1 for cut in baseline.splits[0] if cut == 0)  # offload: cuts 0..0, H..H
    linear = aofl(problem)
    pool = [(latency(s), s) for s in (baseline, linear, *starts)]
    partitions = sorted(
        {lcpss(problem, alpha=a, seed=seed) for a in {alpha, 0.25, 0.5, 0.75, 1.0}}
        | {linear.boundaries, deeperthings(problem).boundaries, (0, n)}
    )
    subsets = _subsets(problem)
    best_subset: dict[tuple[int, ...], tuple[bool, ...]] = {}
    for boundaries in partitions:
        alone = _alone_on(problem, boundaries, fastest)
        options = [(latency(alone), alone)]
        for active in subsets:
            if budget.exhausted(0.3):
                break
            strategy = split(boundaries, active)
            options.append((latency(strategy), strategy))
            if min(options, key=lambda o: o[0])[1] is strategy:
                best_subset[boundaries] = active
        options.sort(key=lambda o: o[0])
        pool.append(options[0])
        # The runner-up with different split decisions, if any, as a second start.
        other = [o for o in options if o[1].splits != options[0][1].splits]
        pool.extend(other[:1])
    pool.sort(key=lambda o: o[0])
    best = pool[0]
    polish_end = int(0.85 * budget.total)
    for k, (_, start) in enumerate(pool):
        if budget.exhausted(0.85):
            break
        share = (polish_end - budget.used) // (len(pool) - k)
        inner = budget.sub(share)
        tuned = polish_within(problem, start, inner)
        budget.spend(inner.used)
        result = (latency(tuned), tuned)
        if result[0] < best[0]:
            best = result
    seen = set(partitions)
    improved = True
    while improved and not budget.exhausted(0.97):
        improved = False
        for boundaries in _neighbours(best[1].boundaries, n):
            if boundaries in seen or budget.exhausted(0.97):
                continue
            seen.add(boundaries)
            chosen = best_subset.get(best[1].boundaries)
            trial = split(boundaries, chosen)
            inner = budget.sub(min(int(0.97 * budget.total) - budget.used, 200))
            trial = polish_within(problem, trial, inner)
            budget.spend(inner.used)
            result = (latency(trial), trial)
            if result[0] < best[0] - 1e-12:
                best, improved = result, True
                if chosen is not None:
                    best_subset[boundaries] = chosen
    return best[1]
