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
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.export import Manifest
from splitexit.export._manifest import contained_file
from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import FrameStub, TransportError
from splitexit.runtime._links import LinkEmulator, LinkHop, path_links, sleep_until
from splitexit.runtime._pixels import PixelCodec
from splitexit.runtime._plan import ChainPlan, plan_of
from splitexit.runtime._records import (
    COMPUTE_MODES,
    TRANSPORTS,
    PartitionInfo,
    SampleRecord,
    check_run_settings,
    run_clients,
)
from splitexit.runtime._shaping import ReceiveCharge
from splitexit.runtime._sink import Sink
from splitexit.runtime._transport import (
    RETRY_REFUSED,
    WorkerOptions,
    call_failure,
    call_with_retry,
    make_stub,
    open_channel,
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


@validate_params(
    {
        "manifest": [InstanceOf(Manifest, ChainPlan)],
        "folder": [PathLike()],
        "topology": [InstanceOf(Topology)],
        "addresses": [InstanceOf(list, tuple)],
        "token": [InstanceOf(str)],
        "compute_mode": [InstanceOf(str)],
        "threads": [Interval(int, 1, None)],
        "warmup": [Interval(int, 1, None)],
        "deadline_s": [Interval(float, None, None)],
        "pixels": [InstanceOf(PixelCodec), None],
        "options": [InstanceOf(WorkerOptions), None],
        "sink_listen": [InstanceOf(str)],
        "transport": [InstanceOf(str)],
        "ready_timeout_s": [Interval(float, None, None)],
        "emulate_links": [InstanceOf(bool)],
        "max_in_flight": [Interval(int, None, None), None],
        "result_charges": [InstanceOf(list, tuple), None],
    }
)
class Chain:
    """A manifest's partitions deployed on workers (one address per partition, in order).

    A context manager: ``with Chain(...) as chain`` binds the sink and opens the channels
    (``start()``), and closes them on the way out (``close()``); the constructor only checks
    and stores. ``wait_ready`` waits for every worker (at most ``ready_timeout_s``),
    ``deploy()`` sends each worker its partition, links and stretch; ``infer`` sends one
    sample and waits for its result (or its failure); ``stream`` runs ``clients`` concurrent
    clients over a list of samples and returns one record per sample, always.
    """

    def __init__(
        self,
        manifest: Manifest | ChainPlan,
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
        ready_timeout_s: float = 30.0,
        emulate_links: bool = True,  # False: the kernel shapes the links (netns testbed)
        max_in_flight: int | None = None,  # samples in the first worker at once (its queue)
        # per partition: what no sender charges a result from its tier to the destination
        # (netns testbed: propagation and bucket credit); the client waits it after the
        # sink's arrival, and it is counted
        result_charges: Sequence[ReceiveCharge] | None = None,
    ) -> None:
        self.plan = manifest if isinstance(manifest, ChainPlan) else plan_of(manifest)
        if len(addresses) != len(self.plan.partitions):
            raise InputError(
                f"{len(self.plan.partitions)} partitions need as many worker addresses, got "
                f"{len(addresses)}"
            )
        check_run_settings(compute_mode, transport, deadline_s, ready_timeout_s)
        if len(set(self.plan.tiers)) != len(self.plan.tiers):
            raise InputError(
                f"placement must put each partition on its own tier, got {self.plan.tiers}"
            )
        self.transport = transport
        self._data: list[str] = []  # the workers' frame sockets (tcp transport)
        self.folder, self.topology = folder, topology
        self.addresses = list(addresses)
        self.compute_mode, self.threads, self.warmup = compute_mode, threads, warmup
        self.deadline_s, self.pixels = deadline_s, pixels
        self.ready_timeout_s = ready_timeout_s
        self.options = options or WorkerOptions()
        self._token = token
        self.tiers = [topology.tier_index(t, field_name="placement") for t in self.plan.tiers]
        self.destination = topology.tier_index(self.plan.destination, field_name="destination")
        self._links = LinkEmulator()
        self.emulate_links = emulate_links
        self._input_links = self._path(topology.source, self.tiers[0])
        frames_token = token if transport == "tcp" else ""
        self.sink = Sink(listen=sink_listen, options=self.options, frames_token=frames_token)
        # backpressure: never more samples in flight at the first worker than it takes at
        # once (``WorkerOptions.queue``); the others wait here instead of being refused
        limit = max_in_flight if max_in_flight is not None else self.options.queue
        if limit < 1:
            raise InputError(f"max_in_flight must be >= 1, got {limit}")
        self._in_flight = threading.BoundedSemaphore(limit)
        self.result_charges = list(result_charges or [ReceiveCharge()] * len(self.plan.partitions))
        if len(self.result_charges) != len(self.plan.partitions) or not all(
            isinstance(c, ReceiveCharge) for c in self.result_charges
        ):
            raise InputError(
                f"result_charges must give one ReceiveCharge per partition, got {result_charges}"
            )
        self._channels: list[grpc.Channel] = []
        self._first: Any = None  # the first worker's Infer; a FrameStub on the tcp transport
        self._ids = iter(range(1, 1 << 62))
        self._id_lock = threading.Lock()
        self.partitions: list[PartitionInfo] = []

    # -- life ------------------------------------------------------------------------------
    def start(self) -> Chain:
        """Bind the sink and open a channel to every worker (``with`` calls it)."""
        if self._channels:
            raise InputError("the chain is already started")
        self.sink.start()
        self._channels = [open_channel(a, self.options) for a in self.addresses]
        self._first = self._stub(0, "Infer", wire.InferRequest, wire.InferReply)
        return self

    def __enter__(self) -> Chain:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the channels and the sink (idempotent)."""
        for channel in self._channels:
            channel.close()
        self._channels = []
        if isinstance(self._first, FrameStub):
            self._first.close()
        self._first = None
        self.sink.close()

    def _stub(self, k: int, name: str, request: Any, reply: Any) -> Any:
        if not self._channels:
            raise InputError("the chain is not started: use `with Chain(...)` or start()")
        return make_stub(self._channels[k], wire.WORKER_SERVICE, name, request, reply)

    # -- control ---------------------------------------------------------------------------
    def wait_ready(self, timeout_s: float | None = None) -> None:
        """Until every worker answers (at most ``timeout_s``, default ``ready_timeout_s``
        each); names the first that does not."""
        timeout = self.ready_timeout_s if timeout_s is None else timeout_s
        self._stub(0, "Health", wire.Empty, wire.HealthReply)  # started?
        for k, channel in enumerate(self._channels):
            try:
                grpc.channel_ready_future(channel).result(timeout=timeout)
            except grpc.FutureTimeoutError:
                raise InputError(
                    f"worker of tier {self.plan.partitions[k].tier} at {self.addresses[k]} is "
                    f"unreachable (no answer in {timeout:g} s)"
                ) from None

    def deploy(self) -> list[PartitionInfo]:
        """Send every worker its partition; returns what each measured."""
        count = len(self.plan.partitions)
        if self.transport == "tcp":
            self._data = [self.health(k, timeout_s=10.0).data_address for k in range(count)]
            for k, address in enumerate(self._data):
                if not address:
                    raise InputError(
                        f"worker of tier {self.plan.partitions[k].tier} at {self.addresses[k]} "
                        f"serves no frames: start it with --transport tcp"
                    )
            self._first = FrameStub(
                self._data[0], max_bytes=self.options.max_message_bytes, token=self._token
            )
        infos = []
        for k in reversed(range(count)):
            request = self._deploy_request(k)
            part = self.plan.partitions[k]
            stub = self._stub(k, "Deploy", wire.DeployRequest, wire.DeployReply)
            try:
                reply = call_with_retry(stub, request, timeout=max(60.0, self.deadline_s))
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

    def _deploy_request(self, k: int) -> wire.DeployRequest:
        count = len(self.plan.partitions)
        part = self.plan.partitions[k]
        threshold = self.plan.thresholds[k]
        nxt = k + 1 < count
        request = wire.DeployRequest(
            token=self._token,
            partition=k + 1,
            count=count,
            model=contained_file(self.folder, part.file, f"partition {k + 1} file").read_bytes(),
            sha256=part.sha256,
            has_threshold=threshold is not None,
            threshold=threshold or 0.0,
            next_address=self.addresses[k + 1] if nxt else "",
            next_tier=self.plan.partitions[k + 1].tier if nxt else "",
            sink_address=self.sink.address,
            destination=self.plan.destination,
            compute_ratio=self.topology.tiers[self.tiers[k]].compute_ratio,
            compute_mode="sleep" if self.compute_mode == "sleep" else "none",
            threads=self.threads,
            warmup=self.warmup,
            input_shape=list(part.input_shape),
            deadline_s=self.deadline_s,
            transport=self.transport,
        )
        if self.transport == "tcp":
            request.next_data_address = self._data[k + 1] if nxt else ""
            request.sink_data_address = self.sink.data_address
        if nxt:
            request.forward_links.extend(_link_specs(self._path(self.tiers[k], self.tiers[k + 1])))
        request.result_links.extend(_link_specs(self._path(self.tiers[k], self.destination)))
        if k == 0 and self.pixels is not None:
            request.pixel_levels = self.pixels.levels
            request.pixel_mean.extend(self.pixels.mean.reshape(-1).tolist())
            request.pixel_std.extend(self.pixels.std.reshape(-1).tolist())
        return request

    def _path(self, a: int, b: int) -> list[LinkHop]:
        return path_links(self.topology, a, b) if self.emulate_links else []

    def health(self, k: int, timeout_s: float = 2.0) -> wire.HealthReply:
        stub = self._stub(k, "Health", wire.Empty, wire.HealthReply)
        return call_with_retry(stub, wire.Empty(), timeout=timeout_s)  # type: ignore[no-any-return]

    def shutdown_workers(self) -> None:
        """Ask every worker to stop (token); unreachable ones are skipped."""
        for k in range(len(self._channels)):
            stub = self._stub(k, "Shutdown", wire.ShutdownRequest, wire.Empty)
            with contextlib.suppress(grpc.RpcError):
                stub(wire.ShutdownRequest(token=self._token), timeout=2.0)

    # -- samples ---------------------------------------------------------------------------
    def _wire_input(self, image: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        batch = np.ascontiguousarray(image[None], dtype=np.float32)
        return batch if self.pixels is None else self.pixels.encode(batch)

    @property
    def input_bits(self) -> float:
        per = 8 if self.pixels is not None else 32
        return float(np.prod(self.plan.partitions[0].input_shape) * per)

    def infer(self, index: int, image: npt.NDArray[np.float32], label: int) -> SampleRecord:
        """Send one sample and wait for its result or its failure (never past the deadline)."""
        if self._first is None:
            raise InputError("the chain is not started: use `with Chain(...)` or start()")
        with self._id_lock:
            request_id = next(self._ids)
        payload = self._wire_input(image)
        record = SampleRecord(index=index, label=label, status="failed", request_id=request_id)
        sent_ns = time.monotonic_ns()
        record.sent_s = sent_ns / 1e9
        record.input_link_s = self._links.send(self._input_links, payload.nbytes * 8)
        request = wire.InferRequest(
            request_id=request_id,
            sent_ns=sent_ns,
            label=label,
            input=wire.to_tensor(payload),
            input_link_s=record.input_link_s,
        )
        try:
            reply = self._send_first(request, sent_ns)
        except (grpc.RpcError, TransportError) as error:
            where = self._data[0] if self._data else self.addresses[0]
            tier = self.plan.partitions[0].tier
            record.reason = f"tier {tier} at {where}: {call_failure(error)}"
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
        delay = 0.0
        if 1 <= record.exit <= len(self.tiers):
            delay = self.result_charges[record.exit - 1].seconds(result.ByteSize())
        if delay > 0:  # the result's charge: this client sends its next sample after it
            arrive_ns += round(delay * 1e9)
            sleep_until(arrive_ns / 1e9)
        record.received_s = arrive_ns / 1e9
        record.latency_s = (arrive_ns - sent_ns) / 1e9
        record.hops = [
            {
                "partition": h.partition,
                "tier": h.tier,
                "arrive_s": h.arrive_s,
                "compute_s": h.compute_s,
                "busy_s": h.busy_s,
                "link_s": h.link_s,
                "receive_s": h.receive_s,
            }
            for h in result.hops
        ]
        return record

    def _send_first(self, request: wire.InferRequest, sent_ns: int) -> wire.InferReply:
        """The sample to the first worker: at most ``max_in_flight`` at once; a refusal
        (RESOURCE_EXHAUSTED, before any work) is retried with backoff within the deadline.
        Other failures are not: the sample may have run, and its result be on its way."""
        with self._in_flight:  # waiting here counts against the sample's deadline
            left = max(self.deadline_s - (time.monotonic_ns() - sent_ns) / 1e9, 0.001)
            request.timeout_s = left
            if isinstance(self._first, FrameStub):
                return self._first(request, timeout=left)  # type: ignore[no-any-return]
            return call_with_retry(  # type: ignore[no-any-return]
                self._first, request, timeout=left, retry=RETRY_REFUSED, attempts=12
            )

    def stream(
        self,
        images: npt.NDArray[np.float32],
        labels: npt.NDArray[np.integer],
        indices: Sequence[int],
        *,
        clients: int = 1,
        progress: Callable[[], None] | None = None,
    ) -> list[SampleRecord]:
        """Samples one at a time per client; clients run concurrently on disjoint samples.

        Never drops a sample: one record per sample, in order, delivered or failed with the
        reason, also when ``infer`` raises or a client thread stops (``run_clients``)."""

        def one(i: int) -> SampleRecord:
            return self.infer(int(indices[i]), images[i], int(labels[i]))

        def failed(i: int, reason: str) -> SampleRecord:
            return SampleRecord(int(indices[i]), int(labels[i]), "failed", reason=reason)

        return run_clients(len(indices), clients, one, failed, progress)


def _link_specs(links: Sequence[LinkHop]) -> list[wire.LinkSpec]:
    return [
        wire.LinkSpec(name=h.name, bandwidth_bps=h.bandwidth_bps, latency_s=h.latency_s)
        for h in links
    ]
