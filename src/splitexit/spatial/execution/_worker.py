"""One emulated device: a loop that profiles or executes its split-parts (imports torch).

Messages (tuples) arrive in the worker's inbox:

- ``("profile", granularity, repeats, warmup, mode, gap_s, sleep_out, woken_every, chain)``: time
  every layer at several heights under the device's slowdown (``mode`` ``"chained"``:
  ``ChainedProfile``, passes through the model, woken ones asleep before each layer, each
  timed run under the compute lock; ``"isolated"``: ``measure_device``, one layer at a
  time, 8 MB written before each timed run) and answer
  ``("profile", k, TableDevice)``. The chained profile runs on the worker's own weights
  (those its split-parts use) and keeps its samples:
- ``("profile-more", rounds)``: that many more rounds of it; answer the table of all rounds
  and that of the last round alone (``("profile", k, TableDevice, TableDevice)``).
- ``("go", image, boundaries, splits, links, t0)``: execute image ``image`` under a
  strategy; ``t0`` is the requester's start of the image.
- ``("data", image, stage, src, lo, rows, deliver_at)``: rows ``lo..`` of a map from
  ``src`` (``-1``: the requester), usable from ``deliver_at`` (``time.monotonic``); stage
  ``v`` feeds volume ``v``, stage ``V`` the FC tail.
- ``("ping", t)``: wait until ``t`` as for rows, answer ``("pong", k, seconds late)``.
- ``("log",)``: answer ``("log", k, [(image, stage, emulated seconds, per layer), ...])``,
  every split-part computed since the last ``log`` (stage ``num_layers``: the FC tail, with
  no per-layer seconds).
- ``("stop",)``.

A worker answers ``("ready", k)`` once its weights are built (the same seeded weights as
the requester's reference model).

Rows travel as numpy arrays (plain pickled bytes through the pipe; a torch tensor would be
moved to shared memory and its file descriptor passed, a cost no real link has). Answers go
to the requester's queue: ``("result", image, tensor, deliver_at)`` from the
tail device, ``("part", image, src, lo, rows, deliver_at)`` for a model without a tail, and
``("error", k, text)`` when anything fails.
"""

from __future__ import annotations

import functools
import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from splitexit.spatial.devices._measure import (
    ChainedProfile,
    SpeedProbe,
    measure_device,
    time_part_twice,
)
from splitexit.spatial.devices._slowdown import keep_heap, timed
from splitexit.spatial.execution._links import REQUESTER, Links, wait_until
from splitexit.spatial.geometry._geometry import ModelSpec, cuts_to_intervals, volume_rows
from splitexit.spatial.geometry._torch import TorchModel, run_split_part, warm_split_part

__all__ = ["WorkerSetup", "plan_volume", "worker_main"]

# torch.manual_seed is global: workers that are threads build their weights one at a time.
_BUILD_LOCK = threading.Lock()
IDLE_TIMEOUT_S = 900.0  # a worker whose requester vanished exits after this much silence
FLUSH_BYTES = 8 << 20  # the isolated profile evicts caches before each timed run


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker is started with (picklable)."""

    index: int
    name: str
    model: ModelSpec
    slowdown: float
    seed: int
    wait_s: float  # the longest wait for one message of an image
    warm_s: float = 0.0  # CPU seconds of untimed warm-up before each part (WARM_S)
    twice: bool = False  # every layer computed twice, the second timed (TIMING "twice")
    shuffle: bool = False  # the chained profile deals heights to passes at random per round
    probe: bool = False  # every part scaled to the host's reference speed (twice timing only)
    keep_heap: bool = False  # a process keeps what it frees (``keep_heap``): no page zeroing


def _lapped(clock: list[float], work: Callable[..., torch.Tensor], *args: Any, **kw: Any) -> Any:
    """``work(*args, **kw)``, the thread's CPU clock appended to ``clock`` first."""
    clock.append(time.thread_time())
    return work(*args, **kw)


def plan_volume(
    model: ModelSpec, boundaries: tuple[int, ...], splits: tuple[tuple[int, ...], ...], v: int
) -> tuple[list[int], list[int], list[int], list[int]]:
    """Output rows ``a, b`` and input rows ``lo, hi`` of every provider in volume ``v``."""
    first, last = boundaries[v], boundaries[v + 1] - 1
    a, b = cuts_to_intervals(np.asarray(splits[v], dtype=np.int64), model.layers[last].h_out)
    lo, hi = volume_rows(model.layers[first : last + 1], a, b)[-1]
    return a.tolist(), b.tolist(), lo.tolist(), hi.tolist()


class _Worker:
    def __init__(self, setup: WorkerSetup, inbox: Any, peers: list[Any], requester: Any, lock: Any):
        self.setup, self.inbox, self.peers, self.requester = setup, inbox, peers, requester
        self.lock = lock
        with _BUILD_LOCK:
            self.net = TorchModel(setup.model, seed=setup.seed).eval()
        # the profile and the executed parts share one probe and its reference
        self.probe = SpeedProbe(seed=setup.seed) if setup.probe else None
        self.pending: dict[tuple[int, int, int], tuple[int, torch.Tensor, float]] = {}
        self.ready = 0.0  # when the emulated device finishes its current work (monotonic)
        self.start = 0.0  # when its current split-part starts on the emulated clock
        self.image = 0  # the image being executed
        self.stage = 0  # the stage being computed (a volume; ``num_layers``: the FC tail)
        # (image, stage, emulated seconds, emulated seconds of each layer of the part)
        self.log: list[tuple[int, int, float, tuple[float, ...]]] = []

    def _await(self, key: tuple[int, int, int]) -> tuple[int, torch.Tensor, float]:
        deadline = time.monotonic() + self.setup.wait_s
        while key not in self.pending:
            msg = self.inbox.get(timeout=max(0.01, deadline - time.monotonic()))
            if msg[0] != "data":
                raise RuntimeError(f"expected rows {key}, got message {msg[0]!r}")
            _, image, stage, src, lo, rows, deliver_at = msg
            self.pending[(image, stage, src)] = (lo, torch.from_numpy(rows), deliver_at)
        return self.pending.pop(key)

    def _gather(
        self, image: int, stage: int, sources: list[int], own: tuple[int, torch.Tensor] | None
    ) -> tuple[int, torch.Tensor]:
        """The rows of a split-part's input, once they (and the device) are ready.

        Sets ``self.start``, the emulated time the part starts: the device's readiness or
        the latest delivery stamp, whichever is later (the wall clock is slept up to it).
        """
        pieces = [self._await((image, stage, src)) for src in sources]
        self.start = max([self.ready, *(p[2] for p in pieces)])
        wait_until(self.start)
        parts = [(lo, rows) for lo, rows, _ in pieces]
        if own is not None:
            parts.append(own)
        parts.sort(key=lambda part: part[0])
        return parts[0][0], torch.cat([rows for _, rows in parts], dim=2)

    def _compute(
        self,
        work: Callable[[], torch.Tensor],
        laps: list[float] | None = None,
        warm: Callable[[], object] | None = None,
    ) -> torch.Tensor:
        """Run ``work`` now; the emulated device is ready after its emulated seconds.

        No sleep here: the worker sleeps once, at its next wait (``_gather``), until both its
        own readiness and the rows' delivery stamps have passed. The emulated clock starts
        the part at ``self.start`` (set by ``_gather``), not at the wall time the host got to
        it: the host's own bookkeeping (waking up, slicing, pickling) is not the emulated
        device's. The host computes one split-part at a time (``lock``, shared by the
        workers), so that co-running workers do not evict each other's caches.
        """
        with self.lock:
            if warm is not None:
                warm()
            result, seconds = timed(work, self.setup.slowdown)
        self.ready = self.start + seconds
        steps = [] if laps is None else laps
        layers = tuple(self.setup.slowdown * (t - s) for s, t in itertools.pairwise(steps))
        self.log.append((self.image, self.stage, seconds, layers))
        return result

    def _compute_twice(
        self, first: int, last: int, x: torch.Tensor, x_lo: int, a: int, b: int
    ) -> torch.Tensor:
        """As :meth:`_compute`, every layer computed twice and the second run timed
        (``run_split_part_twice``; the *twice* timing): the part's emulated seconds are the
        sum of its layers' second runs."""
        with self.lock:
            result, layers = time_part_twice(
                self.net, first, last, x, x_lo, a, b, self.setup.slowdown, self.probe
            )
        seconds = sum(layers)
        self.ready = self.start + seconds
        self.log.append((self.image, self.stage, seconds, layers))
        return result

    def run_image(self, image: int, boundaries: Any, splits: Any, links: Links, t0: float) -> None:
        k, model, net = self.setup.index, self.setup.model, self.net
        volumes = len(splits)
        self.image = image
        link_free = self.ready = t0  # the requester's start of this image
        mine: tuple[int, torch.Tensor] | None = None  # my rows of the previous volume's output
        held: tuple[list[int], list[int]] | None = None
        plan = plan_volume(model, boundaries, splits, 0)
        for v in range(volumes):
            a, b, lo, hi = plan
            y: tuple[int, torch.Tensor] | None = None
            if b[k] >= a[k]:
                if held is None:
                    x_lo, x = self._gather(image, 0, [REQUESTER], None)
                else:
                    own = None
                    if mine is not None:
                        top, bot = max(lo[k], mine[0]), min(hi[k], mine[0] + mine[1].shape[2] - 1)
                        if bot >= top:
                            own = (top, mine[1][:, :, top - mine[0] : bot - mine[0] + 1])
                    sources = [
                        j for j in range(len(a))
                        if j != k and min(hi[k], held[1][j]) >= max(lo[k], held[0][j])
                    ]  # fmt: skip
                    x_lo, x = self._gather(image, v, sources, own)
                first, last = boundaries[v], boundaries[v + 1] - 1
                self.stage = v
                if self.setup.twice:
                    out = self._compute_twice(first, last, x, x_lo, a[k], b[k])
                else:
                    laps: list[float] = []
                    part = functools.partial(
                        _lapped, laps, run_split_part, net, first, last, x, x_lo, a[k], b[k],
                        laps=laps,
                    )  # fmt: skip
                    warm = functools.partial(
                        warm_split_part, net, first, last, x, x_lo, a[k], b[k], self.setup.warm_s
                    )
                    out = self._compute(part, laps, warm if self.setup.warm_s > 0 else None)
                y = (a[k], out)
            mine, held = y, (a, b)
            if v + 1 < volumes:
                plan = plan_volume(model, boundaries, splits, v + 1)
                link_free = self._send_rows(image, v + 1, y, plan, links, link_free, boundaries)
        self._finish(image, mine, held, links, link_free)

    def _send_rows(
        self,
        image: int,
        stage: int,
        y: tuple[int, torch.Tensor] | None,
        plan: tuple[list[int], list[int], list[int], list[int]],
        links: Links,
        link_free: float,
        boundaries: tuple[int, ...],
    ) -> float:
        if y is None:
            return link_free
        k = self.setup.index
        _, _, lo, hi = plan
        needs = [plan[1][j] >= plan[0][j] for j in range(len(lo))]
        row_bits = links.row_bits(boundaries[stage])
        t = max(link_free, self.ready)
        start, rows = y
        for j, busy in enumerate(needs):
            top, bot = max(lo[j], start), min(hi[j], start + rows.shape[2] - 1)
            if j == k or not busy or bot < top:
                continue
            deliver, busy_s = links.transfer(k, j, (bot - top + 1) * row_bits)
            piece = rows[:, :, top - start : bot - start + 1].contiguous()
            self.peers[j].put(("data", image, stage, k, top, piece.numpy(), t + deliver))
            t += busy_s
        return t

    def _finish(
        self,
        image: int,
        mine: tuple[int, torch.Tensor] | None,
        held: tuple[list[int], list[int]] | None,
        links: Links,
        link_free: float,
    ) -> None:
        k, model = self.setup.index, self.setup.model
        assert held is not None
        a, b = held
        counts = [max(bj - aj + 1, 0) for aj, bj in zip(a, b, strict=True)]
        row_bits = links.out_row_bits[-1]
        stage = model.num_layers
        if model.tail_pool == "none":
            if mine is not None:
                t = max(link_free, self.ready)
                deliver, _ = links.transfer(k, REQUESTER, counts[k] * row_bits)
                self.requester.put(("part", image, k, mine[0], mine[1].numpy(), t + deliver))
            return
        m = int(np.argmax(counts))
        if k != m:
            if mine is not None:
                t = max(link_free, self.ready)
                deliver, _ = links.transfer(k, m, counts[k] * row_bits)
                self.peers[m].put(("data", image, stage, k, mine[0], mine[1].numpy(), t + deliver))
            return
        sources = [j for j in range(len(counts)) if j != m and counts[j] > 0]
        _, x = self._gather(image, stage, sources, mine)
        self.stage = stage
        head = functools.partial(self.net.head, x)
        z = self._compute(head, warm=head if self.setup.twice else None)  # twice: once untimed
        t = max(link_free, self.ready)
        deliver, _ = links.transfer(k, REQUESTER, links.result_bits)
        self.requester.put(("result", image, z.numpy(), t + deliver))


def worker_main(
    setup: WorkerSetup, inbox: Any, peers: list[Any], requester: Any, lock: Any
) -> None:
    """The loop of one worker (a process or a thread); see the module docstring."""
    try:
        torch.set_num_threads(1)
        if setup.keep_heap:  # before the weights and the rows are allocated
            keep_heap()
        worker = _Worker(setup, inbox, peers, requester, lock)
        profile: ChainedProfile | None = None
        requester.put(("ready", setup.index))
        with torch.inference_mode():
            while True:
                try:
                    msg = inbox.get(timeout=IDLE_TIMEOUT_S)
                except queue.Empty:
                    return
                if msg[0] == "stop":
                    return
                if msg[0] == "profile" and msg[4] == "chained":
                    _, granularity, repeats, warmup, _, gap_s, sleep_out, woken_every, chain = msg
                    profile = ChainedProfile(
                        setup.model, worker.net, name=setup.name, granularity=granularity,
                        slowdown=setup.slowdown, gap_s=gap_s, lock=lock, sleep_out=sleep_out,
                        woken_every=woken_every, warm_s=setup.warm_s, chain=chain,
                        twice=setup.twice,
                        shuffle_seed=setup.seed * 64 + setup.index if setup.shuffle else None,
                        probe=worker.probe,
                    )  # fmt: skip
                    for round_ in range(warmup + repeats):
                        profile.round(keep=round_ >= warmup)
                    requester.put(("profile", setup.index, profile.table()))
                elif msg[0] == "profile":
                    _, granularity, repeats, warmup, mode, *_ = msg
                    table = measure_device(
                        setup.model, name=setup.name, granularity=granularity,
                        repeats=repeats, warmup=warmup, slowdown=setup.slowdown, seed=setup.seed,
                        flush_bytes=FLUSH_BYTES, mode=mode,
                    )  # fmt: skip
                    requester.put(("profile", setup.index, table))
                elif msg[0] == "profile-more":  # more rounds of the chained profile
                    if profile is None:
                        raise RuntimeError("profile-more before a chained profile")
                    for _ in range(msg[1]):
                        profile.round()
                    answer = (profile.table(), profile.table(latest=True))
                    requester.put(("profile", setup.index, *answer))
                elif msg[0] == "ping":  # a delivery stamped msg[1]: how late is it used?
                    wait_until(msg[1])
                    requester.put(("pong", setup.index, time.monotonic() - msg[1]))
                elif msg[0] == "log":  # the emulated seconds of every part so far
                    requester.put(("log", setup.index, worker.log))
                    worker.log = []
                elif msg[0] == "go":
                    _, image, boundaries, splits, links, t0 = msg
                    worker.run_image(image, boundaries, splits, links, t0)
                elif msg[0] == "data":
                    _, image, stage, src, lo, rows, deliver_at = msg
                    worker.pending[(image, stage, src)] = (lo, torch.from_numpy(rows), deliver_at)
    except Exception as exc:  # reported to the requester, which raises one clear error
        requester.put(("error", setup.index, f"{type(exc).__name__}: {exc}"))
