"""The measurement protocol of seed 004 (section 4.3) as bookkeeping, with no runtime.

Each strategy is measured in blocks of one repetition (``inferences`` sequential inferences
over the same samples). Blocks are ordered so that machine noise does not favour one
strategy: ``interleaved`` runs repetition r of every strategy before repetition r + 1,
``randomized`` shuffles all blocks with a seed, ``sequential`` is the seed's literal order
(all repetitions of a strategy, then the next). Whenever the strategy changes, its workers
are restarted and warmed up (``warmup`` inferences whose latencies are discarded).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from splitexit._validation import InstanceOf, Interval, Options, returned_type, validate_params

__all__ = [
    "Event",
    "Strategy",
    "choose_samples",
    "make_schedule",
]


@validate_params(
    {"subject": [InstanceOf(str)], "operator": [InstanceOf(str)], "tiers": [InstanceOf(str)]}
)
@dataclass(frozen=True, order=True)
class Strategy:
    """One measured cell: a subject under an operator on a tier set (seed 004's strategy).

    >>> Strategy("resnet", "P", "ME").label
    'resnet P@ME'
    """

    subject: str
    operator: str
    tiers: str

    @property
    def label(self) -> str:
        return f"{self.subject} {self.operator}@{self.tiers}"


@returned_type
@dataclass(frozen=True)
class Event:
    """One step of the protocol: ``restart`` (fresh workers), ``warmup`` (latencies thrown
    away) or ``measure`` (one repetition, logged)."""

    kind: Literal["restart", "warmup", "measure"]
    strategy: Strategy
    repetition: int  # 1-based for measure; 0 for restart and warm-up
    samples: tuple[int, ...]


@validate_params(
    {
        "sizes": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "count": [Interval(int, 1, None, closed="left")],
        "choice": [Options(("largest", "first", "random"))],
        "seed": [Interval(int, 0, None, closed="left")],
    }
)
def choose_samples(
    sizes: Sequence[int], count: int, *, choice: str = "largest", seed: int = 0
) -> tuple[int, ...]:
    """Indices of the ``count`` samples to measure: the largest inputs (the seed's upper
    bound; ties keep the lower index), the first ones, or a seeded random subset.

    >>> choose_samples([5, 9, 1, 9], 2)
    (1, 3)
    """
    n = len(sizes)
    if count > n:
        raise ValueError(f"cannot choose {count} samples from {n}")
    if choice == "largest":
        order = np.argsort(-np.asarray(sizes, dtype=np.int64), kind="stable")[:count]
        return tuple(int(i) for i in np.sort(order))
    if choice == "first":
        return tuple(range(count))
    if choice == "random":
        picked = np.random.default_rng(seed).choice(n, size=count, replace=False)
        return tuple(int(i) for i in np.sort(picked))
    raise ValueError(f"choice must be largest, first or random, got {choice!r}")


def _cycle(samples: Sequence[int], length: int) -> tuple[int, ...]:
    return tuple(samples[i % len(samples)] for i in range(length))


@validate_params(
    {
        "strategies": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "samples": [InstanceOf(dict)],
        "repetitions": [Interval(int, None, None)],  # its own check words the bound
        "warmup": [Interval(int, 0, None, closed="left")],
        "inferences": [Interval(int, 1, None, closed="left")],
        "order": [InstanceOf(str)],  # its own check lists the orders
        "seed": [Interval(int, 0, None, closed="left")],
    }
)
def make_schedule(
    strategies: Sequence[Strategy],
    samples: dict[str, tuple[int, ...]],
    *,
    repetitions: int,
    warmup: int,
    inferences: int,
    order: str = "interleaved",
    seed: int = 0,
) -> list[Event]:
    """The whole protocol as a list of events. ``samples`` maps a subject to its sample
    indices; a block or warm-up of more inferences than samples cycles over them.

    >>> s = [Strategy("m", "I", "M"), Strategy("m", "I", "E")]
    >>> ev = make_schedule(s, {"m": (0, 1)}, repetitions=2, warmup=1, inferences=2)
    >>> [(e.kind, e.strategy.tiers, e.repetition) for e in ev][:4]
    [('restart', 'M', 0), ('warmup', 'M', 0), ('measure', 'M', 1), ('restart', 'E', 0)]
    """
    if repetitions < 1:
        raise ValueError(f"repetitions must be >= 1, got {repetitions}")
    blocks: list[tuple[Strategy, int]]
    if order == "interleaved":
        blocks = [(s, r) for r in range(1, repetitions + 1) for s in strategies]
    elif order == "sequential":
        blocks = [(s, r) for s in strategies for r in range(1, repetitions + 1)]
    elif order == "randomized":
        ordered = [(s, r) for s in strategies for r in range(1, repetitions + 1)]
        perm = np.random.default_rng(seed).permutation(len(ordered))
        blocks = [ordered[int(i)] for i in perm]
    else:
        raise ValueError(f"order must be interleaved, randomized or sequential, got {order!r}")
    events: list[Event] = []
    previous: Strategy | None = None
    for strategy, repetition in blocks:
        chosen = samples[strategy.subject]
        if strategy != previous:
            events.append(Event("restart", strategy, 0, ()))
            if warmup:
                events.append(Event("warmup", strategy, 0, _cycle(chosen, warmup)))
        events.append(Event("measure", strategy, repetition, _cycle(chosen, inferences)))
        previous = strategy
    return events
