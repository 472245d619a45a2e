"""The gRPC servicers: each call adapted to the domain, domain errors mapped to status codes.

===================  ======================  =========================================
domain error         status code             when
===================  ======================  =========================================
``WrongToken``       ``PERMISSION_DENIED``   Deploy or Shutdown with another token
``NotDeployed``      ``FAILED_PRECONDITION`` Infer before any Deploy
``InputError``       ``INVALID_ARGUMENT``    a bad model (hash, checker) or sample
===================  ======================  =========================================

The TCP frame data plane (``infer_frame``) answers the same errors with an unsuccessful
``InferReply`` instead, since a frame has no status code. Every refusal and failed sample is
logged (``_logs``) and counted (``_metrics``); a deploy turns the standard health service's
readiness to SERVING (``_health``) and runs on the execution providers chosen at start
(``_providers``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import grpc

from splitexit.errors import InputError
from splitexit.runtime import _wire as wire
from splitexit.runtime._domain import NotDeployed, Tier, WrongToken, load_partition
from splitexit.runtime._health import WorkerHealth
from splitexit.runtime._logs import log
from splitexit.runtime._metrics import Call, WorkerMetrics
from splitexit.runtime._providers import ProviderChoice, choose_providers
from splitexit.runtime._transport import WorkerOptions, routes_for
from splitexit.runtime.proto import splitexit_runtime_pb2_grpc as rpc

__all__ = ["STATUS_OF", "SinkServicer", "WorkerServicer"]

STATUS_OF: dict[type[Exception], grpc.StatusCode] = {
    WrongToken: grpc.StatusCode.PERMISSION_DENIED,
    NotDeployed: grpc.StatusCode.FAILED_PRECONDITION,
    InputError: grpc.StatusCode.INVALID_ARGUMENT,
}


@contextmanager
def _status(
    context: grpc.ServicerContext, tier: str, call: str, counted: Call | None = None
) -> Iterator[None]:
    """Abort the call with the status code of a domain error raised inside; log it, and mark
    ``counted`` failed with the code's name."""
    try:
        yield
    except (WrongToken, NotDeployed, InputError) as error:
        code = next(c for kind, c in STATUS_OF.items() if isinstance(error, kind))
        reason = code.name.lower()
        log.warning(
            "%s refused: %s", call, error, extra={"tier": tier, "call": call, "code": code.name}
        )
        if counted is not None:
            counted.fail("not_deployed" if isinstance(error, NotDeployed) else reason)
        context.abort(code, str(error))


class WorkerServicer(rpc.WorkerServicer):
    """``splitexit.runtime.v1.Worker`` over a ``Tier``; ``data_address`` reports the frames."""

    def __init__(
        self,
        tier: Tier,
        options: WorkerOptions,
        *,
        on_shutdown: Callable[[], None],
        metrics: WorkerMetrics | None = None,
        health: WorkerHealth | None = None,
        providers: ProviderChoice | None = None,
    ) -> None:
        self.tier, self.options = tier, options
        self.data_address = ""
        self._on_shutdown = on_shutdown
        self.metrics = metrics if metrics is not None else WorkerMetrics(tier.name)
        self.health = health if health is not None else WorkerHealth()
        self.providers = providers if providers is not None else choose_providers(options.providers)

    def _partition_index(self) -> int:
        partition = self.tier.partition
        return 0 if partition is None else int(partition.spec.partition)

    def Deploy(  # the generated base names the methods
        self, request: wire.DeployRequest, context: grpc.ServicerContext
    ) -> wire.DeployReply:
        name = self.tier.name
        with _status(context, name, "Deploy"):
            self.tier.authorize(request.token)
            try:
                partition = load_partition(request, self.providers.used)
            except InputError:
                raise
            except Exception:  # ONNX Runtime failing to make a session: say so, then fail
                log.exception("deploy failed", extra={"tier": name})
                raise
            forward, deliver, close = routes_for(request, self.options)
        self.tier.install(partition, forward, deliver, close)
        self.health.deployed()
        log.info(
            "deployed partition %d of %d (%s)",
            request.partition,
            request.count,
            ", ".join(self.providers.used),
            extra={
                "tier": name,
                "partition": request.partition,
                "providers": ",".join(self.providers.used),
                "reference_s": partition.reference_s,
                "transport": request.transport or "grpc",
            },
        )
        return wire.DeployReply(
            reference_s=partition.reference_s,
            activation_bits=partition.output_bits("activation"),
            result_bits=partition.output_bits("probabilities"),
        )

    def Infer(self, request: wire.InferRequest, context: grpc.ServicerContext) -> wire.InferReply:
        arrive_ns = time.monotonic_ns()
        with (
            self.metrics.track("infer", self._partition_index) as call,
            _status(context, self.tier.name, "Infer", call),
        ):
            return self._failed(call, self.tier.infer(request, context.time_remaining(), arrive_ns))
        raise AssertionError("abort raises")  # pragma: no cover

    def infer_frame(self, request: wire.InferRequest) -> wire.InferReply:
        """``Infer`` on the TCP data plane: the caller's time left travels in the request."""
        arrive_ns = time.monotonic_ns()
        with self.metrics.track("frame", self._partition_index) as call:
            try:
                reply = self.tier.infer(request, request.timeout_s, arrive_ns)
            except (NotDeployed, InputError) as error:
                call.fail("not_deployed" if isinstance(error, NotDeployed) else "invalid_argument")
                log.warning("frame refused: %s", error, extra={"tier": self.tier.name})
                return wire.InferReply(ok=False, error=str(error))
            return self._failed(call, reply)

    def _failed(self, call: Call, reply: wire.InferReply) -> wire.InferReply:
        """Count and log a sample that a later tier or the sink did not take."""
        if not reply.ok:
            call.fail("downstream")
            # while this worker stops (its driver interrupted), samples in flight fail by
            # design: a debug line, not a warning on the terminal the user just interrupted
            log.log(
                logging.DEBUG if self.health.stopping else logging.WARNING,
                "sample failed downstream: %s",
                reply.error,
                extra={"tier": self.tier.name, "failed_tier": reply.failed_tier},
            )
        return reply

    def Health(self, request: wire.Empty, context: grpc.ServicerContext) -> wire.HealthReply:
        return self.tier.health(self.data_address)

    def Shutdown(self, request: wire.ShutdownRequest, context: grpc.ServicerContext) -> wire.Empty:
        with _status(context, self.tier.name, "Shutdown"):
            self.tier.authorize(request.token)
        log.info("shutdown requested", extra={"tier": self.tier.name})
        threading.Thread(target=self._on_shutdown, daemon=True).start()
        return wire.Empty()


class SinkServicer(rpc.SinkServicer):
    """``splitexit.runtime.v1.Sink``: hands every result to ``deliver``."""

    def __init__(self, deliver: Callable[[wire.Result], None]) -> None:
        self._deliver = deliver

    def Deliver(self, request: wire.Result, context: grpc.ServicerContext | None) -> wire.Empty:
        self._deliver(request)
        return wire.Empty()
