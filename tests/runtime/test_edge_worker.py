"""Edge-ready workers: execution providers, the standard health service and reflection,
Prometheus metrics scraped over HTTP, and JSON-lines logs."""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.request
from collections.abc import Iterator

import grpc
import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (  # type: ignore[import-untyped]
    ProtoReflectionDescriptorDatabase,
)

from splitexit.errors import InputError
from splitexit.runtime import WorkerOptions, WorkerServer
from splitexit.runtime import _wire as wire
from splitexit.runtime._logs import LOGGER, configure_logging
from splitexit.runtime._providers import CPU, choose_providers

from ._edge_helpers import last_partition_request, worker_call

CUDA = "CUDAExecutionProvider"


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    yield stream
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def test_providers_keep_what_this_machine_has_and_fall_back_to_cpu() -> None:
    choice = choose_providers([CUDA, CPU], available=[CPU])
    assert choice.used == (CPU,) and choice.skipped == (CUDA,)
    assert choice.note == f"{CUDA} not available here; falling back to {CPU}"
    both = choose_providers([CUDA, CPU], available=[CUDA, CPU])
    assert both.used == (CUDA, CPU) and both.note == ""
    assert choose_providers([CUDA], available=[CUDA, CPU]).used == (CUDA, CPU)  # CPU last


@pytest.mark.parametrize("providers", [("FooExecutionProvider",), (CPU, "cuda"), ()])
def test_providers_unknown_or_none_is_refused_with_one_line(providers: tuple[str, ...]) -> None:
    with pytest.raises(InputError) as error:
        WorkerOptions(providers=providers)
    assert "\n" not in str(error.value) and "execution provider" in str(error.value)


def test_providers_of_a_worker_are_those_onnx_runtime_has_here() -> None:
    options = WorkerOptions(providers=[CUDA, CPU])  # type: ignore[arg-type]  # a list is taken
    server = WorkerServer("edge", "secret", options=options)
    expected = (*(p for p in (CUDA,) if p in ort.get_available_providers()), CPU)
    assert options.providers == (CUDA, CPU) and server.providers.used == expected
    assert (server.providers.note == "") == (CUDA in ort.get_available_providers())


def _check(channel: grpc.Channel, service: str) -> str:
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


@pytest.mark.slow
def test_health_is_live_at_start_ready_once_deployed_and_not_serving_on_shutdown(
    deployable,  # type: ignore[no-untyped-def]
) -> None:
    server = WorkerServer("cloud", "secret", options=WorkerOptions())
    address = f"127.0.0.1:{server.start()}"
    try:
        with grpc.insecure_channel(address) as channel:
            assert _check(channel, "") == "SERVING"
            assert _check(channel, wire.WORKER_SERVICE) == "NOT_SERVING"
            assert _check(channel, "inference.GRPCInferenceService") == "NOT_SERVING"
            with pytest.raises(grpc.RpcError) as unknown:
                _check(channel, "no.such.Service")
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            deploy = worker_call(channel, "Deploy", wire.DeployRequest, wire.DeployReply)
            deploy(last_partition_request(deployable, "secret"), timeout=30)
            assert _check(channel, wire.WORKER_SERVICE) == "SERVING"
            assert _check(channel, "inference.GRPCInferenceService") == "SERVING"
            services = set(ProtoReflectionDescriptorDatabase(channel).get_services())
            assert {
                wire.WORKER_SERVICE,
                "inference.GRPCInferenceService",
                "grpc.health.v1.Health",
                "grpc.reflection.v1alpha.ServerReflection",
            } <= services
    finally:
        server.stop(0)
    assert server.servicer.health.status("") == "NOT_SERVING"
    assert server.servicer.health.status(wire.WORKER_SERVICE) == "NOT_SERVING"


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _scrape(port: int) -> Samples:
    """The worker's /metrics over HTTP, as {(name, labels): value}."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    samples: Samples = {}
    for line in text.splitlines():
        match = re.match(r"^(splitexit_\w+)(?:\{(.*)\})? (\S+)$", line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
            samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset({"tier": "cloud", **labels}.items())), 0.0)


@pytest.mark.slow
def test_metrics_count_requests_failures_by_reason_and_latency(deployable) -> None:  # type: ignore[no-untyped-def]
    server = WorkerServer("cloud", "secret", options=WorkerOptions(metrics_port=0))
    address = f"127.0.0.1:{server.start()}"
    assert server.metrics_port > 0
    try:
        with grpc.insecure_channel(address) as channel:
            infer = worker_call(channel, "Infer", wire.InferRequest, wire.InferReply)
            shape = (1, *deployable.manifest.partitions[-1].inputs[0].shape)
            good = wire.InferRequest(input=wire.to_tensor(np.zeros(shape, np.float32)))
            with pytest.raises(grpc.RpcError):
                infer(good, timeout=5)  # before any deploy
            before = _scrape(server.metrics_port)
            deploy = worker_call(channel, "Deploy", wire.DeployRequest, wire.DeployReply)
            deploy(last_partition_request(deployable, "secret"), timeout=30)
            for _ in range(3):  # the last partition, no sink: each fails downstream
                assert not infer(good, timeout=5).ok
            bad = wire.InferRequest(input=wire.to_tensor(np.zeros((1, 2), np.float32)))
            with pytest.raises(grpc.RpcError):
                infer(bad, timeout=5)
            after = _scrape(server.metrics_port)
    finally:
        server.stop(0)
    failures = "splitexit_worker_failures_total"
    assert _value(before, failures, api="infer", partition="0", reason="not_deployed") == 1.0
    on = {"api": "infer", "partition": "3"}
    assert _value(after, "splitexit_worker_requests_total", **on) == 4.0
    assert _value(after, failures, **on, reason="downstream") == 3.0
    assert _value(after, failures, **on, reason="invalid_argument") == 1.0
    assert _value(after, "splitexit_worker_request_seconds_count", **on) == 4.0
    assert _value(after, "splitexit_worker_request_seconds_bucket", **on, le="+Inf") == 4.0
    assert _value(after, "splitexit_worker_in_flight") == 0.0
    assert ("splitexit_worker_in_flight", frozenset({("tier", "cloud")})) in after
    with pytest.raises(OSError):  # closed with the worker
        _scrape(server.metrics_port)


@pytest.mark.slow
def test_logs_are_json_lines_for_start_deploy_refusal_failure_and_shutdown(
    deployable,  # type: ignore[no-untyped-def]
    json_logs: io.StringIO,
) -> None:
    server = WorkerServer("cloud", "secret", options=WorkerOptions())
    address = f"127.0.0.1:{server.start()}"
    with grpc.insecure_channel(address) as channel:
        deploy = worker_call(channel, "Deploy", wire.DeployRequest, wire.DeployReply)
        with pytest.raises(grpc.RpcError):
            deploy(last_partition_request(deployable, "guess"), timeout=30)
        deploy(last_partition_request(deployable, "secret"), timeout=30)
        infer = worker_call(channel, "Infer", wire.InferRequest, wire.InferReply)
        shape = (1, *deployable.manifest.partitions[-1].inputs[0].shape)
        infer(wire.InferRequest(input=wire.to_tensor(np.zeros(shape, np.float32))), timeout=5)
    server.stop(0)
    records = [json.loads(line) for line in json_logs.getvalue().splitlines()]
    messages = [r["message"] for r in records]
    assert messages[0] == f"worker cloud serving on {address}"
    refused = next(r for r in records if r["message"].startswith("Deploy refused"))
    assert (refused["level"], refused["code"], refused["tier"]) == (
        "WARNING",
        "PERMISSION_DENIED",
        "cloud",
    )
    deployed = next(r for r in records if r["message"].startswith("deployed partition 3 of 3"))
    assert deployed["providers"].endswith(CPU) and deployed["partition"] == 3
    failed = next(r for r in records if r["message"].startswith("sample failed downstream"))
    assert "destination sink: no address" in failed["message"]
    assert messages[-1] == "worker cloud shutting down"
    assert all(set(r) >= {"time", "level", "logger", "message"} for r in records)
