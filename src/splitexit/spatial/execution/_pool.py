"""The requester and its workers: profile in place, then execute strategies for real.

Workers are processes (``mode="process"``, multiprocessing ``spawn``; they talk over
multiprocessing queues, i.e. local pipes, never sockets) or threads (``mode="thread"``,
for tests). Their count is at most ``MAX_WORKERS``; every wait is bounded by ``wait_s``
and a worker that does not stop within 10 s is terminated.

>>> # with ExecutionPool(model, cluster) as pool:
>>> #     problem = pool.profile()
>>> #     output, latency_s = pool.run(strategy, image)
"""

from __future__ import annotations

import multiprocessing
import queue
import statistics
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from splitexit._validation import InstanceOf, Interval, Options, validate_params
from splitexit.errors import SplitexitError
from splitexit.spatial.devices._cluster import Cluster, Provider
from splitexit.spatial.devices._compile import make_problem
from splitexit.spatial.devices._devices import TableDevice
from splitexit.spatial.execution._emulated import MAX_WORKERS, EmulatedCluster
from splitexit.spatial.execution._links import REQUESTER, Links, links_of, wait_until
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.geometry._problem import Problem, Strategy

if TYPE_CHECKING:
    import torch

__all__ = [
    "KEEP_HEAP",
    "PROBE",
    "PROFILE_CHAIN",
    "PROFILE_GAP_S",
    "SHUFFLE_PASSES",
    "TIMING",
    "WARM_S",
    "ExecutionError",
    "ExecutionPool",
]

PROFILE_GAP_S = 2e-3  # the chained profile sleeps this long before each layer
PROFILE_WOKEN_EVERY = 4  # the chained profile runs every 4th pass woken (and the last)
# a woken pass sleeps before chains of this many layers (1: before each; 3: also near-layer
# tables, ``--profile-chain 3``, a trial in docs/spatial.md)
PROFILE_CHAIN = 1
# CPU seconds of untimed warm-up before each executed part and woken profile layer (timing
# "once"; the "twice" timing below does without it): after a
# worker slept, its next layer costs more CPU time the longer the sleep (other processes ran
# on the core), a cost of sharing this host that a real board waiting for its rows does not
# pay; 0.5 ms of warm-up took it from +64/+118/+250% to +15/+38/+54% after 2/10/50 ms here
# (benchmarks/bench_wakeup.py, docs/spatial.md "Session 11")
WARM_S = 5e-4
# How an emulated device's compute is timed, in the profile and when executing: "once" (a
# layer computed once, after the WARM_S warm-up before a part or woken layer; session 11) or
# "twice" (every layer computed twice in a row, the second run timed, the first dropped; the
# warm-up is then not used): the second run finds the layer's weights and rows where the
# first left them, so its CPU time no longer depends on how long the worker slept before or
# what ran on the core meanwhile, which the first layers of a part paid for after a wake-up
# (a host artefact; docs/spatial.md, "Session 12")
TIMING: Literal["once", "twice"] = "twice"
# Each round of the chained profile deals every layer's heights to its passes in a seeded
# random order (``shuffled_passes``): in the ordered passes every layer ran at the same share
# in one pass, so all the entries of a provider's parts were taken at the same moments of
# the host's load, and a method's simulated latency carried the noise of a few passes
SHUFFLE_PASSES = True
# Under the "twice" timing, every worker reads a fixed convolution (``SpeedProbe``) once per
# held compute lock and scales the CPU seconds of what it times under that lock by the
# reference reading (taken at first use) over the median of its last readings: this host's
# own speed drifts by 11-13% within 30 s on an idle machine (benchmarks/bench_host_drift.py),
# which the profile and the executed parts otherwise took at different moments; the default
# since session 15, after two whole sets held under it (docs/spatial.md, "Session 15")
PROBE = True
# Every worker process keeps the memory it frees for its next allocations (glibc's malloc,
# ``keep_heap``), so that no activation lands on fresh pages the kernel zeroes on first
# touch, a cost of this host charged to the emulated device's CPU time that differed
# between the profile's one-layer parts and an executed chain (docs/spatial.md, "Session
# 15"; threads share the requester's process and are left alone); the default since sets 7
# and 8 held under it (36 of 36 pairs within 10% in each)
KEEP_HEAP = True
PROFILE_WAIT_S = 1800.0  # the longest wait for a worker's profile (a dead one is seen in 1 s)


class ExecutionError(SplitexitError):
    """A worker failed, or did not answer in time."""


@validate_params(
    {
        "model": [InstanceOf(ModelSpec)],
        "cluster": [InstanceOf(EmulatedCluster)],
        "seed": [Interval(int, 0, None)],
        "mode": [Options(("process", "thread"))],
        "wait_s": [Interval(float, 0, None, closed="neither")],
        "warm_s": [Interval(float, 0, None)],
        "timing": [Options(("once", "twice"))],
        "shuffle_passes": [InstanceOf(bool)],
        "probe": [InstanceOf(bool)],
        "keep_heap": [InstanceOf(bool)],
    }
)
class ExecutionPool:
    """Emulated devices as workers; the calling process is the requester."""

    def __init__(
        self,
        model: ModelSpec,
        cluster: EmulatedCluster,
        *,
        seed: int = 0,
        mode: Literal["process", "thread"] = "process",
        wait_s: float = 120.0,
        warm_s: float = WARM_S,
        timing: Literal["once", "twice"] = TIMING,
        shuffle_passes: bool = SHUFFLE_PASSES,
        probe: bool = PROBE,
        keep_heap: bool = KEEP_HEAP,
    ):
        if cluster.size > MAX_WORKERS:
            raise ExecutionError(f"at most {MAX_WORKERS} workers, got {cluster.size}")
        self.model, self.cluster, self.seed, self.mode, self.wait_s = (
            model, cluster, seed, mode, wait_s,
        )  # fmt: skip
        self.warm_s, self.timing, self.shuffle_passes = warm_s, timing, shuffle_passes
        # what is in effect: the probe belongs to the twice timing, the heap to a process
        self.probe = probe and timing == "twice"  # scale every part to the host's speed
        self.keep_heap = keep_heap and mode == "process"  # threads: the caller's process
        self._workers: list[Any] = []
        self._inboxes: list[Any] = []
        self._answers: Any = None
        self._image = 0
        self._started = 0.0
        self.problem: Problem | None = None
        # the problem on the tables of the latest round of the chained profile alone
        self.latest_problem: Problem | None = None
        self.pipe_s = 0.0
        self.last_emulated_s = 0.0  # the last image's latency on the emulated clock
        # the emulated seconds of every layer of the parts of the last ``part_log``
        self.part_layers: dict[tuple[int, int, int], tuple[float, ...]] = {}

    def __enter__(self) -> ExecutionPool:
        from splitexit.spatial.execution._worker import WorkerSetup, worker_main

        if self.mode == "process":
            ctx = multiprocessing.get_context("spawn")
            self._inboxes = [ctx.Queue() for _ in self.cluster.devices]
            self._answers = ctx.Queue()
            lock: Any = ctx.Lock()
        else:
            self._inboxes = [queue.Queue() for _ in self.cluster.devices]
            self._answers = queue.Queue()
            lock = threading.Lock()
        for k, device in enumerate(self.cluster.devices):
            setup = WorkerSetup(
                k, device.name, self.model, device.slowdown, self.seed, self.wait_s, self.warm_s,
                twice=self.timing == "twice", shuffle=self.shuffle_passes, probe=self.probe,
                keep_heap=self.keep_heap,
            )  # fmt: skip
            args = (setup, self._inboxes[k], self._inboxes, self._answers, lock)
            worker: Any
            if self.mode == "process":
                worker = ctx.Process(target=worker_main, args=args, daemon=True)
            else:
                worker = threading.Thread(target=worker_main, args=args, daemon=True)
            worker.start()
            self._workers.append(worker)
        ready = 0
        while ready < self.cluster.size:
            self._answer()
            ready += 1
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        for inbox in self._inboxes:
            inbox.put(("stop",))
        for worker in self._workers:
            worker.join(timeout=10.0)
            if self.mode == "process" and worker.is_alive():
                worker.terminate()
                worker.join(timeout=5.0)
        self._workers = []

    def _answer(self, wait_s: float | None = None) -> tuple[Any, ...]:
        wait_s = self.wait_s if wait_s is None else wait_s
        deadline = time.monotonic() + wait_s
        while True:
            try:
                msg: tuple[Any, ...] = self._answers.get(timeout=1.0)
                break
            except queue.Empty:
                dead = [k for k, w in enumerate(self._workers) if not w.is_alive()]
                if dead:
                    name = self.cluster.names[dead[0]]
                    raise ExecutionError(f"worker {name!r} exited unexpectedly") from None
                if time.monotonic() > deadline:
                    raise ExecutionError(f"no worker answered within {wait_s:g} s") from None
        if msg[0] == "error":
            raise ExecutionError(f"worker {self.cluster.names[msg[1]]!r} failed: {msg[2]}")
        return msg

    def profile(
        self,
        *,
        granularity: int = 1,
        repeats: int = 3,
        warmup: int = 1,
        mode: Literal["chained", "isolated"] = "chained",
        gap_s: float = PROFILE_GAP_S,
        together: bool | None = None,
        sleep_out: bool = True,
        woken_every: int = PROFILE_WOKEN_EVERY,
        chain: int = PROFILE_CHAIN,
    ) -> Problem:
        """Profile every worker under its slowdown; the problem on those tables.

        ``"chained"`` (the default, the way parts run): all workers at once, each on its own
        weights in passes through the model, every ``woken_every``-th pass woken (asleep
        before each layer, ``sleep_out``: as long as the device would still be busy with the
        previous one, at least ``gap_s``; the compute lock taken for each layer: first-layer
        tables) and every pass chained (the lock held through the pass); ``ChainedProfile``,
        which keeps its samples for :meth:`profile_more`.
        ``"isolated"``: one layer at a time with 8 MB written before each run, one worker
        at a time unless ``together``.
        """
        tables: dict[int, TableDevice] = {}
        n = self.cluster.size
        if together is None:
            together = mode == "chained"
        for group in [list(range(n))] if together else [[k] for k in range(n)]:
            for k in group:
                message = ("profile", granularity, repeats, warmup, mode, gap_s, sleep_out)
                self._inboxes[k].put((*message, woken_every, chain))
            while not all(k in tables for k in group):
                msg = self._answer(PROFILE_WAIT_S)
                tables[msg[1]] = msg[2]
        return self.use_tables([tables[k] for k in range(self.cluster.size)])

    def profile_more(self, rounds: int = 1) -> Problem:
        """More rounds of the chained profile (all workers at once, as it was taken);
        the problem on the tables of every round so far (``latest_problem``: on the last
        round's alone)."""
        if self.problem is None:
            raise ExecutionError("take a chained profile before profiling more")
        for inbox in self._inboxes:
            inbox.put(("profile-more", rounds))
        tables: dict[int, TableDevice] = {}
        latest: dict[int, TableDevice] = {}
        while len(tables) < self.cluster.size:
            msg = self._answer(PROFILE_WAIT_S)
            tables[msg[1]], latest[msg[1]] = msg[2], msg[3]
        self.latest_problem = self._problem_of([latest[k] for k in range(self.cluster.size)])
        return self.use_tables([tables[k] for k in range(self.cluster.size)])

    def measure_pipe(self, *, count: int = 30, ahead_s: float = 2e-3) -> float:
        """How late a stamped delivery is used here (median); kept as ``pipe_s``.

        Each worker gets ``count`` messages stamped ``ahead_s`` ahead and waits for the stamp
        as it does for rows; the lateness (transit through the pipe, then the wake-up, on
        this machine under its current load) is the part of each transfer's overhead the
        emulation pays for real, and ``Links`` stamps only the rest.
        """
        late = []
        for k in range(self.cluster.size):
            for _ in range(count):
                self._inboxes[k].put(("ping", time.monotonic() + ahead_s))
                late.append(float(self._answer()[2]))
        self.pipe_s = max(statistics.median(late), 0.0)
        return self.pipe_s

    @property
    def last_image(self) -> int:
        """The id of the last image run (the key of :meth:`part_log`)."""
        return self._image

    def part_log(self) -> dict[tuple[int, int, int], float]:
        """Emulated seconds of every split-part run since the last call, by
        ``(image, device, stage)`` (stage: the volume; ``num_layers``: the FC tail); the
        seconds of each layer of those parts are kept in ``part_layers``, by the same keys."""
        for inbox in self._inboxes:
            inbox.put(("log",))
        parts: dict[tuple[int, int, int], float] = {}
        self.part_layers = {}
        for _ in self._inboxes:
            msg = self._answer()
            for image, stage, seconds, layers in msg[2]:
                parts[(image, msg[1], stage)] = seconds
                self.part_layers[(image, msg[1], stage)] = layers
        return parts

    def use_tables(self, tables: list[TableDevice]) -> Problem:
        """The problem of the emulated cluster with these device tables (also for reuse)."""
        self.problem = self._problem_of(tables)
        return self.problem

    def _problem_of(self, tables: list[TableDevice]) -> Problem:
        providers = tuple(
            Provider(d.name, table, d.bandwidth)
            for d, table in zip(self.cluster.devices, tables, strict=True)
        )
        cluster = Cluster(
            providers, self.cluster.requester_bandwidth, self.cluster.overhead_s,
            name=self.cluster.name,
        )  # fmt: skip
        return make_problem(self.model, cluster)

    def run(self, strategy: Strategy, image: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Execute one image; its output and its end-to-end latency in seconds.

        The latency is the requester's wall clock; ``last_emulated_s`` keeps the result's
        delivery stamp (the emulated clock's latency): the difference is how late the host
        delivered it (it could not keep up with the emulated devices).
        """
        from splitexit.spatial.execution._worker import plan_volume

        if self.problem is None:
            raise ExecutionError("profile the workers (or give tables) before running")
        links = links_of(self.problem, self.pipe_s)
        self._image += 1
        image_id = self._image
        started = self._started = time.monotonic()
        for inbox in self._inboxes:
            inbox.put(("go", image_id, strategy.boundaries, strategy.splits, links, started))
        a, b, lo, hi = plan_volume(self.model, strategy.boundaries, strategy.splits, 0)
        t = started
        for k in range(self.cluster.size):
            if b[k] >= a[k]:
                deliver, busy = links.transfer(
                    REQUESTER, k, (hi[k] - lo[k] + 1) * links.in_row_bits
                )
                piece = image[:, :, lo[k] : hi[k] + 1].numpy().copy()
                self._inboxes[k].put(("data", image_id, 0, REQUESTER, lo[k], piece, t + deliver))
                t += busy
        output = self._collect(image_id, strategy, links)
        return output, time.monotonic() - started

    def _collect(self, image_id: int, strategy: Strategy, links: Links) -> torch.Tensor:
        import torch

        if self.model.tail_pool != "none":
            msg = self._answer()
            self.last_emulated_s = msg[3] - self._started
            wait_until(msg[3])
            result: torch.Tensor = torch.from_numpy(msg[2])
            return result
        a, b = _last_rows(self.model, strategy)
        parts = []
        latest = 0.0
        for _ in [k for k in range(len(a)) if b[k] >= a[k]]:
            msg = self._answer()
            parts.append((msg[3], torch.from_numpy(msg[4])))
            latest = max(latest, msg[5])
        self.last_emulated_s = latest - self._started
        wait_until(latest)
        parts.sort(key=lambda part: part[0])
        return torch.cat([rows for _, rows in parts], dim=2)


def _last_rows(model: ModelSpec, strategy: Strategy) -> tuple[list[int], list[int]]:
    from splitexit.spatial.execution._worker import plan_volume

    a, b, _, _ = plan_volume(model, strategy.boundaries, strategy.splits, len(strategy.splits) - 1)
    return a, b
