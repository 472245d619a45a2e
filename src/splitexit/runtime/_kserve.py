"""A tier over the Open Inference Protocol (KServe v2 gRPC, as Triton speaks it).

``inference.GRPCInferenceService`` beside the Worker service, so a tier can be tried with the
usual tools (Triton's ``tritonclient.grpc``, KServe's client, ``grpcurl``). The model is the
tier's deployed partition, named after the tier (``edge``), version its 1-based partition
index. ``ModelInfer`` runs the partition on the inputs (FP32, as ``raw_input_contents`` or
``contents.fp32_contents``; a batch of any size) and returns every output it computes (or the
ones asked for) as ``raw_output_contents``: the activation, the exit's probabilities and
entropy. It does not forward the sample to the next tier nor deliver it to a sink, and does
not stretch compute; it shares the session with ``Infer`` (ONNX Runtime sessions are safe
to run from several threads).

==========================  ===================  ==========================================
refusal                     status code          when
==========================  ===================  ==========================================
model not deployed          ``UNAVAILABLE``      before any Deploy
another model name          ``NOT_FOUND``        ``model_name`` is not the tier's name
a bad input or output       ``INVALID_ARGUMENT`` name, datatype, shape or byte count wrong
==========================  ===================  ==========================================
"""

from __future__ import annotations

from typing import Any

import grpc
import numpy as np
import numpy.typing as npt

from splitexit.errors import InputError
from splitexit.runtime._domain import Partition, Tier
from splitexit.runtime._logs import log
from splitexit.runtime._metrics import WorkerMetrics
from splitexit.runtime.proto import kserve_predict_v2_pb2 as pb
from splitexit.runtime.proto import kserve_predict_v2_pb2_grpc as kserve_rpc

__all__ = ["DATATYPES", "KServeServicer"]

# ONNX Runtime's type strings -> the protocol's datatypes and their numpy dtypes
DATATYPES: dict[str, tuple[str, str]] = {
    "tensor(float)": ("FP32", "<f4"),
    "tensor(float16)": ("FP16", "<f2"),
    "tensor(double)": ("FP64", "<f8"),
    "tensor(int64)": ("INT64", "<i8"),
    "tensor(int32)": ("INT32", "<i4"),
    "tensor(uint8)": ("UINT8", "u1"),
    "tensor(bool)": ("BOOL", "?"),
}
PLATFORM = "onnxruntime_onnx"


class _Refused(Exception):
    def __init__(self, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason = code, reason


def _shape(dims: list[Any]) -> list[int]:
    return [d if isinstance(d, int) else -1 for d in dims]


class KServeServicer(kserve_rpc.GRPCInferenceServiceServicer):
    """The KServe v2 calls over the ``tier``'s installed partition."""

    def __init__(self, tier: Tier, metrics: WorkerMetrics) -> None:
        self.tier, self.metrics = tier, metrics

    def _partition(self, name: str) -> Partition:
        if name != self.tier.name:
            raise _Refused(
                grpc.StatusCode.NOT_FOUND,
                "not_found",
                f"model {name!r} is not served here; this tier serves {self.tier.name!r}",
            )
        partition = self.tier.partition
        if partition is None:
            raise _Refused(
                grpc.StatusCode.UNAVAILABLE,
                "not_deployed",
                f"tier {self.tier.name}: not deployed",
            )
        return partition

    def ServerLive(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerLiveResponse(live=True)

    def ServerReady(self, request: Any, context: grpc.ServicerContext) -> Any:
        return pb.ServerReadyResponse(ready=self.tier.partition is not None)

    def ModelReady(self, request: Any, context: grpc.ServicerContext) -> Any:
        ready = request.name == self.tier.name and self.tier.partition is not None
        return pb.ModelReadyResponse(ready=ready)

    def ModelMetadata(self, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            partition = self._partition(request.name)
        except _Refused as refused:
            context.abort(refused.code, str(refused))
        reply = pb.ModelMetadataResponse(
            name=self.tier.name, versions=[str(partition.spec.partition)], platform=PLATFORM
        )
        for node in partition.session.get_inputs():
            datatype = DATATYPES.get(node.type, (node.type, ""))[0]
            reply.inputs.add(name=node.name, datatype=datatype, shape=_shape(node.shape))
        for node in partition.session.get_outputs():
            datatype = DATATYPES.get(node.type, (node.type, ""))[0]
            reply.outputs.add(name=node.name, datatype=datatype, shape=_shape(node.shape))
        return reply

    def ModelInfer(self, request: Any, context: grpc.ServicerContext) -> Any:
        def partition_index() -> int:
            partition = self.tier.partition
            return 0 if partition is None else int(partition.spec.partition)

        with self.metrics.track("kserve", partition_index) as call:
            try:
                partition = self._partition(request.model_name)
                return _infer(partition, request, self.tier.name)
            except InputError as error:
                call.fail("invalid_argument")
                log.warning("ModelInfer refused: %s", error, extra=_why(self.tier))
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            except _Refused as refused:
                call.fail(refused.reason)
                log.warning("ModelInfer refused: %s", refused, extra=_why(self.tier))
                context.abort(refused.code, str(refused))
        raise AssertionError("abort raises")  # pragma: no cover


def _why(tier: Tier) -> dict[str, object]:
    return {"tier": tier.name, "api": "kserve"}


def _inputs(partition: Partition, request: Any) -> dict[str, npt.NDArray[Any]]:
    """The request's inputs as arrays, checked against the partition's inputs."""
    nodes = {node.name: node for node in partition.session.get_inputs()}
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InputError(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs"
        )
    feeds: dict[str, npt.NDArray[Any]] = {}
    for i, tensor in enumerate(request.inputs):
        where = f"input {tensor.name!r}"
        if tensor.name not in nodes:
            raise InputError(f"{where}: this partition's inputs are {', '.join(nodes)}")
        if tensor.datatype != "FP32":
            raise InputError(f"{where}: datatype must be FP32, got {tensor.datatype!r}")
        shape = tuple(int(d) for d in tensor.shape)
        expected = _shape(nodes[tensor.name].shape)
        if (
            len(shape) != len(expected)
            or any(e >= 0 and e != d for d, e in zip(shape, expected, strict=False))
            or any(d < 0 for d in shape)
        ):
            raise InputError(f"{where}: shape must be {expected} (-1: any), got {list(shape)}")
        count = int(np.prod(shape, dtype=np.int64))
        if raw:
            if len(raw[i]) != 4 * count:
                raise InputError(f"{where}: shape {list(shape)} needs {4 * count} bytes, got "
                                 f"{len(raw[i])}")  # fmt: skip
            array = np.frombuffer(raw[i], dtype="<f4")
        else:
            values = tensor.contents.fp32_contents
            if len(values) != count:
                raise InputError(f"{where}: shape {list(shape)} needs {count} fp32_contents, got "
                                 f"{len(values)}")  # fmt: skip
            array = np.asarray(values, dtype=np.float32)
        feeds[tensor.name] = array.astype(np.float32).reshape(shape)
    missing = [name for name in nodes if name not in feeds]
    if missing:
        raise InputError(f"inputs {', '.join(missing)} missing from the request")
    return feeds


def _infer(partition: Partition, request: Any, tier: str) -> Any:
    feeds = _inputs(partition, request)
    types = {node.name: node.type for node in partition.session.get_outputs()}
    names = [o.name for o in request.outputs] or list(types)
    for name in names:
        if name not in types:
            raise InputError(f"output {name!r}: this partition's outputs are {', '.join(types)}")
    values = partition.session.run(names, feeds)
    reply = pb.ModelInferResponse(
        model_name=tier, model_version=str(partition.spec.partition), id=request.id
    )
    for name, value in zip(names, values, strict=True):
        datatype, dtype = DATATYPES.get(types[name], ("FP32", "<f4"))
        array = np.ascontiguousarray(value, dtype=dtype)
        reply.outputs.add(name=name, datatype=datatype, shape=list(array.shape))
        reply.raw_output_contents.append(array.tobytes())
    return reply
