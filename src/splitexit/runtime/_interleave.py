"""Several configurations measured in interleaved blocks, so that each one's samples span
the same wall-clock interval (docs/fidelity.md, "Session 11, interleaved").

Measured one after the other, a configuration gets whatever load the machine had during its
own minutes; a drift of the load then lands on one configuration's mean and tail, and no
model of the configuration can be held to it. Interleaved, the ``samples`` of every
configuration are split into ``blocks`` blocks, sample position i in block i % blocks (each
block a stride through the samples, so every block has the same mix of samples and exits),
and the measurement goes round by round: in round r every configuration measures its block
r, the configurations visited in a random order drawn afresh each round from one seeded
generator (no configuration always first or last in a round, where a periodic disturbance
could follow it).

Every configuration keeps its workers, namespaces and deployed chain for the whole run
(``open_testbed``), rather than being restarted per block: its partitions are loaded and
timed once (the deploy-time ``reference_s`` the runtime-timed model reads is one
measurement, as in a sequential run), and only the warm samples, which are never recorded,
are streamed again at the start of each block to bring its connections and threads back
from the pause while the others ran.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

__all__ = ["interleaved_order", "measure_interleaved"]


class _Session(Protocol):  # TestbedSession's part used here
    @property
    def count(self) -> int: ...

    def block(self, positions: Sequence[int], *, progress: Callable[[], None] | None) -> Any: ...

    def measurement(self) -> dict[str, Any]: ...


@validate_params(
    {
        "configurations": [Interval(int, 1, None)],
        "samples": [Interval(int, 1, None)],
        "blocks": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def interleaved_order(
    configurations: int, samples: int, blocks: int, seed: int = 0
) -> list[tuple[int, list[int]]]:
    """The measurement order: (configuration, its sample positions in this block), round by
    round; every configuration once per round, in a seeded random order per round.

    >>> interleaved_order(3, 5, 2, seed=0)  # doctest: +NORMALIZE_WHITESPACE
    [(2, [0, 2, 4]), (0, [0, 2, 4]), (1, [0, 2, 4]),
     (2, [1, 3]), (1, [1, 3]), (0, [1, 3])]
    """
    if blocks > samples:
        raise InputError(f"interleave must be at most the samples ({samples}), got {blocks}")
    rng = np.random.default_rng(seed)
    order: list[tuple[int, list[int]]] = []
    for r in range(blocks):
        positions = list(range(r, samples, blocks))
        order.extend((int(c), positions) for c in rng.permutation(configurations))
    return order


@validate_params(
    {
        "sessions": [InstanceOf(list, tuple)],
        "blocks": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
        "progress": [InstanceOf(list, tuple), None],
    }
)
def measure_interleaved(
    sessions: Sequence[_Session],
    blocks: int,
    *,
    seed: int = 0,
    progress: Sequence[Callable[[], None] | None] | None = None,
) -> list[dict[str, Any]]:
    """Measure every session's samples in ``blocks`` interleaved blocks
    (:func:`interleaved_order`); returns their measurement mappings, in session order.
    ``progress[c]``, when given, is session c's per-sample hook."""
    if not sessions:
        raise InputError("interleaving needs at least one configuration")
    counts = {s.count for s in sessions}
    if len(counts) != 1:
        raise InputError(f"interleaved configurations must measure as many samples, got {counts}")
    hooks = list(progress) if progress is not None else [None] * len(sessions)
    for c, positions in interleaved_order(len(sessions), counts.pop(), blocks, seed):
        sessions[c].block(positions, progress=hooks[c])
    return [s.measurement() for s in sessions]
