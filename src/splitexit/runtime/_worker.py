"""A tier worker: a gRPC server that runs one ONNX partition and exits or forwards each sample.

Protocol (service ``splitexit.runtime.v1.Worker``):

- ``Deploy(DeployRequest) -> DeployReply``: needs the shared token; the model's SHA-256 must
  match and ``onnx.checker`` must accept it before ONNX Runtime loads it. The worker then
  times the partition (``warmup`` runs, median) to know its reference compute time.
- ``Infer(InferRequest) -> InferReply``: one sample. Compute (stretched to
  ``compute_ratio`` x the reference in ``sleep`` mode), then exit (normalized entropy below
  the threshold, or the last partition: the result goes to the sink) or forward the activation
  to the next worker, each transfer delayed by the emulated links. The reply returns when the
  sample has left this worker's hands downstream, so an error anywhere after it (an
  unreachable tier, a deadline) comes back to the caller with the failing tier's name.
- ``Health(Empty) -> HealthReply`` and ``Shutdown(ShutdownRequest) -> Empty`` (token).

One lock serializes compute: a tier is one processor. Concurrency is bounded by the server's
``maximum_concurrent_rpcs`` (excess calls get RESOURCE_EXHAUSTED at once, never an unbounded
queue); every outgoing call carries a deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import statistics
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import numpy as np

from splitexit.errors import InputError
from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import FrameServer, FrameStub, TransportError
from splitexit.runtime._links import LinkEmulator, LinkHop, sleep_until
from splitexit.runtime._pixels import PixelCodec

__all__ = [
    "WorkerOptions",
    "WorkerServer",
    "call_failure",
    "channel_options",
    "make_stub",
    "open_channel",
    "server_port",
]

_ACTIVATION, _PROBABILITIES, _ENTROPY, _INPUT = "activation", "probabilities", "entropy", "input"


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker serves: thread pool, bound on concurrent calls, message size, TLS."""

    pool: int = 8  # server threads
    queue: int = 32  # maximum concurrent RPCs; more are refused with RESOURCE_EXHAUSTED
    max_message_bytes: int = 64 * 1024 * 1024
    tls_cert: bytes | None = None  # PEM; with tls_key: serve TLS
    tls_key: bytes | None = None
    tls_ca: bytes | None = None  # PEM; verify the next worker / sink over TLS

    def __post_init__(self) -> None:
        if self.pool < 1 or self.queue < 1 or self.max_message_bytes < 1024:
            raise InputError(
                f"worker pool and queue must be >= 1 and the message size >= 1 KiB, got "
                f"{self.pool}, {self.queue}, {self.max_message_bytes}"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InputError("TLS needs both a certificate and its key")


def channel_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def make_stub(channel: grpc.Channel, service: str, name: str, request: Any, reply: Any) -> Any:
    """A unary-unary callable for ``service/name`` with the runtime's messages."""
    return channel.unary_unary(
        wire.method(service, name),
        request_serializer=request.SerializeToString,
        response_deserializer=reply.FromString,
    )


def open_channel(address: str, options: WorkerOptions) -> grpc.Channel:
    """A channel to ``address``: TLS verified against ``options.tls_ca`` when given."""
    opts = channel_options(options.max_message_bytes)
    if options.tls_ca is not None:
        creds = grpc.ssl_channel_credentials(root_certificates=options.tls_ca)
        return grpc.secure_channel(address, creds, options=opts)
    return grpc.insecure_channel(address, options=opts)


@dataclass
class _Deployed:
    """What Deploy installed: the session and where samples go next."""

    request: Any
    session: Any
    outputs: list[str]
    reference_s: float
    pixels: PixelCodec | None
    forward_links: list[LinkHop]
    result_links: list[LinkHop]
    channels: list[grpc.Channel] = field(default_factory=list)
    stubs: list[FrameStub] = field(default_factory=list)
    next_infer: Any = None
    deliver: Any = None


class WorkerServer:
    """The worker of tier ``tier``; ``start()`` binds ``listen`` and returns the port."""

    def __init__(
        self, tier: str, token: str, *, listen: str = "127.0.0.1:0", options: WorkerOptions
    ) -> None:
        if not token:
            raise InputError("a worker needs a non-empty shared token")
        self.tier, self.listen, self.options = tier, listen, options
        self._token = token.encode()
        self._deployed: _Deployed | None = None
        self._compute = threading.Lock()
        self._state = threading.Lock()
        self._links = LinkEmulator()
        self._served = 0
        self._failed = 0
        self.stopped = threading.Event()
        self._server: grpc.Server | None = None
        self._frames: FrameServer | None = None

    # -- server life -------------------------------------------------------------------
    def start(self) -> int:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.options.pool),
            maximum_concurrent_rpcs=self.options.queue,
            options=channel_options(self.options.max_message_bytes),
        )
        handlers = {
            "Deploy": (self._deploy, wire.DeployRequest, wire.DeployReply),
            "Infer": (self._infer, wire.InferRequest, wire.InferReply),
            "Health": (self._health, wire.Empty, wire.HealthReply),
            "Shutdown": (self._shutdown, wire.ShutdownRequest, wire.Empty),
        }
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    wire.WORKER_SERVICE,
                    {
                        name: grpc.unary_unary_rpc_method_handler(
                            fn,
                            request_deserializer=req.FromString,
                            response_serializer=rep.SerializeToString,
                        )
                        for name, (fn, req, rep) in handlers.items()
                    },
                ),
            )
        )
        port = server_port(server, self.listen, self.options)
        server.start()
        self._server = server
        host = self.listen.rsplit(":", 1)[0]
        self._frames = FrameServer(
            host, self._infer_frame, max_bytes=self.options.max_message_bytes
        )
        return int(port)

    def stop(self, grace_s: float = 5.0) -> None:
        """Refuse new calls, let running ones finish for ``grace_s``, close channels."""
        if self._frames is not None:
            self._frames.close()
        if self._server is not None:
            self._server.stop(grace_s).wait()
        deployed = self._deployed
        if deployed is not None:
            _close(deployed)
        self.stopped.set()

    def _check_token(self, token: str, context: grpc.ServicerContext) -> None:
        if not hmac.compare_digest(token.encode(), self._token):
            context.abort(grpc.StatusCode.PERMISSION_DENIED, "wrong token")

    # -- RPCs --------------------------------------------------------------------------
    def _health(self, request: Any, context: grpc.ServicerContext) -> Any:
        deployed = self._deployed
        return wire.HealthReply(
            tier=self.tier,
            deployed=deployed is not None,
            partition=0 if deployed is None else deployed.request.partition,
            served=self._served,
            failed=self._failed,
            data_address="" if self._frames is None else self._frames.address,
        )

    def _shutdown(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check_token(request.token, context)
        threading.Thread(target=self.stop, daemon=True).start()
        return wire.Empty()

    def _deploy(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check_token(request.token, context)
        try:
            deployed = self._load(request)
        except InputError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        with self._state:
            old, self._deployed = self._deployed, deployed
        if old is not None:
            _close(old)
        return wire.DeployReply(
            reference_s=deployed.reference_s,
            activation_bits=self._bits(deployed, _ACTIVATION),
            result_bits=self._bits(deployed, _PROBABILITIES),
        )

    @staticmethod
    def _bits(deployed: _Deployed, name: str) -> float:
        for out in deployed.session.get_outputs():
            if out.name == name:
                return float(np.prod(out.shape[1:]) * 32)
        return 0.0

    def _load(self, request: Any) -> _Deployed:
        import onnx
        import onnxruntime as ort  # type: ignore[import-untyped]

        digest = hashlib.sha256(request.model).hexdigest()
        if digest != request.sha256:
            raise InputError(
                f"partition {request.partition}: model SHA-256 {digest[:12]}... does not "
                f"match the manifest's {request.sha256[:12]}..."
            )
        try:
            model = onnx.load_from_string(request.model)
            onnx.checker.check_model(model, full_check=True)
        except Exception as error:  # onnx raises several types for a bad model
            raise InputError(
                f"partition {request.partition}: onnx.checker rejected the model: {error}"
            ) from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, request.threads)
        options.inter_op_num_threads = 1
        session = ort.InferenceSession(request.model, options, providers=["CPUExecutionProvider"])
        outputs = [o.name for o in session.get_outputs()]
        pixels = None
        if request.pixel_levels > 0:
            pixels = PixelCodec(request.pixel_levels, request.pixel_mean, request.pixel_std)
        shape = tuple(int(d) for d in request.input_shape)
        probe = np.zeros((1, *shape), dtype=np.float32)
        times = []
        for _ in range(max(1, request.warmup)):
            start = time.perf_counter()
            session.run(outputs, {_INPUT: probe})
            times.append(time.perf_counter() - start)
        deployed = _Deployed(
            request=request,
            session=session,
            outputs=outputs,
            reference_s=statistics.median(times[len(times) // 4 :] or times),
            pixels=pixels,
            forward_links=[_hop(link) for link in request.forward_links],
            result_links=[_hop(link) for link in request.result_links],
        )
        if request.transport not in ("", "grpc", "tcp"):
            raise InputError(f"transport must be grpc or tcp, got {request.transport!r}")
        if request.transport == "tcp":
            limit = self.options.max_message_bytes
            if request.next_data_address:
                deployed.next_infer = FrameStub(request.next_data_address, max_bytes=limit)
                deployed.stubs.append(deployed.next_infer)
            if request.sink_data_address:
                deployed.deliver = FrameStub(request.sink_data_address, max_bytes=limit)
                deployed.stubs.append(deployed.deliver)
            return deployed
        if request.next_address:
            channel = open_channel(request.next_address, self.options)
            deployed.channels.append(channel)
            deployed.next_infer = make_stub(
                channel, wire.WORKER_SERVICE, "Infer", wire.InferRequest, wire.InferReply
            )
        if request.sink_address:
            channel = open_channel(request.sink_address, self.options)
            deployed.channels.append(channel)
            deployed.deliver = make_stub(
                channel, wire.SINK_SERVICE, "Deliver", wire.Result, wire.Empty
            )
        return deployed

    def _infer(self, request: Any, context: grpc.ServicerContext) -> Any:
        arrive_ns = time.monotonic_ns()
        deployed = self._deployed
        if deployed is None:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"tier {self.tier}: not deployed")
            raise AssertionError("abort raises")
        try:
            reply = self._handle(deployed, request, context, arrive_ns)
        except InputError as error:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"tier {self.tier}: {error}")
        return self._count(reply)

    def _infer_frame(self, request: Any) -> Any:
        """``Infer`` on the TCP data plane: errors become an unsuccessful reply."""
        arrive_ns = time.monotonic_ns()
        deployed = self._deployed
        if deployed is None:
            return wire.InferReply(ok=False, error=f"tier {self.tier}: not deployed")
        try:
            reply = self._handle(deployed, request, None, arrive_ns)
        except InputError as error:
            reply = wire.InferReply(ok=False, error=f"tier {self.tier}: {error}")
        return self._count(reply)

    def _count(self, reply: Any) -> Any:
        """Count a finished sample as served or failed (Health reports both)."""
        with self._state:
            if reply.ok:
                self._served += 1
            else:
                self._failed += 1
        return reply

    def _handle(
        self,
        deployed: _Deployed,
        request: Any,
        context: grpc.ServicerContext | None,
        arrive_ns: int,
    ) -> Any:
        spec = deployed.request
        x = wire.from_tensor(request.input)
        if deployed.pixels is not None:
            x = deployed.pixels.decode(x)
        shape = (1, *(int(d) for d in spec.input_shape))
        if tuple(x.shape) != shape or x.dtype != np.float32:
            raise InputError(f"input must be float32 of shape {shape}, got {x.dtype} {x.shape}")
        with self._compute:
            start = time.perf_counter()
            values = deployed.session.run(deployed.outputs, {_INPUT: x})
            compute_s = time.perf_counter() - start
            if spec.compute_mode == "sleep" and spec.compute_ratio > 1:
                sleep_until(
                    time.monotonic() + spec.compute_ratio * deployed.reference_s - compute_s
                )
            busy_s = time.perf_counter() - start
        out = dict(zip(deployed.outputs, values, strict=True))
        entropy = float(out[_ENTROPY].reshape(-1)[0])
        last = spec.partition == spec.count
        leaves = last or (spec.has_threshold and entropy < spec.threshold)
        hop = wire.Hop(
            partition=spec.partition,
            tier=self.tier,
            arrive_s=(arrive_ns - request.sent_ns) / 1e9,
            compute_s=compute_s,
            busy_s=busy_s,
        )
        timeout = spec.deadline_s
        if context is not None:
            left = context.time_remaining()
        else:  # tcp: what the caller had left, less what this worker has used
            left = request.timeout_s - (time.monotonic_ns() - arrive_ns) / 1e9
        if left is not None:
            timeout = min(timeout, left)
        until = time.monotonic() + timeout  # the emulated link delay below spends from it
        if leaves:
            probabilities = np.ascontiguousarray(out[_PROBABILITIES].reshape(-1))
            hop.link_s = self._links.send(deployed.result_links, probabilities.nbytes * 8)
            result = wire.Result(
                request_id=request.request_id,
                sent_ns=request.sent_ns,
                label=request.label,
                exit=spec.partition,
                prediction=int(probabilities.argmax()),
                entropy=entropy,
                probabilities=wire.to_tensor(probabilities),
                input_link_s=request.input_link_s,
            )
            result.hops.extend(request.hops)
            result.hops.append(hop)
            return self._call(deployed.deliver, result, until, "destination sink", spec)
        activation = np.ascontiguousarray(out[_ACTIVATION])
        hop.link_s = self._links.send(deployed.forward_links, activation.nbytes * 8)
        onward = wire.InferRequest(
            request_id=request.request_id,
            sent_ns=request.sent_ns,
            label=request.label,
            input=wire.to_tensor(activation),
            input_link_s=request.input_link_s,
        )
        onward.hops.extend(request.hops)
        onward.hops.append(hop)
        return self._call(deployed.next_infer, onward, until, spec.next_tier, spec)

    def _call(self, stub: Any, message: Any, until: float, target: str, spec: Any) -> Any:
        """Send ``message`` onward with what is left before ``until`` (monotonic seconds)."""
        address = spec.next_address if target == spec.next_tier else spec.sink_address
        if stub is None:
            return wire.InferReply(ok=False, error=f"{target}: no address", failed_tier=target)
        timeout = max(until - time.monotonic() - 0.01, 0.001)
        if isinstance(message, wire.InferRequest):
            message.timeout_s = timeout  # the tcp transport carries it; gRPC has its own
        try:
            reply = stub(message, timeout=timeout)
        except (grpc.RpcError, TransportError) as error:
            where = stub.address if isinstance(stub, FrameStub) else address
            return wire.InferReply(
                ok=False, error=f"{target} at {where}: {call_failure(error)}", failed_tier=target
            )
        if isinstance(reply, wire.Empty):  # the sink accepted the result
            return wire.InferReply(ok=True)
        return reply


def call_failure(error: Exception) -> str:
    """Why a call to another process failed: ``CODE: details`` for gRPC, else the reason."""
    if isinstance(error, grpc.RpcError):
        code = error.code()
        return f"{code.name if code else '?'}: {error.details()}"
    return str(error)


def _close(deployed: _Deployed) -> None:
    for channel in deployed.channels:
        channel.close()
    for stub in deployed.stubs:
        stub.close()


def server_port(server: grpc.Server, listen: str, options: WorkerOptions) -> int:
    """Bind ``listen`` (TLS when ``options`` has a certificate); the bound port."""
    if options.tls_cert is not None and options.tls_key is not None:
        creds = grpc.ssl_server_credentials([(options.tls_key, options.tls_cert)])
        port = server.add_secure_port(listen, creds)
    else:
        port = server.add_insecure_port(listen)
    if port == 0:
        raise InputError(f"listen address {listen}: cannot bind")
    return int(port)


def _hop(link: Any) -> LinkHop:
    return LinkHop(link.name, link.bandwidth_bps, link.latency_s)
