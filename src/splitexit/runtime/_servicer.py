"""The gRPC servicers: each call adapted to the domain, domain errors mapped to status codes.

===================  ======================  =========================================
domain error         status code             when
===================  ======================  =========================================
``WrongToken``       ``PERMISSION_DENIED``   Deploy or Shutdown with another token
``NotDeployed``      ``FAILED_PRECONDITION`` Infer before any Deploy
``InputError``       ``INVALID_ARGUMENT``    a bad model (hash, checker) or sample
===================  ======================  =========================================

The TCP frame data plane (``infer_frame``) answers the same errors with an unsuccessful
``InferReply`` instead, since a frame has no status code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc

from splitexit.errors import InputError
from splitexit.runtime import _wire as wire
from splitexit.runtime._domain import NotDeployed, Tier, WrongToken, load_partition
from splitexit.runtime._transport import WorkerOptions, routes_for
from splitexit.runtime.proto import splitexit_runtime_pb2_grpc as rpc

__all__ = ["STATUS_OF", "SinkServicer", "WorkerServicer"]

STATUS_OF: dict[type[Exception], grpc.StatusCode] = {
    WrongToken: grpc.StatusCode.PERMISSION_DENIED,
    NotDeployed: grpc.StatusCode.FAILED_PRECONDITION,
    InputError: grpc.StatusCode.INVALID_ARGUMENT,
}


@contextmanager
def _status(context: grpc.ServicerContext) -> Iterator[None]:
    """Abort the call with the status code of a domain error raised inside."""
    try:
        yield
    except (WrongToken, NotDeployed, InputError) as error:
        code = next(c for kind, c in STATUS_OF.items() if isinstance(error, kind))
        context.abort(code, str(error))


class WorkerServicer(rpc.WorkerServicer):
    """``splitexit.runtime.v1.Worker`` over a ``Tier``; ``data_address`` reports the frames."""

    def __init__(
        self, tier: Tier, options: WorkerOptions, *, on_shutdown: Callable[[], None]
    ) -> None:
        self.tier, self.options = tier, options
        self.data_address = ""
        self._on_shutdown = on_shutdown

    def Deploy(  # the generated base names the methods
        self, request: wire.DeployRequest, context: grpc.ServicerContext
    ) -> wire.DeployReply:
        with _status(context):
            self.tier.authorize(request.token)
            partition = load_partition(request)
            forward, deliver, close = routes_for(request, self.options)
        self.tier.install(partition, forward, deliver, close)
        return wire.DeployReply(
            reference_s=partition.reference_s,
            activation_bits=partition.output_bits("activation"),
            result_bits=partition.output_bits("probabilities"),
        )

    def Infer(self, request: wire.InferRequest, context: grpc.ServicerContext) -> wire.InferReply:
        arrive_ns = time.monotonic_ns()
        with _status(context):
            return self.tier.infer(request, context.time_remaining(), arrive_ns)
        raise AssertionError("abort raises")  # pragma: no cover

    def infer_frame(self, request: wire.InferRequest) -> wire.InferReply:
        """``Infer`` on the TCP data plane: the caller's time left travels in the request."""
        arrive_ns = time.monotonic_ns()
        try:
            return self.tier.infer(request, request.timeout_s, arrive_ns)
        except (NotDeployed, InputError) as error:
            return wire.InferReply(ok=False, error=str(error))

    def Health(self, request: wire.Empty, context: grpc.ServicerContext) -> wire.HealthReply:
        return self.tier.health(self.data_address)

    def Shutdown(self, request: wire.ShutdownRequest, context: grpc.ServicerContext) -> wire.Empty:
        with _status(context):
            self.tier.authorize(request.token)
        threading.Thread(target=self._on_shutdown, daemon=True).start()
        return wire.Empty()


class SinkServicer(rpc.SinkServicer):
    """``splitexit.runtime.v1.Sink``: hands every result to ``deliver``."""

    def __init__(self, deliver: Callable[[wire.Result], None]) -> None:
        self._deliver = deliver

    def Deliver(self, request: wire.Result, context: grpc.ServicerContext | None) -> wire.Empty:
        self._deliver(request)
        return wire.Empty()
