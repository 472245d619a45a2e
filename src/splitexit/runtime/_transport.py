"""gRPC plumbing: server and channel options, TLS, the server factory and the routes.

``make_server`` builds a bound, not yet started gRPC server with the runtime's limits (thread
pool, ``maximum_concurrent_rpcs``: excess calls are refused with RESOURCE_EXHAUSTED at once,
never queued without bound; the message size; TLS when the options carry a certificate).
Tests run it in-process; ``splitexit worker`` runs the same thing in its own process.

``routes_for`` turns a deploy request's addresses into the domain's ``Route`` callables, over
gRPC or the TCP frame data plane, with transport errors turned into ``RouteFailure``.

>>> options = WorkerOptions()
>>> server, port = make_server("127.0.0.1:0", options, lambda server: None)
>>> port > 0
True
>>> server.stop(None)  # doctest: +ELLIPSIS
<...>
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

from splitexit.errors import InputError
from splitexit.runtime import _wire as wire
from splitexit.runtime._domain import Route, RouteFailure
from splitexit.runtime._frames import FrameStub, TransportError

__all__ = [
    "WorkerOptions",
    "call_failure",
    "channel_options",
    "make_server",
    "make_stub",
    "open_channel",
    "routes_for",
    "server_port",
]


@dataclass(frozen=True)
class WorkerOptions:
    """How a worker serves: thread pool, bound on concurrent calls, message size, TLS; the
    ONNX Runtime execution providers in order of preference (those this machine lacks are
    skipped, CPU is always last; an unknown name is refused); ``metrics_port``: serve
    Prometheus ``/metrics`` there (0: any free port; None: not at all) on ``metrics_host``."""

    pool: int = 8  # server threads
    queue: int = 32  # maximum concurrent RPCs; more are refused with RESOURCE_EXHAUSTED
    max_message_bytes: int = 64 * 1024 * 1024
    tls_cert: bytes | None = None  # PEM; with tls_key: serve TLS
    tls_key: bytes | None = None
    tls_ca: bytes | None = None  # PEM; verify the next worker / sink over TLS
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if self.pool < 1 or self.queue < 1 or self.max_message_bytes < 1024:
            raise InputError(
                f"worker pool and queue must be >= 1 and the message size >= 1 KiB, got "
                f"{self.pool}, {self.queue}, {self.max_message_bytes}"
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise InputError("TLS needs both a certificate and its key")
        if self.metrics_port is not None and not 0 <= self.metrics_port <= 65535:
            raise InputError(f"metrics port must be in 0..65535, got {self.metrics_port}")
        object.__setattr__(self, "providers", tuple(self.providers))  # a list given: hashable
        if self.providers != ("CPUExecutionProvider",):
            from splitexit.runtime._providers import check_provider_names

            check_provider_names(self.providers)


def channel_options(max_message_bytes: int) -> list[tuple[str, int]]:
    """Send and receive limits of a channel or server, in bytes."""
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
    ]


def make_server(
    listen: str,
    options: WorkerOptions,
    add_servicers: Callable[[grpc.Server], None],
    *,
    concurrency: int | None = None,
) -> tuple[grpc.Server, int]:
    """A gRPC server bound to ``listen`` (not started) with ``add_servicers`` added; its port.

    ``concurrency`` bounds the calls in flight (default ``options.queue``)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.pool),
        maximum_concurrent_rpcs=concurrency or options.queue,
        options=channel_options(options.max_message_bytes),
    )
    add_servicers(server)
    return server, server_port(server, listen, options)


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


def open_channel(address: str, options: WorkerOptions) -> grpc.Channel:
    """A channel to ``address``: TLS verified against ``options.tls_ca`` when given."""
    opts = channel_options(options.max_message_bytes)
    if options.tls_ca is not None:
        creds = grpc.ssl_channel_credentials(root_certificates=options.tls_ca)
        return grpc.secure_channel(address, creds, options=opts)
    return grpc.insecure_channel(address, options=opts)


def make_stub(channel: grpc.Channel, service: str, name: str, request: Any, reply: Any) -> Any:
    """A unary-unary callable for ``service/name`` with the runtime's messages."""
    return channel.unary_unary(
        wire.method(service, name),
        request_serializer=request.SerializeToString,
        response_deserializer=reply.FromString,
    )


def call_failure(error: Exception) -> str:
    """Why a call to another process failed: ``CODE: details`` for gRPC, else the reason."""
    if isinstance(error, grpc.RpcError):
        code = error.code()
        return f"{code.name if code else '?'}: {error.details()}"
    return str(error)


def _grpc_route(stub: Any, address: str, *, sink: bool) -> Route:
    def route(message: Any, timeout: float) -> wire.InferReply:
        try:
            reply = stub(message, timeout=timeout)
        except grpc.RpcError as error:
            raise RouteFailure(address, call_failure(error)) from None
        return wire.InferReply(ok=True) if sink else reply

    return route


def _frame_route(stub: FrameStub, *, sink: bool) -> Route:
    def route(message: Any, timeout: float) -> wire.InferReply:
        try:
            reply = stub(message, timeout=timeout)
        except TransportError as error:
            raise RouteFailure(stub.address, str(error)) from None
        return wire.InferReply(ok=True) if sink else reply

    return route


def routes_for(
    spec: wire.DeployRequest, options: WorkerOptions
) -> tuple[Route | None, Route | None, Callable[[], None]]:
    """The routes to the next worker and to the sink that ``spec`` names, and their closer."""
    forward: Route | None = None
    deliver: Route | None = None
    closers: list[Callable[[], None]] = []
    if spec.transport == "tcp":
        limit = options.max_message_bytes
        if spec.next_data_address:
            stub = FrameStub(spec.next_data_address, max_bytes=limit)
            closers.append(stub.close)
            forward = _frame_route(stub, sink=False)
        if spec.sink_data_address:
            stub = FrameStub(spec.sink_data_address, max_bytes=limit)
            closers.append(stub.close)
            deliver = _frame_route(stub, sink=True)
    else:
        if spec.next_address:
            channel = open_channel(spec.next_address, options)
            closers.append(channel.close)
            infer = make_stub(
                channel, wire.WORKER_SERVICE, "Infer", wire.InferRequest, wire.InferReply
            )
            forward = _grpc_route(infer, spec.next_address, sink=False)
        if spec.sink_address:
            channel = open_channel(spec.sink_address, options)
            closers.append(channel.close)
            sink = make_stub(channel, wire.SINK_SERVICE, "Deliver", wire.Result, wire.Empty)
            deliver = _grpc_route(sink, spec.sink_address, sink=True)

    def close() -> None:
        for closer in closers:
            closer()

    return forward, deliver, close
