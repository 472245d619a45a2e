"""The destination's sink: results arrive by gRPC ``Deliver`` or as frames; each stored once.

>>> sink = Sink(options=WorkerOptions())
>>> sink.start()
>>> sink.take(1, 0.01) is None
True
>>> sink.close()
"""

from __future__ import annotations

import threading
import time

import grpc

from splitexit._validation import InstanceOf, validate_params
from splitexit.errors import InputError
from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import FrameServer
from splitexit.runtime._servicer import SinkServicer
from splitexit.runtime._transport import WorkerOptions, check_frames_host, make_server
from splitexit.runtime.proto import splitexit_runtime_pb2_grpc as rpc

__all__ = ["Sink"]


@validate_params(
    {
        "listen": [InstanceOf(str)],
        "options": [InstanceOf(WorkerOptions)],
        "frames_token": [InstanceOf(str)],
    }
)
class Sink:
    """The destination's ``Deliver`` endpoint: stores each result with its arrival time.

    ``start()`` binds ``listen`` (TLS with ``options``' certificate) and, with a
    ``frames_token``, a frame socket; ``address`` and ``data_address`` are then set."""

    def __init__(
        self, *, listen: str = "127.0.0.1:0", options: WorkerOptions, frames_token: str = ""
    ) -> None:
        self.listen, self.options = listen, options
        self._frames_token = frames_token  # non-empty: also take results as frames
        self._results: dict[int, tuple[wire.Result, int]] = {}
        self._cond = threading.Condition()
        self.duplicates = 0
        self.received = 0
        self.address = ""
        self.data_address = ""
        self._server: grpc.Server | None = None
        self._frames: FrameServer | None = None

    def start(self) -> None:
        if self._server is not None:
            raise InputError("the sink is already started")
        servicer = SinkServicer(self._deliver)
        server, port = make_server(
            self.listen,
            self.options,
            lambda s: rpc.add_SinkServicer_to_server(servicer, s),  # type: ignore[no-untyped-call]
            concurrency=self.options.queue * 4,
        )
        host = self.listen.rsplit(":", 1)[0]
        server.start()
        self._server = server
        self.address = f"{host}:{port}"
        if not self._frames_token:
            return
        check_frames_host(host, self.options)
        self._frames = FrameServer(
            host,
            lambda result: servicer.Deliver(result, None),
            max_bytes=self.options.max_message_bytes,
            token=self._frames_token,
            max_connections=self.options.max_connections * 4,  # every worker delivers here
            read_timeout_s=self.options.read_timeout_s,
        )
        self.data_address = self._frames.address

    def _deliver(self, result: wire.Result) -> None:
        arrive = time.monotonic_ns()
        with self._cond:
            self.received += 1
            if result.request_id in self._results:
                self.duplicates += 1
            else:
                self._results[result.request_id] = (result, arrive)
            self._cond.notify_all()

    def take(self, request_id: int, timeout_s: float) -> tuple[wire.Result, int] | None:
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
        """Stop serving (idempotent)."""
        if self._frames is not None:
            self._frames.close()
            self._frames = None
        if self._server is not None:
            self._server.stop(1.0).wait()
            self._server = None
