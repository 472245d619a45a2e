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

Beside it on the same port: the standard health service ``grpc.health.v1.Health`` (``_health``:
liveness from start, readiness once deployed, NOT_SERVING on shutdown), server reflection,
and the Open Inference Protocol's ``inference.GRPCInferenceService`` (``_kserve``). Optional:
Prometheus ``/metrics`` over HTTP (``WorkerOptions.metrics_port``, ``_metrics``); logs through
``logging`` (``_logs``).

Layers: ``_domain`` (the tier's work, no gRPC), ``_servicer`` (calls adapted, errors mapped to
status codes), ``_transport`` (the server factory, channels, TLS, routes); this module wires
them together and adds the frame socket (``_frames``) when ``options.transport`` is ``tcp``:
the frame data plane is off otherwise, and refused beyond loopback unless ``insecure``.

>>> server = WorkerServer("edge", "secret", options=WorkerOptions())
>>> port = server.start()
>>> server.stop(0)
"""

from __future__ import annotations

import os
import threading

import grpc

from splitexit._validation import InstanceOf, validate_params
from splitexit.errors import InputError
from splitexit.runtime._domain import Tier
from splitexit.runtime._frames import FrameServer
from splitexit.runtime._health import HEALTH, KSERVE, WORKER, enable_reflection
from splitexit.runtime._kserve import KServeServicer
from splitexit.runtime._logs import log
from splitexit.runtime._metrics import WorkerMetrics
from splitexit.runtime._providers import ProviderChoice
from splitexit.runtime._servicer import WorkerServicer
from splitexit.runtime._shaping import ReceiveCharge
from splitexit.runtime._transport import (
    WorkerOptions,
    call_failure,
    channel_options,
    check_frames_host,
    make_server,
    make_stub,
    open_channel,
    server_port,
    split_listen,
)
from splitexit.runtime.proto import kserve_predict_v2_pb2_grpc as kserve_rpc
from splitexit.runtime.proto import splitexit_runtime_pb2_grpc as rpc

__all__ = [
    "RECEIVE_DELAY_ENV",
    "WorkerOptions",
    "WorkerServer",
    "call_failure",
    "channel_options",
    "make_stub",
    "open_channel",
    "receive_charge_from_env",
    "server_port",
]

# what the worker adds to every sample it receives, from its arrival: the netns testbed sets
# it to the propagation of the links between the previous partition's tier and this one and
# their token buckets' credit (``ReceiveCharge.to_env``: ``delay;rate:burst,...``); a bare
# number is a propagation delay alone
RECEIVE_DELAY_ENV = "SPLITEXIT_RECEIVE_DELAY_S"


def receive_charge_from_env() -> ReceiveCharge:
    """``SPLITEXIT_RECEIVE_DELAY_S`` as a ``ReceiveCharge`` (nothing when unset).

    >>> receive_charge_from_env().delay_s >= 0
    True
    """
    raw = os.environ.get(RECEIVE_DELAY_ENV, "").strip()
    try:
        return ReceiveCharge.from_env(raw)
    except InputError:
        raise InputError(
            f"{RECEIVE_DELAY_ENV} must be seconds >= 0, optionally followed by "
            f"';rate:burst,...' (bit/s, bytes > 0), got {raw!r}"
        ) from None


@validate_params(
    {
        "tier": [InstanceOf(str)],
        "token": [InstanceOf(str)],
        "listen": [InstanceOf(str)],
        "options": [InstanceOf(WorkerOptions)],
    }
)
class WorkerServer:
    """The worker of tier ``tier``; ``start()`` binds ``listen`` and returns the port.

    ``make_servicer`` is the seam for a different ``Infer`` (the benchmarks cut it down)."""

    def __init__(
        self, tier: str, token: str, *, listen: str = "127.0.0.1:0", options: WorkerOptions
    ) -> None:
        self.tier = Tier(tier, token, receive=receive_charge_from_env())
        self._token = token  # proves the frame connections (HMAC handshake, ``_frames``)
        self.listen, self.options = listen, options
        self.stopped = threading.Event()
        self.servicer = self.make_servicer()
        self._server: grpc.Server | None = None
        self._frames: FrameServer | None = None
        self.port = 0
        self.metrics_port = 0  # where /metrics is served (after ``start``; 0: not served)
        self._stop_lock = threading.Lock()

    def make_servicer(self) -> WorkerServicer:
        return WorkerServicer(self.tier, self.options, on_shutdown=self.stop)

    @property
    def address(self) -> str:
        """HOST:PORT where the worker serves gRPC (after ``start``)."""
        return f"{self.listen.rsplit(':', 1)[0]}:{self.port}"

    @property
    def metrics(self) -> WorkerMetrics:
        """The worker's Prometheus metrics (served when ``options.metrics_port`` is set)."""
        return self.servicer.metrics

    @property
    def providers(self) -> ProviderChoice:
        """The ONNX Runtime execution providers partitions run on, and what was skipped."""
        return self.servicer.providers

    def _add_servicers(self, server: grpc.Server) -> None:
        rpc.add_WorkerServicer_to_server(self.servicer, server)  # type: ignore[no-untyped-call]
        kserve = KServeServicer(self.tier, self.servicer.metrics)
        kserve_rpc.add_GRPCInferenceServiceServicer_to_server(kserve, server)  # type: ignore[no-untyped-call]
        self.servicer.health.add_to(server)
        enable_reflection(server, [WORKER, KSERVE, HEALTH])

    def start(self) -> int:
        """Bind and serve gRPC (and the frame socket with ``transport="tcp"``, and
        ``/metrics``); the bound gRPC port. A bad or taken address is refused in one line."""
        host, _ = split_listen(self.listen)
        if self.options.transport == "tcp":
            check_frames_host(host, self.options)
        server, port = make_server(self.listen, self.options, self._add_servicers)
        if self.options.metrics_port is not None:
            metrics_at = f"{self.options.metrics_host}:{self.options.metrics_port}"
            try:
                self.metrics_port = self.metrics.serve(
                    self.options.metrics_port, self.options.metrics_host
                )
            except OSError as error:  # taken, or a host that is not ours
                server.stop(None)
                reason = error.strerror or str(error)
                raise InputError(
                    f"/metrics at {metrics_at} (--metrics-host, --metrics-port): cannot bind "
                    f"({reason})"
                ) from None
        if self.options.transport == "tcp":
            try:
                self._frames = FrameServer(
                    host,
                    self.servicer.infer_frame,
                    max_bytes=self.options.max_message_bytes,
                    token=self._token,
                    max_connections=self.options.max_connections,
                    read_timeout_s=self.options.read_timeout_s,
                )
            except OSError as error:
                server.stop(None)
                self.metrics.close()
                raise InputError(f"frame socket on {host}: {error.strerror}") from None
            self.servicer.data_address = self._frames.address
        server.start()
        self._server = server
        self.port = port
        choice = self.providers
        log.info(
            "worker %s serving on %s",
            self.tier.name,
            self.address,
            extra={
                "tier": self.tier.name,
                "address": self.address,
                "data_address": self.servicer.data_address,
                "metrics_port": self.metrics_port,
                "providers": ",".join(choice.used),
            },
        )
        if choice.note:
            log.warning(choice.note, extra={"tier": self.tier.name})
        return port

    def stop(self, grace_s: float = 5.0) -> None:
        """Health NOT_SERVING, refuse new calls, let running ones finish for ``grace_s``,
        close channels and ``/metrics``."""
        with self._stop_lock:
            if self.stopped.is_set():
                return
            self.servicer.health.shutting_down()
            if self._server is not None:
                log.info("worker %s shutting down", self.tier.name, extra={"tier": self.tier.name})
            if self._frames is not None:
                self._frames.close()
            if self._server is not None:
                self._server.stop(grace_s).wait()
            self.tier.close()
            self.metrics.close()
            self.stopped.set()
