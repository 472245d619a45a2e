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

import ipaddress
import random
import time
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.runtime import _wire as wire
from splitexit.runtime._domain import Route, RouteFailure
from splitexit.runtime._frames import FrameStub, TransportError
from splitexit.runtime._records import TRANSPORTS

__all__ = [
    "RETRY_ANY",
    "RETRY_REFUSED",
    "TRANSPORTS",
    "WorkerOptions",
    "call_failure",
    "call_with_retry",
    "channel_options",
    "check_frames_host",
    "is_loopback",
    "make_server",
    "make_stub",
    "open_channel",
    "routes_for",
    "server_port",
    "split_listen",
]


@validate_params(
    {
        "pool": [Interval(int, None, None)],
        "queue": [Interval(int, None, None)],
        "max_message_bytes": [Interval(int, None, None)],
        "tls_cert": [InstanceOf(bytes), None],
        "tls_key": [InstanceOf(bytes), None],
        "tls_ca": [InstanceOf(bytes), None],
        "providers": [InstanceOf(tuple, list)],
        "metrics_port": [Interval(int, None, None), None],
        "metrics_host": [InstanceOf(str)],
        "transport": [InstanceOf(str)],
        "insecure": [InstanceOf(bool)],
        "max_connections": [Interval(int, None, None)],
        "read_timeout_s": [Interval(float, None, None)],
    }
)
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
    transport: str = "grpc"  # "tcp": also serve the frame data plane (``_frames``)
    insecure: bool = False  # allow frames (no TLS) on an address beyond loopback
    max_connections: int = 64  # frame connections held at once; more are closed
    read_timeout_s: float = 10.0  # frame handshake, and the rest of a frame once begun

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise InputError(
                f"transport must be one of {', '.join(TRANSPORTS)}, got {self.transport!r}"
            )
        if self.max_connections < 1 or not self.read_timeout_s > 0:
            raise InputError(
                f"frame connections must be >= 1 and the read timeout > 0 s, got "
                f"{self.max_connections}, {self.read_timeout_s}"
            )
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


RETRY_ANY = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.UNAVAILABLE})
# refused before the handler ran: the only failure after which an Infer may be sent again
RETRY_REFUSED = frozenset({grpc.StatusCode.RESOURCE_EXHAUSTED})


def split_listen(listen: str) -> tuple[str, int]:
    """HOST and PORT of ``listen`` (``HOST:PORT``, port 0..65535; ``[v6]:PORT`` too).

    >>> split_listen("127.0.0.1:0")
    ('127.0.0.1', 0)
    """
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(
            f"listen address must be HOST:PORT with a port in 0..65535, got {listen!r}"
        )
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_frames_host(host: str, options: WorkerOptions) -> None:
    """Refuse the frame data plane beyond loopback unless ``options.insecure``."""
    if not is_loopback(host) and not options.insecure:
        raise InputError(
            f"--transport tcp on {host}: frames have no TLS, so samples and results would "
            f"cross the network in plaintext; listen on loopback, use --transport grpc with "
            f"TLS, or pass --insecure on a network you trust"
        )


def call_with_retry(
    stub: Callable[..., Any],
    request: Any,
    *,
    timeout: float,
    retry: frozenset[grpc.StatusCode] = RETRY_ANY,
    attempts: int = 5,
    backoff_s: float = 0.02,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """``stub(request, timeout=...)``, again after a failure whose code is in ``retry``, with
    exponential backoff and jitter (``backoff_s`` x 2^k, at most 0.5 s, times 0.5-1.5), at most
    ``attempts`` calls, never past ``timeout`` overall.

    Only for calls that are safe to repeat: Deploy and Health always; Infer only when it was
    refused before it ran (``RETRY_REFUSED``)."""
    end = time.monotonic() + timeout
    for attempt in range(attempts):
        try:
            return stub(request, timeout=max(end - time.monotonic(), 1e-3))
        except grpc.RpcError as error:
            code = error.code() if callable(getattr(error, "code", None)) else None
            pause = min(backoff_s * (2**attempt), 0.5) * (0.5 + random.random())
            if code not in retry or attempt + 1 == attempts or time.monotonic() + pause >= end:
                raise
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


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
    split_listen(listen)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=options.pool),
        maximum_concurrent_rpcs=concurrency or options.queue,
        # a worker never shares its port: a second bind of a taken port fails
        options=[*channel_options(options.max_message_bytes), ("grpc.so_reuseport", 0)],
    )
    add_servicers(server)
    return server, server_port(server, listen, options)


def server_port(server: grpc.Server, listen: str, options: WorkerOptions) -> int:
    """Bind ``listen`` (TLS when ``options`` has a certificate); the bound port."""
    _, wanted = split_listen(listen)
    try:
        if options.tls_cert is not None and options.tls_key is not None:
            creds = grpc.ssl_server_credentials([(options.tls_key, options.tls_cert)])
            port = server.add_secure_port(listen, creds)
        else:
            port = server.add_insecure_port(listen)
    except RuntimeError:
        port = 0
    if port == 0 or (wanted and port != wanted):
        raise InputError(f"listen address {listen}: cannot bind (port taken or address not here)")
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
        try:  # a refusal (RESOURCE_EXHAUSTED) came before any work: safe to send again
            reply = call_with_retry(
                stub, message, timeout=timeout, retry=RETRY_REFUSED, attempts=12
            )
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
            stub = FrameStub(spec.next_data_address, max_bytes=limit, token=spec.token)
            closers.append(stub.close)
            forward = _frame_route(stub, sink=False)
        if spec.sink_data_address:
            stub = FrameStub(spec.sink_data_address, max_bytes=limit, token=spec.token)
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
