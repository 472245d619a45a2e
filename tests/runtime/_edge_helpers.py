"""Shared by the edge-worker tests: a deploy request for the chain's last partition and a
channel's stubs for the Worker service."""

from __future__ import annotations

from typing import Any

import grpc

from splitexit.runtime import _wire as wire


def last_partition_request(deployable: Any, token: str, **changes: Any) -> wire.DeployRequest:
    """Deploy the chain's last partition, with no sink: its samples fail downstream."""
    part = deployable.manifest.partitions[-1]
    model = (deployable.folder / part.file).read_bytes()
    fields: dict[str, Any] = dict(
        token=token, partition=3, count=3, model=model, sha256=part.sha256, warmup=1,
        input_shape=list(part.inputs[0].shape), deadline_s=5, compute_mode="none",
    )  # fmt: skip
    fields.update(changes)
    return wire.DeployRequest(**fields)


def worker_call(channel: grpc.Channel, name: str, request: Any, reply: Any) -> Any:
    return channel.unary_unary(
        wire.method(wire.WORKER_SERVICE, name),
        request_serializer=request.SerializeToString,
        response_deserializer=reply.FromString,
    )
