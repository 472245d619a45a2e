"""A tier worker: the domain (``_domain.Tier``) served over gRPC and the TCP frame data plane.

Protocol (service ``splitexit.runtime.v1.Worker``, ``runtime/proto/splitexit_runtime.proto``):

- ``Deploy(DeployRequest) -> DeployReply``: needs the shared token; the model's SHA-256 must
  match and ``onnx.checker`` must accept it before ONNX Runtime loads it. The worker then
  times the partition (``warmup`` runs, median) to know its reference compute time.
- ``Infer(InferRequest) -> InferReply``: one sample. Compute (stretched to
  ``compute_ratio`` x the reference in ``sleep`` mode), then exit (``leaves_here``: normalized
  entropy below the threshold, or the last partition: the result goes to the sink) or forward
  the activation to the next worker, each transfer delayed by the emulated links. The reply
  returns when the sample has left this worker's hands downstream, so an error anywhere after
  it (an unreachable tier, a deadline) comes back to the caller with the failing tier's name.
- ``Health(Empty) -> HealthReply`` and ``Shutdown(ShutdownRequest) -> Empty`` (token).

Layers: ``_domain`` (the tier's work, no gRPC), ``_servicer`` (calls adapted, errors mapped to
status codes), ``_transport`` (the server factory, channels, TLS, routes); this module wires
them together and adds the frame socket (``_frames``).

>>> server = WorkerServer("edge", "secret", options=WorkerOptions())
>>> port = server.start()
>>> server.stop(0)
"""

from __future__ import annotations

import os
import threading

import grpc

from splitexit.errors import InputError
from splitexit.runtime._domain import Tier
from splitexit.runtime._frames import FrameServer
from splitexit.runtime._servicer import WorkerServicer
from splitexit.runtime._transport import (
    WorkerOptions,
    call_failure,
    channel_options,
    make_server,
    make_stub,
    open_channel,
    server_port,
)
from splitexit.runtime.proto import splitexit_runtime_pb2_grpc as rpc

__all__ = [
    "RECEIVE_DELAY_ENV",
    "WorkerOptions",
    "WorkerServer",
    "call_failure",
    "channel_options",
    "make_stub",
    "open_channel",
    "receive_delay_from_env",
    "server_port",
]

# propagation delay (s) the worker adds to every sample it receives: the netns testbed sets it
# to the latency of the links between the previous partition's tier and this one
RECEIVE_DELAY_ENV = "SPLITEXIT_RECEIVE_DELAY_S"


def receive_delay_from_env() -> float:
    """``SPLITEXIT_RECEIVE_DELAY_S`` in seconds (0 when unset).

    >>> receive_delay_from_env() >= 0
    True
    """
    raw = os.environ.get(RECEIVE_DELAY_ENV, "").strip()
    try:
        delay = float(raw) if raw else 0.0
    except ValueError:
        delay = -1.0
    if not delay >= 0:
        raise InputError(f"{RECEIVE_DELAY_ENV} must be a number of seconds >= 0, got {raw!r}")
    return delay


class WorkerServer:
    """The worker of tier ``tier``; ``start()`` binds ``listen`` and returns the port.

    ``make_servicer`` is the seam for a different ``Infer`` (the benchmarks cut it down)."""

    def __init__(
        self, tier: str, token: str, *, listen: str = "127.0.0.1:0", options: WorkerOptions
    ) -> None:
        self.tier = Tier(tier, token, receive_delay_s=receive_delay_from_env())
        self.listen, self.options = listen, options
        self.stopped = threading.Event()
        self.servicer = self.make_servicer()
        self._server: grpc.Server | None = None
        self._frames: FrameServer | None = None
        self.port = 0

    def make_servicer(self) -> WorkerServicer:
        return WorkerServicer(self.tier, self.options, on_shutdown=self.stop)

    @property
    def address(self) -> str:
        """HOST:PORT where the worker serves gRPC (after ``start``)."""
        return f"{self.listen.rsplit(':', 1)[0]}:{self.port}"

    def start(self) -> int:
        """Bind and serve gRPC and the frame socket; the bound gRPC port."""
        server, port = make_server(
            self.listen,
            self.options,
            lambda s: rpc.add_WorkerServicer_to_server(self.servicer, s),  # type: ignore[no-untyped-call]
        )
        server.start()
        self._server = server
        host = self.listen.rsplit(":", 1)[0]
        self._frames = FrameServer(
            host, self.servicer.infer_frame, max_bytes=self.options.max_message_bytes
        )
        self.servicer.data_address = self._frames.address
        self.port = port
        return port

    def stop(self, grace_s: float = 5.0) -> None:
        """Refuse new calls, let running ones finish for ``grace_s``, close channels."""
        if self._frames is not None:
            self._frames.close()
        if self._server is not None:
            self._server.stop(grace_s).wait()
        self.tier.close()
        self.stopped.set()
