"""The optional TCP data plane: the same protobuf messages as length-prefixed frames on
persistent connections, for ``Infer`` and ``Deliver`` only.

gRPC stays the control plane (token-guarded Deploy, Health, Shutdown) and the default data
plane. With ``transport="tcp"`` samples skip grpcio's per-call machinery (thread hand-offs
that cost a few hundred microseconds on a small machine, docs/benchmarks.md): a frame is a
4-byte big-endian length, one byte of kind and the serialized message; every request gets
exactly one reply on the same connection. No TLS: loopback or a trusted network only.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from splitexit.errors import InputError
from splitexit.runtime import _wire as wire

__all__ = ["KINDS", "FrameServer", "FrameStub", "TransportError"]

_HEADER = struct.Struct(">IB")
# kind byte -> message class; requests and their replies
KINDS: dict[int, Any] = {
    1: wire.InferRequest,
    2: wire.InferReply,
    3: wire.Result,
    4: wire.Empty,
}
_KIND_OF = {cls: kind for kind, cls in KINDS.items()}


class TransportError(ConnectionError):
    """A frame could not be sent or its reply not received (refused, reset, timed out)."""


def _send(sock: socket.socket, message: Any) -> None:
    body = message.SerializeToString()
    sock.sendall(_HEADER.pack(len(body), _KIND_OF[type(message)]) + body)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise TransportError("connection closed by the peer")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(sock: socket.socket, max_bytes: int) -> Any:
    size, kind = _HEADER.unpack(_receive_exactly(sock, _HEADER.size))
    if kind not in KINDS or size > max_bytes:
        raise TransportError(f"bad frame: kind {kind}, {size} bytes (limit {max_bytes})")
    return KINDS[kind].FromString(_receive_exactly(sock, size))


class FrameServer:
    """Accept connections on ``host:0``; answer each request frame with ``handle(message)``."""

    def __init__(
        self, host: str, handle: Callable[[Any], Any], *, max_bytes: int, backlog: int = 64
    ) -> None:
        self._handle, self._max = handle, max_bytes
        self._listener = socket.create_server((host, 0), backlog=backlog)
        self.address = f"{host}:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._connections.add(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                request = _receive(sock, self._max)
                _send(sock, self._handle(request))
        except (OSError, TransportError):
            pass  # the peer went away; its caller sees the error on its side
        finally:
            with self._lock:
                self._connections.discard(sock)
            sock.close()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            for sock in self._connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class FrameStub:
    """Call ``address`` with a message and get its reply: ``stub(message, timeout=s)``.

    Keeps idle connections for reuse; a connection is used by one call at a time.
    """

    def __init__(self, address: str, *, max_bytes: int) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise InputError(f"data address must be HOST:PORT, got {address!r}")
        self.address, self._target, self._max = address, (host, int(port)), max_bytes
        self._idle: queue.LifoQueue[socket.socket] = queue.LifoQueue()

    def __call__(self, message: Any, *, timeout: float) -> Any:
        try:
            sock = self._idle.get_nowait()
        except queue.Empty:
            sock = None
        try:
            if sock is None:
                sock = socket.create_connection(self._target, timeout=max(timeout, 1e-3))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(max(timeout, 1e-3))
            _send(sock, message)
            reply = _receive(sock, self._max)
        except (OSError, TransportError) as error:
            if sock is not None:
                sock.close()
            reason = "deadline exceeded" if isinstance(error, TimeoutError) else str(error)
            raise TransportError(reason) from None
        self._idle.put(sock)
        return reply

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
