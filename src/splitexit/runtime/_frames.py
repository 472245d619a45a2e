"""The optional TCP data plane: the same protobuf messages as length-prefixed frames on
persistent connections, for ``Infer`` and ``Deliver`` only (``--transport tcp``).

gRPC stays the control plane (token-guarded Deploy, Health, Shutdown) and the default data
plane; a worker opens no frame socket unless asked. With ``transport="tcp"`` samples skip
grpcio's per-call machinery (thread hand-offs that cost a few hundred microseconds on a small
machine, docs/benchmarks.md): a frame is a 4-byte big-endian length, one byte of kind and the
serialized message; every request gets exactly one reply on the same connection.

Every connection starts with a challenge-response handshake on the shared token (the token is
never sent): the server sends a random 16-byte nonce, the client answers
HMAC-SHA256(token, label + nonce), the server answers one byte (1: accepted) or closes. The
server holds at most ``max_connections`` connections (more are closed at once), gives a peer
``read_timeout_s`` for the handshake and for the rest of a frame once its first byte came
(slow-loris), lets an authenticated connection idle for ``idle_timeout_s``, and refuses a
frame longer than ``max_bytes`` on its 5-byte header, before allocating anything. No TLS:
loopback or a trusted network only (``WorkerOptions.insecure`` to listen elsewhere).

>>> server = FrameServer("127.0.0.1", lambda m: wire.Empty(), max_bytes=1024, token="t")
>>> stub = FrameStub(server.address, max_bytes=1024, token="t")
>>> stub(wire.Result(request_id=1), timeout=5.0)

>>> stub.close(); server.close()
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import queue
import secrets
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any

from splitexit.errors import InputError
from splitexit.runtime import _wire as wire

__all__ = ["KINDS", "FrameServer", "FrameStub", "TransportError", "handshake_response"]

_HEADER = struct.Struct(">IB")
_NONCE = 16
_LABEL = b"splitexit-frames/1 "
_ACCEPTED = b"\x01"
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


def handshake_response(token: str, nonce: bytes) -> bytes:
    """What a client proves it holds ``token`` with: HMAC-SHA256 of the label and the nonce.

    >>> len(handshake_response("t", b"0" * 16))
    32
    """
    return hmac.new(token.encode(), _LABEL + nonce, hashlib.sha256).digest()


def _send(sock: socket.socket, message: Any) -> None:
    body = message.SerializeToString()
    sock.sendall(_HEADER.pack(len(body), _KIND_OF[type(message)]) + body)


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    """``size`` bytes, held only as they arrive (a header's claim allocates nothing)."""
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise TransportError("connection closed by the peer")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _check_header(header: bytes, max_bytes: int) -> tuple[int, int]:
    size, kind = _HEADER.unpack(header)
    if kind not in KINDS or size > max_bytes:
        raise TransportError(f"bad frame: kind {kind}, {size} bytes (limit {max_bytes})")
    return size, kind


def _receive(sock: socket.socket, max_bytes: int) -> Any:
    size, kind = _check_header(_receive_exactly(sock, _HEADER.size), max_bytes)
    return KINDS[kind].FromString(_receive_exactly(sock, size))


class FrameServer:
    """Accept connections on ``host:port``; after the handshake on ``token``, answer each
    request frame with ``handle(message)``. ``connections``: how many are open now."""

    def __init__(
        self,
        host: str,
        handle: Callable[[Any], Any],
        *,
        max_bytes: int,
        token: str,
        port: int = 0,
        max_connections: int = 64,
        read_timeout_s: float = 10.0,
        idle_timeout_s: float = 300.0,
        backlog: int = 64,
    ) -> None:
        if not token:
            raise InputError("the frame data plane needs a non-empty token")
        self._handle, self._max, self._key = handle, max_bytes, token
        self._limit, self._read_s, self._idle_s = max_connections, read_timeout_s, idle_timeout_s
        self._listener = socket.create_server((host, port), backlog=backlog)
        self.address = f"{host}:{self._listener.getsockname()[1]}"
        self._closed = threading.Event()
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.refused = 0  # connections closed: over the limit or a failed handshake
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                full = len(self._connections) >= self._limit
                if not full:
                    self._connections.add(sock)
            if full:
                self.refused += 1
                sock.close()
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _authenticate(self, sock: socket.socket) -> bool:
        nonce = secrets.token_bytes(_NONCE)
        sock.settimeout(self._read_s)
        sock.sendall(nonce)
        answer = _receive_exactly(sock, 32)
        if not hmac.compare_digest(answer, handshake_response(self._key, nonce)):
            self.refused += 1
            return False
        sock.sendall(_ACCEPTED)
        return True

    def _serve(self, sock: socket.socket) -> None:
        try:
            if not self._authenticate(sock):
                return
            while True:
                sock.settimeout(self._idle_s)  # a kept connection may wait for its next call
                first = sock.recv(1)
                if not first:
                    return
                sock.settimeout(self._read_s)  # once a frame starts, it must arrive in time
                header = first + _receive_exactly(sock, _HEADER.size - 1)
                size, kind = _check_header(header, self._max)
                request = KINDS[kind].FromString(_receive_exactly(sock, size))
                _send(sock, self._handle(request))
        except (OSError, TransportError):
            pass  # the peer went away or misbehaved; a caller sees the error on its side
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

    Proves ``token`` on every new connection; keeps idle connections for reuse; a connection
    is used by one call at a time.
    """

    def __init__(self, address: str, *, max_bytes: int, token: str) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise InputError(f"data address must be HOST:PORT, got {address!r}")
        self.address, self._target, self._max = address, (host, int(port)), max_bytes
        self._key = token
        self._idle: queue.LifoQueue[socket.socket] = queue.LifoQueue()

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection(self._target, timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            nonce = _receive_exactly(sock, _NONCE)
            sock.sendall(handshake_response(self._key, nonce))
            if sock.recv(1) != _ACCEPTED:
                raise TransportError("handshake refused (wrong token?)")
        except BaseException:
            sock.close()
            raise
        return sock

    def __call__(self, message: Any, *, timeout: float) -> Any:
        try:
            sock = self._idle.get_nowait()
        except queue.Empty:
            sock = None
        timeout = max(timeout, 1e-3)
        try:
            if sock is None:
                sock = self._connect(timeout)
            sock.settimeout(timeout)
            _send(sock, message)
            reply = _receive(sock, self._max)
        except (OSError, TransportError) as error:
            if sock is not None:
                sock.close()
            reason = "deadline exceeded" if isinstance(error, TimeoutError) else str(error)
            raise TransportError(reason or type(error).__name__) from None
        self._idle.put(sock)
        return reply

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
