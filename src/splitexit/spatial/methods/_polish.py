"""Polishing split decisions: coordinate descent with exact line searches on the simulator.

Changing the split of volume ``v`` leaves the simulation of volumes ``0..v-1`` unchanged, so
the states after each prefix are kept (:class:`_Prefixes`) and only the rest is re-simulated.
The search is bounded by a number of evaluations (:class:`Budget`), so it is deterministic.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import Run, simulate
from splitexit.spatial.methods._budget import Budget

__all__ = ["polish", "polish_within"]


class _Prefixes:
    """Latency of a strategy whose volumes change one at a time, reusing simulated prefixes."""

    def __init__(
        self,
        problem: Problem,
        boundaries: tuple[int, ...],
        splits: list[list[int]],
        budget: Budget,
    ):
        self.problem, self.boundaries, self.splits = problem, boundaries, splits
        self.budget = budget
        self._states: list[Run] = []
        self.rebuild(0)

    def rebuild(self, volume: int) -> None:
        """Recompute the states after ``splits[volume]`` changed."""
        del self._states[volume + 1 :]
        if not self._states:
            self._states.append(Run(self.problem, self.boundaries))
        run = self._states[-1].copy()
        for cuts in self.splits[len(self._states) - 1 :]:
            run.step(cuts)
            self._states.append(run.copy())

    def latency(self, volume: int, cuts: Sequence[int]) -> float:
        """End-to-end latency with volume ``volume`` split at ``cuts`` instead (one evaluation)."""
        self.budget.spend()
        run = self._states[volume].copy()
        run.step(cuts)
        for later in self.splits[volume + 1 :]:
            run.step(later)
        return run.finish().latency_s


def _candidates(lo: int, hi: int, current: int, step: int) -> list[int]:
    if hi - lo <= 48:
        return list(range(lo, hi + 1))
    grid = set(range(lo, hi + 1, step)) | {hi}
    return sorted(grid | set(range(max(lo, current - step), min(hi, current + step) + 1)))


def _valid(cuts: list[int], height: int) -> bool:
    return all(0 <= x <= height for x in cuts) and all(a <= b for a, b in itertools.pairwise(cuts))


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "strategy": [InstanceOf(Strategy)],
        "max_evaluations": [Interval(int, None, None)],
        "time_limit_s": [Interval(float, None, None), None],
    }
)
def polish(
    problem: Problem,
    strategy: Strategy,
    *,
    max_evaluations: int = 2000,
    time_limit_s: float | None = None,
) -> Strategy:
    """Coordinate descent on the split decisions, with exact line searches and pair moves.

    Single moves: each split decision in turn is set to its best value between its
    neighbours (every value when at most 48 rows apart, else a grid plus the neighbourhood of
    the current value); this can empty a part or hand a whole volume to one provider. When no
    single move helps, pair moves shift the same split point of two consecutive volumes by up
    to two rows each (a provider's share often has to change in both at once). Repeats until
    nothing improves or ``max_evaluations`` simulations are spent (about 1 ms each here);
    ``time_limit_s`` is an optional wall-clock guard, off by default (with it, the result can
    depend on the machine's load).

    >>> from splitexit.spatial import group_cluster, load_model, make_problem, offload
    >>> problem = make_problem(load_model("vgg16"), group_cluster("DA", bandwidth=50e6))
    >>> start = offload(problem)
    >>> polish(problem, start, max_evaluations=50) == polish(problem, start, max_evaluations=50)
    True
    """
    budget = Budget(max_evaluations, time_limit_s=time_limit_s)
    return polish_within(problem, strategy, budget)


def polish_within(problem: Problem, strategy: Strategy, budget: Budget) -> Strategy:
    """:func:`polish` spending evaluations of ``budget`` (shared with a caller's search)."""
    splits = [list(cuts) for cuts in strategy.splits]
    heights = [problem.height(e - 1) for e in strategy.boundaries[1:]]
    prefixes = _Prefixes(problem, strategy.boundaries, splits, budget)
    best = prefixes.latency(0, splits[0]) if splits else simulate(problem, strategy).latency_s

    def result() -> Strategy:
        return Strategy(strategy.boundaries, tuple(tuple(c) for c in splits))

    while not budget.exhausted():
        improved = False
        for v, cuts in enumerate(splits):
            for i in range(len(cuts)):
                lo = cuts[i - 1] if i > 0 else 0
                hi = cuts[i + 1] if i + 1 < len(cuts) else heights[v]
                step = max(1, (hi - lo) // 32)
                for value in _candidates(lo, hi, cuts[i], step):
                    if value == cuts[i]:
                        continue
                    latency = prefixes.latency(v, [*cuts[:i], value, *cuts[i + 1 :]])
                    if latency < best - 1e-12:
                        best, cuts[i], improved = latency, value, True
                prefixes.rebuild(v)
                if budget.exhausted():
                    return result()
        if improved:
            continue
        for v in range(len(splits) - 1):
            for i in range(len(splits[v])):
                for d1 in (-2, -1, 1, 2):
                    for d2 in (-2, -1, 1, 2):
                        first = [*splits[v][:i], splits[v][i] + d1, *splits[v][i + 1 :]]
                        second = [
                            *splits[v + 1][:i],
                            splits[v + 1][i] + d2,
                            *splits[v + 1][i + 1 :],
                        ]
                        if not (_valid(first, heights[v]) and _valid(second, heights[v + 1])):
                            continue
                        old = splits[v + 1]
                        splits[v + 1] = second
                        prefixes.rebuild(v + 1)
                        latency = prefixes.latency(v, first)
                        if latency < best - 1e-12:
                            best, splits[v], improved = latency, first, True
                            prefixes.rebuild(v)
                        else:
                            splits[v + 1] = old
                            prefixes.rebuild(v + 1)
            if budget.exhausted():
                return result()
        if not improved:
            break
    return result()
