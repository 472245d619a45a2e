"""The source side of a deployment: deploy the partitions, stream samples, receive results.

The driver lives on the source tier and hosts the destination's sink (on one machine the
tiers are emulated, so the process that sends the sample may also receive its result; the
links charged are the topology's, from the exit tier to the destination). A sample leaves
when the previous result of the same client has arrived, as the seeds measure.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from concurrent import futures
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt

from splitexit.errors import InputError
from splitexit.export import Manifest
from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import FrameServer, FrameStub, TransportError
from splitexit.runtime._links import LinkEmulator, path_links
from splitexit.runtime._pixels import PixelCodec
from splitexit.runtime._worker import (
    WorkerOptions,
    call_failure,
    channel_options,
    make_stub,
    open_channel,
    server_port,
)
from splitexit.topology import Topology

__all__ = [
    "COMPUTE_MODES",
    "TRANSPORTS",
    "Chain",
    "PartitionInfo",
    "SampleRecord",
    "Sink",
    "check_run_settings",
]

# sleep: the worker sleeps to compute_ratio x its reference time; cpu-quota: the testbed
# confines the worker to 1 / compute_ratio of a core (the worker itself does not sleep);
# none: this machine's speed everywhere.
COMPUTE_MODES = ("sleep", "cpu-quota", "none")
# how samples travel between the driver, the workers and the sink: gRPC calls, or the same
# messages as frames on persistent TCP connections (runtime/_frames.py)
TRANSPORTS = ("grpc", "tcp")


@dataclass(frozen=True)
class PartitionInfo:
    """What a worker reported when it took its partition."""

    index: int  # 1-based
    tier: str
    address: str
    compute_ratio: float
    reference_s: float
    activation_bits: float | None
    result_bits: float


@dataclass
class SampleRecord:
    """One sample's fate: delivered with its exit and timings, or failed with the reason."""

    index: int
    label: int
    status: str  # delivered | failed
    reason: str | None = None
    prediction: int | None = None
    exit: int | None = None  # 1-based partition
    latency_s: float | None = None
    input_link_s: float = 0.0
    hops: list[dict[str, Any]] = field(default_factory=list)
    request_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("request_id")
        return out


class Sink:
    """The destination's ``Deliver`` endpoint: stores each result with its arrival time."""

    def __init__(self, *, listen: str = "127.0.0.1:0", options: WorkerOptions) -> None:
        """Serve on ``listen`` (TLS with ``options``' certificate); ``address`` is bound."""
        self._results: dict[int, tuple[Any, int]] = {}
        self._cond = threading.Condition()
        self.duplicates = 0
        self.received = 0
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=options.pool),
            maximum_concurrent_rpcs=options.queue * 4,
            options=channel_options(options.max_message_bytes),
        )
        handler = grpc.unary_unary_rpc_method_handler(
            self._deliver,
            request_deserializer=wire.Result.FromString,
            response_serializer=wire.Empty.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(wire.SINK_SERVICE, {"Deliver": handler}),)
        )
        port = server_port(server, listen, options)
        host = listen.rsplit(":", 1)[0]
        self.address = f"{host}:{port}"
        server.start()
        self._server = server
        self._frames = FrameServer(
            host, lambda result: self._deliver(result, None), max_bytes=options.max_message_bytes
        )
        self.data_address = self._frames.address

    def _deliver(self, result: Any, context: grpc.ServicerContext | None) -> Any:
        arrive = time.monotonic_ns()
        with self._cond:
            self.received += 1
            if result.request_id in self._results:
                self.duplicates += 1
            else:
                self._results[result.request_id] = (result, arrive)
            self._cond.notify_all()
        return wire.Empty()

    def take(self, request_id: int, timeout_s: float) -> tuple[Any, int] | None:
        """The result of ``request_id`` and its arrival (monotonic ns), or None on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while request_id not in self._results:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)
            return self._results[request_id]

    def close(self) -> None:
        self._frames.close()
        self._server.stop(1.0).wait()


class Chain:
    """A manifest's partitions deployed on workers (one address per partition, in order).

    ``deploy()`` sends each worker its partition, links and stretch; ``infer`` sends one
    sample and waits for its result (or its failure); ``stream`` runs ``clients`` concurrent
    clients over a list of samples.
    """

    def __init__(
        self,
        manifest: Manifest,
        folder: Path,
        topology: Topology,
        addresses: Sequence[str],
        token: str,
        *,
        compute_mode: str = "sleep",
        threads: int = 1,
        warmup: int = 20,
        deadline_s: float = 60.0,
        pixels: PixelCodec | None = None,
        options: WorkerOptions | None = None,
        sink_listen: str = "127.0.0.1:0",
        transport: str = "grpc",
    ) -> None:
        if len(addresses) != len(manifest.partitions):
            raise InputError(
                f"{len(manifest.partitions)} partitions need as many worker addresses, got "
                f"{len(addresses)}"
            )
        check_run_settings(compute_mode, transport, deadline_s)
        self.transport = transport
        self._data: list[str] = []  # the workers' frame sockets (tcp transport)
        self.manifest, self.folder, self.topology = manifest, folder, topology
        self.addresses = list(addresses)
        self.compute_mode, self.threads, self.warmup = compute_mode, threads, warmup
        self.deadline_s, self.pixels = deadline_s, pixels
        self.options = options or WorkerOptions()
        self._token = token
        self.tiers = [
            topology.tier_index(p.tier, field_name="placement") for p in manifest.partitions
        ]
        self.destination = topology.tier_index(manifest.destination, field_name="destination")
        self._links = LinkEmulator()
        self._input_links = path_links(topology, topology.source, self.tiers[0])
        self.sink = Sink(listen=sink_listen, options=self.options)
        self._channels = [open_channel(a, self.options) for a in self.addresses]
        # the first worker's Infer; a FrameStub once deployed on the tcp transport
        self._first: Any = self._stub(0, "Infer", wire.InferRequest, wire.InferReply)
        self._ids = iter(range(1, 1 << 62))
        self._id_lock = threading.Lock()
        self.partitions: list[PartitionInfo] = []

    def _stub(self, k: int, name: str, request: Any, reply: Any) -> Any:
        return make_stub(self._channels[k], wire.WORKER_SERVICE, name, request, reply)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Until every worker answers Health; names the first that does not."""
        for k, channel in enumerate(self._channels):
            try:
                grpc.channel_ready_future(channel).result(timeout=timeout_s)
            except grpc.FutureTimeoutError:
                part = self.manifest.partitions[k]
                raise InputError(
                    f"worker of tier {part.tier} at {self.addresses[k]} is unreachable "
                    f"(no answer in {timeout_s:g} s)"
                ) from None

    def deploy(self) -> list[PartitionInfo]:
        """Send every worker its partition; returns what each measured."""
        count = len(self.manifest.partitions)
        if self.transport == "tcp":
            self._data = [self.health(k, timeout_s=10.0).data_address for k in range(count)]
            limit = self.options.max_message_bytes
            self._first = FrameStub(self._data[0], max_bytes=limit)
        infos = []
        for k in reversed(range(count)):
            part = self.manifest.partitions[k]
            model = (self.folder / part.file).read_bytes()
            threshold = self.manifest.threshold_of(k)
            request = wire.DeployRequest(
                token=self._token,
                partition=k + 1,
                count=count,
                model=model,
                sha256=part.sha256,
                has_threshold=threshold is not None,
                threshold=threshold or 0.0,
                next_address=self.addresses[k + 1] if k + 1 < count else "",
                next_tier=self.manifest.partitions[k + 1].tier if k + 1 < count else "",
                sink_address=self.sink.address,
                destination=self.manifest.destination,
                compute_ratio=self.topology.tiers[self.tiers[k]].compute_ratio,
                compute_mode="sleep" if self.compute_mode == "sleep" else "none",
                threads=self.threads,
                warmup=self.warmup,
                input_shape=list(part.inputs[0].shape),
                deadline_s=self.deadline_s,
                transport=self.transport,
            )
            if self.transport == "tcp":
                request.next_data_address = self._data[k + 1] if k + 1 < count else ""
                request.sink_data_address = self.sink.data_address
            if k + 1 < count:
                links = path_links(self.topology, self.tiers[k], self.tiers[k + 1])
                request.forward_links.extend(_link_specs(links))
            request.result_links.extend(
                _link_specs(path_links(self.topology, self.tiers[k], self.destination))
            )
            if k == 0 and self.pixels is not None:
                request.pixel_levels = self.pixels.levels
                request.pixel_mean.extend(self.pixels.mean.reshape(-1).tolist())
                request.pixel_std.extend(self.pixels.std.reshape(-1).tolist())
            stub = self._stub(k, "Deploy", wire.DeployRequest, wire.DeployReply)
            try:
                reply = stub(request, timeout=max(60.0, self.deadline_s))
            except grpc.RpcError as error:
                raise InputError(
                    f"deploying partition {k + 1} ({part.file}) on tier {part.tier} at "
                    f"{self.addresses[k]}: {call_failure(error)}"
                ) from None
            infos.append(
                PartitionInfo(
                    index=k + 1,
                    tier=part.tier,
                    address=self.addresses[k],
                    compute_ratio=request.compute_ratio,
                    reference_s=reply.reference_s,
                    activation_bits=reply.activation_bits if k + 1 < count else None,
                    result_bits=reply.result_bits,
                )
            )
        self.partitions = infos[::-1]
        return self.partitions

    def _wire_input(self, image: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        batch = np.ascontiguousarray(image[None], dtype=np.float32)
        return batch if self.pixels is None else self.pixels.encode(batch)

    @property
    def input_bits(self) -> float:
        shape = self.manifest.partitions[0].inputs[0].shape
        per = 8 if self.pixels is not None else 32
        return float(np.prod(shape) * per)

    def infer(self, index: int, image: npt.NDArray[np.float32], label: int) -> SampleRecord:
        """Send one sample and wait for its result or its failure (never past the deadline)."""
        with self._id_lock:
            request_id = next(self._ids)
        payload = self._wire_input(image)
        record = SampleRecord(index=index, label=label, status="failed", request_id=request_id)
        sent_ns = time.monotonic_ns()
        record.input_link_s = self._links.send(self._input_links, payload.nbytes * 8)
        request = wire.InferRequest(
            request_id=request_id,
            sent_ns=sent_ns,
            label=label,
            input=wire.to_tensor(payload),
            input_link_s=record.input_link_s,
        )
        first = self.manifest.partitions[0]
        left = max(self.deadline_s - (time.monotonic_ns() - sent_ns) / 1e9, 0.001)
        request.timeout_s = left
        try:
            reply = self._first(request, timeout=left)
        except (grpc.RpcError, TransportError) as error:
            where = self._data[0] if self._data else self.addresses[0]
            record.reason = f"tier {first.tier} at {where}: {call_failure(error)}"
            return record
        if not reply.ok:
            record.reason = reply.error
            return record
        left = self.deadline_s - (time.monotonic_ns() - sent_ns) / 1e9
        got = self.sink.take(request_id, max(left, 0.0))
        if got is None:
            record.reason = (
                f"no result at the destination within the {self.deadline_s:g} s deadline"
            )
            return record
        result, arrive_ns = got
        record.status = "delivered"
        record.prediction = int(result.prediction)
        record.exit = int(result.exit)
        record.latency_s = (arrive_ns - sent_ns) / 1e9
        record.hops = [
            {
                "partition": h.partition,
                "tier": h.tier,
                "arrive_s": h.arrive_s,
                "compute_s": h.compute_s,
                "busy_s": h.busy_s,
                "link_s": h.link_s,
            }
            for h in result.hops
        ]
        return record

    def stream(
        self,
        images: npt.NDArray[np.float32],
        labels: npt.NDArray[np.integer],
        indices: Sequence[int],
        *,
        clients: int = 1,
        progress: Any = None,
    ) -> list[SampleRecord]:
        """Samples one at a time per client; clients run concurrently on disjoint samples."""
        if clients < 1:
            raise InputError(f"clients must be >= 1, got {clients}")
        order = list(range(len(indices)))
        shares = [order[c::clients] for c in range(clients)]
        records: list[SampleRecord | None] = [None] * len(order)

        def client(share: list[int]) -> None:
            for i in share:
                records[i] = self.infer(int(indices[i]), images[i], int(labels[i]))
                if progress is not None:
                    progress()

        threads = [threading.Thread(target=client, args=(s,), daemon=True) for s in shares]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return [r for r in records if r is not None]

    def health(self, k: int, timeout_s: float = 2.0) -> Any:
        stub = self._stub(k, "Health", wire.Empty, wire.HealthReply)
        return stub(wire.Empty(), timeout=timeout_s)

    def shutdown_workers(self) -> None:
        """Ask every worker to stop (token); unreachable ones are skipped."""
        for k in range(len(self._channels)):
            stub = self._stub(k, "Shutdown", wire.ShutdownRequest, wire.Empty)
            with contextlib.suppress(grpc.RpcError):
                stub(wire.ShutdownRequest(token=self._token), timeout=2.0)

    def close(self) -> None:
        for channel in self._channels:
            channel.close()
        if isinstance(self._first, FrameStub):
            self._first.close()
        self.sink.close()


def check_run_settings(compute_mode: str, transport: str, deadline_s: float) -> None:
    """The settings a chain and the testbed share, checked once for both."""
    if compute_mode not in COMPUTE_MODES:
        raise InputError(
            f"compute mode must be one of {', '.join(COMPUTE_MODES)}, got {compute_mode!r}"
        )
    if transport not in TRANSPORTS:
        raise InputError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    if deadline_s <= 0:
        raise InputError(f"the deadline must be > 0 s, got {deadline_s:g}")


def _link_specs(links: Sequence[Any]) -> list[Any]:
    return [
        wire.LinkSpec(name=h.name, bandwidth_bps=h.bandwidth_bps, latency_s=h.latency_s)
        for h in links
    ]
