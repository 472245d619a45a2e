"""The emulated testbed: deploy an exported configuration on one worker per tier and measure.

Samples are the first ``samples`` images of the profile's profiling split, so sample ``i``
is row ``i`` of the profile's trace and the fidelity report can compare exits one by one.
The result is a ``splitexit.measurement/1`` mapping (see docs/runtime.md).
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splitexit._validation import (
    Callable_,
    Constraint,
    InstanceOf,
    Interval,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.export import Manifest
from splitexit.runtime._cgroup import CpuLimits, quota_for
from splitexit.runtime._cpu_calibration import effective_slowdowns
from splitexit.runtime._driver import Chain
from splitexit.runtime._local import LocalWorkers
from splitexit.runtime._netns_testbed import netns_workers, path_charge
from splitexit.runtime._pixels import PixelCodec
from splitexit.runtime._plan import ChainPlan, plan_of
from splitexit.runtime._records import SampleRecord, check_run_settings
from splitexit.runtime._transport import WorkerOptions
from splitexit.topology import Topology

__all__ = [
    "MEASUREMENT_FORMAT",
    "NETWORKS",
    "TestbedOptions",
    "TestbedSession",
    "measure",
    "open_testbed",
    "run_testbed",
    "stream_block",
    "summarize",
]

MEASUREMENT_FORMAT = "splitexit.measurement/1"
# emulated: the sending process sleeps each link's charge (runtime/_links.py); netns: every
# tier in its own network namespace, links shaped by the kernel (runtime/_netns_testbed.py)
NETWORKS = ("emulated", "netns")


@validate_params(
    {
        "samples": [Interval(int, None, None)],
        "clients": [Interval(int, None, None)],
        "compute_mode": [InstanceOf(str)],
        "threads": [Interval(int, None, None)],
        "warmup": [Interval(int, None, None)],
        "warm_samples": [Interval(int, None, None)],
        "deadline_s": [Interval(float, None, None)],
        "queue": [Interval(int, 1, None)],
        "transport": [InstanceOf(str)],
        "ready_timeout_s": [Interval(float, None, None)],
        "network": [InstanceOf(str)],
    }
)
@dataclass(frozen=True)
class TestbedOptions:
    """How the testbed runs: how many samples and clients, the compute stretch, the limits."""

    __test__ = False  # not a pytest class

    samples: int = 200
    clients: int = 1
    compute_mode: str = "sleep"
    threads: int = 1  # ONNX Runtime intra-op threads per worker
    warmup: int = 20  # runs per partition to time its reference (median)
    warm_samples: int = 3  # streamed first and not recorded (connections, first-call costs)
    deadline_s: float = 60.0
    queue: int = 32
    transport: str = "grpc"  # how samples travel: gRPC calls or TCP frames (runtime/_frames.py)
    ready_timeout_s: float = 30.0  # wait for each worker to answer, and for local ones to start
    network: str = "emulated"  # or "netns" (root): one of NETWORKS

    def __post_init__(self) -> None:
        if self.samples < 1 or self.clients < 1 or self.threads < 1 or self.warmup < 1:
            raise InputError(
                "samples, clients, threads and warm-up runs must be >= 1, got "
                f"{self.samples}, {self.clients}, {self.threads}, {self.warmup}"
            )
        check_run_settings(self.compute_mode, self.transport, self.deadline_s, self.ready_timeout_s)
        if self.warm_samples < 0:
            raise InputError(f"warm samples must be >= 0, got {self.warm_samples}")
        if self.network not in NETWORKS:
            raise InputError(f"network must be one of {', '.join(NETWORKS)}, got {self.network!r}")


@validate_params(
    {
        "chain": [InstanceOf(Chain)],
        "images": [InstanceOf(np.ndarray)],
        "labels": [InstanceOf(np.ndarray)],
        "options": [InstanceOf(TestbedOptions)],
        "progress": [Callable_(), None],
        "after_deploy": [Callable_(), None],
    }
)
def measure(
    chain: Chain,
    images: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    options: TestbedOptions,
    *,
    progress: Callable[[], None] | None = None,
    after_deploy: Callable[[], None] | None = None,
) -> list[SampleRecord]:
    """Deploy on a ready chain, stream the warm samples, then the measured ones.

    ``progress`` is called once per measured sample; when it also has an ``observe(latency_s)``
    method (the CLI's live p50/p99), it sees each delivered sample's latency (None: failed)."""
    chain.wait_ready()
    chain.deploy()
    if after_deploy is not None:
        after_deploy()
    return stream_block(chain, images, labels, range(len(labels)), options, progress=progress)


def stream_block(
    chain: Chain,
    images: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    positions: Iterable[int],
    options: TestbedOptions,
    *,
    progress: Callable[[], None] | None = None,
) -> list[SampleRecord]:
    """On a deployed chain: the first ``options.warm_samples`` samples (not recorded), then
    the samples at ``positions`` of ``images``/``labels`` (records indexed by position, in
    the order given). ``progress`` as in :func:`measure`."""
    chosen = [int(p) for p in positions]
    warm = min(options.warm_samples, len(labels))
    if warm:
        chain.stream(images[:warm], labels[:warm], list(range(warm)))
    block_images, block_labels = images[chosen], labels[chosen]
    observe = getattr(progress, "observe", None)
    if observe is None:
        return chain.stream(
            block_images, block_labels, chosen, clients=options.clients, progress=progress
        )
    infer = chain.infer

    def infer_observed(*args: Any, **kwargs: Any) -> SampleRecord:
        record = infer(*args, **kwargs)
        observe(record.latency_s if record.status == "delivered" else None)
        return record

    chain.infer = infer_observed  # type: ignore[method-assign]  # this stream only
    try:
        return chain.stream(
            block_images, block_labels, chosen, clients=options.clients, progress=progress
        )
    finally:
        del chain.infer  # the class's method again


_RUN_PARAMS: dict[str, Sequence[Constraint | None]] = {
    "manifest": [InstanceOf(Manifest)],
    "folder": [PathLike()],
    "topology": [InstanceOf(Topology)],
    "images": [InstanceOf(np.ndarray)],
    "labels": [InstanceOf(np.ndarray)],
    "pixels": [InstanceOf(PixelCodec), None],
    "options": [InstanceOf(TestbedOptions)],
    "profile_name": [InstanceOf(str)],
    "connect": [InstanceOf(Mapping), None],
    "token": [InstanceOf(str), None],
    "worker_options": [InstanceOf(WorkerOptions), None],
    "sink_listen": [InstanceOf(str)],
    "worker_args": [InstanceOf(list, tuple)],
}


@validate_params({**_RUN_PARAMS, "progress": [Callable_(), None]})
def run_testbed(
    manifest: Manifest,
    folder: Path,
    topology: Topology,
    images: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    pixels: PixelCodec | None,
    options: TestbedOptions,
    *,
    profile_name: str,
    connect: Mapping[str, str] | None = None,
    token: str | None = None,
    progress: Callable[[], None] | None = None,
    worker_options: WorkerOptions | None = None,
    sink_listen: str = "127.0.0.1:0",
    worker_args: Sequence[str] = (),
) -> dict[str, Any]:
    """Start local workers (or use ``connect``: tier -> address, with ``token``), measure,
    and return the ``splitexit.measurement/1`` mapping. ``worker_options`` carry the
    driver's TLS material (its sink serves on ``sink_listen``; with ``network="netns"`` on
    the host link instead); ``worker_args`` go to every local worker (``--tls-cert ...``)."""
    with open_testbed(
        manifest, folder, topology, images, labels, pixels, options,
        profile_name=profile_name, connect=connect, token=token,
        worker_options=worker_options, sink_listen=sink_listen, worker_args=worker_args,
    ) as session:  # fmt: skip
        session.block(range(session.count), progress=progress)
        return session.measurement()


@returned_type
class TestbedSession:
    """A deployed chain that measures its samples in blocks (``open_testbed``).

    Each ``block`` streams the warm samples first (not recorded: connections and first-call
    costs after the pause since the previous block), then the given sample positions, and
    keeps their records; ``measurement`` writes every recorded sample, in index order, with
    the block it was measured in when there were several."""

    __test__ = False  # not a pytest class

    def __init__(
        self,
        chain: Chain,
        plan: ChainPlan,
        topology: Topology,
        images: np.ndarray[Any, Any],
        labels: np.ndarray[Any, Any],
        options: TestbedOptions,
        profile_name: str,
        started: float,
    ) -> None:
        self.chain, self.plan, self.topology = chain, plan, topology
        self.images, self.labels, self.options = images, labels, options
        self.profile_name = profile_name
        self.records: dict[int, SampleRecord] = {}
        self.blocks: dict[int, int] = {}  # sample position -> the block that measured it
        self._count_blocks = 0
        self._started = started  # time.monotonic() before the workers started

    @property
    def count(self) -> int:
        """How many samples this session measures (positions 0..count-1)."""
        return len(self.labels)

    def block(
        self, positions: Iterable[int], *, progress: Callable[[], None] | None = None
    ) -> list[SampleRecord]:
        """Stream the warm samples, then the samples at ``positions`` (each at most once per
        session); returns their records, in the order given."""
        chosen = [int(p) for p in positions]
        bad = [p for p in chosen if not 0 <= p < self.count or p in self.records]
        if bad or len(set(chosen)) != len(chosen):
            raise InputError(
                f"a block must name new sample positions in 0..{self.count - 1}, each once; "
                f"got {bad or chosen}"
            )
        records = stream_block(
            self.chain, self.images, self.labels, chosen, self.options, progress=progress
        )
        for p, record in zip(chosen, records, strict=True):
            self.records[p] = record
            self.blocks[p] = self._count_blocks
        self._count_blocks += 1
        return records

    def measurement(self) -> dict[str, Any]:
        """The ``splitexit.measurement/1`` mapping of every sample measured so far."""
        order = sorted(self.records)
        records = [self.records[p] for p in order]
        blocks = [self.blocks[p] for p in order] if self._count_blocks > 1 else None
        return _measurement(
            self.plan, self.topology, self.chain, records, self.options, self.profile_name,
            time.monotonic() - self._started, blocks=blocks,
        )  # fmt: skip


@validate_params(_RUN_PARAMS)
@contextmanager
def open_testbed(
    manifest: Manifest,
    folder: Path,
    topology: Topology,
    images: np.ndarray[Any, Any],
    labels: np.ndarray[Any, Any],
    pixels: PixelCodec | None,
    options: TestbedOptions,
    *,
    profile_name: str,
    connect: Mapping[str, str] | None = None,
    token: str | None = None,
    worker_options: WorkerOptions | None = None,
    sink_listen: str = "127.0.0.1:0",
    worker_args: Sequence[str] = (),
) -> Iterator[TestbedSession]:
    """Start the workers (as ``run_testbed``), deploy, and yield a :class:`TestbedSession`
    that measures the first ``options.samples`` samples in blocks; the workers, chain,
    namespaces and CPU groups are torn down on leaving."""
    driver = worker_options or WorkerOptions(queue=options.queue)
    netns = options.network == "netns"
    if options.transport == "tcp":  # local workers serve frames only when asked
        # the namespaces' addresses are this machine's own: frames stay on it
        worker_args = [*worker_args, "--transport", "tcp", *(["--insecure"] if netns else [])]
        driver = dataclasses.replace(driver, insecure=driver.insecure or netns)
    plan = plan_of(manifest)
    tiers = plan.tiers
    n = min(options.samples, len(labels))
    images, labels = images[:n], labels[:n]
    started = time.monotonic()
    # netns: no sender sleeps the propagation back to the destination, nor the bucket's
    # credit; the client waits them
    result_charges = (
        [path_charge(topology, topology.tier_index(t), topology.destination) for t in tiers]
        if netns
        else None
    )

    @contextmanager
    def session(
        addresses: list[str], shared: str, workers: LocalWorkers | None, sink: str
    ) -> Iterator[TestbedSession]:
        chain = Chain(
            plan, folder, topology, addresses, shared,
            compute_mode=options.compute_mode, threads=options.threads,
            warmup=options.warmup, deadline_s=options.deadline_s, pixels=pixels,
            options=driver, sink_listen=sink, transport=options.transport,
            ready_timeout_s=options.ready_timeout_s, emulate_links=not netns,
            result_charges=result_charges,
        )  # fmt: skip
        with _cpu_limits(options) as limits, chain:
            chain.wait_ready()
            chain.deploy()
            # after deploy: the reference times are unstretched
            if limits is not None and workers is not None:
                for part in plan.partitions:
                    k = topology.tier_index(part.tier)
                    ratio = topology.tiers[k].compute_ratio
                    if ratio > 1:
                        limits.confine(workers.processes[part.tier].pid, f"t{k}", quota_for(ratio))
            yield TestbedSession(
                chain, plan, topology, images, labels, options, profile_name, started
            )

    start_s = max(60.0, options.ready_timeout_s)
    if connect is not None:
        missing = [t for t in tiers if t not in connect]
        if missing:
            raise InputError(f"--connect names no worker for tier(s) {', '.join(missing)}")
        if not token:
            raise InputError("connecting to running workers needs their token")
        if options.compute_mode == "cpu-quota" or netns:
            raise InputError("the cpu-quota stretch and the netns network need local workers")
        with session([connect[t] for t in tiers], token, None, sink_listen) as opened:
            yield opened
    elif netns:
        with netns_workers(
            tiers, topology, queue=options.queue, start_timeout_s=start_s, worker_args=worker_args
        ) as bed:
            workers = bed.workers
            addresses = [workers.addresses[t] for t in tiers]
            with session(addresses, workers.token, workers, bed.sink_listen) as opened:
                yield opened
    else:
        with LocalWorkers(
            tiers, queue=options.queue, start_timeout_s=start_s, extra_args=worker_args
        ) as workers:
            addresses = [workers.addresses[t] for t in tiers]
            with session(addresses, workers.token, workers, sink_listen) as opened:
                yield opened


@contextmanager
def _cpu_limits(options: TestbedOptions) -> Iterator[CpuLimits | None]:
    """The run's CPU groups (cpu-quota mode): short period, cgroup v1 or v2, removed after."""
    if options.compute_mode != "cpu-quota":
        yield None
        return
    with CpuLimits() as limits:
        yield limits


def _measurement(
    plan: ChainPlan,
    topology: Topology,
    chain: Chain,
    records: list[SampleRecord],
    options: TestbedOptions,
    profile_name: str,
    wall_s: float,
    *,
    blocks: Sequence[int] | None = None,
) -> dict[str, Any]:
    thresholds = list(plan.thresholds[:-1])
    uniform = len(set(thresholds)) <= 1
    partitions = [
        {
            "index": p.index,
            "tier": p.tier,
            "compute_ratio": p.compute_ratio,
            "reference_s": p.reference_s,
            "activation_bits": p.activation_bits,
            "result_bits": p.result_bits,
        }
        for p in chain.partitions
    ]
    samples = _from_first_send([r.to_dict() for r in records])
    if blocks is not None:  # measured in several blocks (interleaved with other runs)
        for sample, block in zip(samples, blocks, strict=True):
            sample["block"] = block
    return {
        "format": MEASUREMENT_FORMAT,
        "profile": profile_name,
        "topology": topology.name,
        "config": {
            "threshold": thresholds[0] if uniform and thresholds else None,
            "thresholds": None if uniform else thresholds,
            "partition": [p.last_block for p in plan.partitions],
            "placement": plan.tiers,
        },
        "source": topology.tiers[topology.source].name,
        "destination": plan.destination,
        "compute_mode": options.compute_mode,
        "input_bits": chain.input_bits,
        "partitions": partitions,
        "run": {
            "clients": options.clients,
            "transport": options.transport,
            "network": options.network,
            "threads": options.threads,
            "deadline_s": options.deadline_s,
            "wall_s": wall_s,
            "blocks": 1 if blocks is None else len(set(blocks)),
            "machine": f"{platform.machine()}, {platform.python_implementation()} "
            f"{platform.python_version()}",
            # each partition's effective slowdown (time it held its tier / reference_s) vs R_j
            "calibration": effective_slowdowns(partitions, samples),
        },
        "summary": summarize(records),
        "samples": samples,
    }


def _from_first_send(samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``sent_s`` and ``received_s`` counted from the stream's first send (s)."""
    sent = [s["sent_s"] for s in samples if s.get("sent_s") is not None]
    start = min(sent) if sent else 0.0
    for sample in samples:
        for key in ("sent_s", "received_s"):
            if sample.get(key) is not None:
                sample[key] = max(sample[key] - start, 0.0)
    return samples


@validate_params({"records": [InstanceOf(list, tuple)]})
def summarize(records: list[SampleRecord]) -> dict[str, Any]:
    """Measured mean, p50, p95, p99 latency (s), accuracy, exit rates, failures."""
    done = [r for r in records if r.status == "delivered" and r.latency_s is not None]
    latency = np.array([r.latency_s for r in done], dtype=np.float64)
    exits: dict[str, float] = {}
    for r in done:
        exits[str(r.exit)] = exits.get(str(r.exit), 0.0) + 1.0 / max(len(done), 1)
    stats = {
        q: float(np.percentile(latency, p)) if latency.size else None
        for q, p in (("p50_s", 50), ("p95_s", 95), ("p99_s", 99))
    }
    return {
        "samples": len(records),
        "delivered": len(done),
        "failed": len(records) - len(done),
        "mean_s": float(latency.mean()) if latency.size else None,
        **stats,
        "accuracy": float(np.mean([r.prediction == r.label for r in done])) if done else None,
        # a failed sample counts as wrong: what a user of the deployment would see
        "accuracy_all_samples": (
            float(sum(r.prediction == r.label for r in done) / len(records)) if records else None
        ),
        "exit_rates": dict(sorted(exits.items(), key=lambda kv: int(kv[0]))),
    }
