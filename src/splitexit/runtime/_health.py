"""The standard gRPC health service (``grpc.health.v1.Health``) and server reflection.

Probes (Kubernetes' ``grpc`` probe, ``grpc_health_probe``, load balancers) ask
``grpc.health.v1.Health/Check`` with a service name. A worker answers:

============================================  ===========================  ==============
service asked                                 SERVING                      use it for
============================================  ===========================  ==============
``""`` (the server)                           from start to shutdown       liveness
``splitexit.runtime.v1.Worker``               once a partition is deployed readiness
``inference.GRPCInferenceService``            once a partition is deployed readiness (KServe)
============================================  ===========================  ==============

Before the first deploy the two named services answer NOT_SERVING (the worker is alive but
has nothing to run); on shutdown every service turns NOT_SERVING before the server stops
taking calls, so a probe sees the worker leave before its port closes. ``Watch`` streams
the same statuses. Reflection (``grpc.reflection.v1alpha.ServerReflection``) lets
``grpcurl -plaintext HOST:PORT list`` name every service without the ``.proto`` files.

>>> health = WorkerHealth()
>>> health.status(WORKER)
'NOT_SERVING'
>>> health.deployed()
>>> health.status(WORKER), health.status("")
('SERVING', 'SERVING')
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health as _health  # type: ignore[import-untyped]
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection  # type: ignore[import-untyped]

from splitexit.runtime import _wire as wire

__all__ = ["HEALTH", "KSERVE", "SERVER", "WORKER", "WorkerHealth", "enable_reflection"]

SERVER = ""
WORKER = wire.WORKER_SERVICE
KSERVE = "inference.GRPCInferenceService"
HEALTH = "grpc.health.v1.Health"
_READY_ON_DEPLOY = (WORKER, KSERVE)


class WorkerHealth:
    """A worker's statuses in the standard health servicer; ``add_to`` serves them."""

    def __init__(self) -> None:
        self.stopping = False
        """Set once the worker shuts down: failures of samples in flight are then expected."""
        self.servicer = _health.HealthServicer()
        self.servicer.set(SERVER, health_pb2.HealthCheckResponse.SERVING)
        for service in _READY_ON_DEPLOY:
            self.servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)

    def add_to(self, server: grpc.Server) -> None:
        health_pb2_grpc.add_HealthServicer_to_server(self.servicer, server)

    def deployed(self) -> None:
        """A partition is installed: the named services are ready."""
        for service in _READY_ON_DEPLOY:
            self.servicer.set(service, health_pb2.HealthCheckResponse.SERVING)

    def shutting_down(self) -> None:
        """Every service NOT_SERVING from now on (later ``set`` calls are ignored)."""
        self.stopping = True
        self.servicer.enter_graceful_shutdown()

    def status(self, service: str) -> str:
        """The status name ``Check`` would answer for ``service`` (for logs and tests)."""
        request = health_pb2.HealthCheckRequest(service=service)
        reply = self.servicer.Check(request, _NoContext())
        return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


class _NoContext:
    """Enough of a ServicerContext for an in-process ``Check`` of a registered service."""

    def set_code(self, code: object) -> None:  # pragma: no cover - only for unknown services
        raise KeyError("unknown service")


def enable_reflection(server: grpc.Server, services: list[str]) -> None:
    """Serve reflection for ``services`` (full names) and for reflection itself."""
    reflection.enable_server_reflection([*services, reflection.SERVICE_NAME], server)
