"""The runtime's protobuf messages and gRPC method names, built at import time.

The messages are declared here as a ``FileDescriptorProto`` instead of a ``.proto`` file
compiled by ``protoc``: no generated code to keep in step with the protobuf runtime, and the
schema still travels as ordinary protobuf on the wire (any gRPC client in any language can
speak to a worker given the equivalent ``.proto``, written out in docs/runtime.md).

Tensors are raw bytes with their dtype and shape: no pickle, no base64.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from splitexit.errors import InputError

__all__ = [
    "PACKAGE",
    "SINK_SERVICE",
    "WORKER_SERVICE",
    "DeployReply",
    "DeployRequest",
    "Empty",
    "HealthReply",
    "Hop",
    "InferReply",
    "InferRequest",
    "LinkSpec",
    "Result",
    "ShutdownRequest",
    "Tensor",
    "from_tensor",
    "method",
    "to_tensor",
]

PACKAGE = "splitexit.runtime.v1"
WORKER_SERVICE = f"{PACKAGE}.Worker"
SINK_SERVICE = f"{PACKAGE}.Sink"

# dtypes a tensor may carry on the wire (little-endian, C order)
_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8, "int64": np.int64}

_F = descriptor_pb2.FieldDescriptorProto
_SCALARS = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "double": _F.TYPE_DOUBLE,
    "float": _F.TYPE_FLOAT,
    "int64": _F.TYPE_INT64,
    "int32": _F.TYPE_INT32,
    "bool": _F.TYPE_BOOL,
}

# message name -> [(field name, type, repeated)]; a type not in _SCALARS is a message.
_MESSAGES: dict[str, list[tuple[str, str, bool]]] = {
    "Tensor": [("dtype", "string", False), ("shape", "int64", True), ("data", "bytes", False)],
    "LinkSpec": [
        ("name", "string", False),
        ("bandwidth_bps", "double", False),
        ("latency_s", "double", False),
    ],
    "Hop": [
        ("partition", "int32", False),  # 1-based
        ("tier", "string", False),
        ("arrive_s", "double", False),  # since the sample left the source
        ("compute_s", "double", False),  # ONNX Runtime's run
        ("busy_s", "double", False),  # compute incl. the emulated stretch
        ("link_s", "double", False),  # emulated delay of the outgoing transfer
    ],
    "DeployRequest": [
        ("token", "string", False),
        ("partition", "int32", False),  # 1-based
        ("count", "int32", False),  # partitions in the chain
        ("model", "bytes", False),  # the ONNX file
        ("sha256", "string", False),
        ("has_threshold", "bool", False),
        ("threshold", "double", False),
        ("next_address", "string", False),  # empty on the last partition
        ("next_tier", "string", False),
        ("sink_address", "string", False),
        ("destination", "string", False),
        ("forward_links", "LinkSpec", True),  # links crossed to the next tier
        ("result_links", "LinkSpec", True),  # links crossed to the destination
        ("compute_ratio", "double", False),
        ("compute_mode", "string", False),  # sleep | none
        ("threads", "int32", False),
        ("warmup", "int32", False),
        ("input_shape", "int64", True),  # per sample
        ("pixel_levels", "int32", False),  # > 0: the input arrives as 8-bit pixels
        ("pixel_mean", "float", True),
        ("pixel_std", "float", True),
        ("deadline_s", "double", False),  # of each outgoing call
        ("transport", "string", False),  # grpc (default) | tcp: how samples travel
        ("next_data_address", "string", False),  # tcp: the next worker's frame socket
        ("sink_data_address", "string", False),  # tcp: the sink's frame socket
    ],
    "DeployReply": [
        ("reference_s", "double", False),
        ("activation_bits", "double", False),
        ("result_bits", "double", False),
    ],
    "InferRequest": [
        ("request_id", "int64", False),
        ("sent_ns", "int64", False),  # CLOCK_MONOTONIC at the source
        ("label", "int64", False),
        ("input", "Tensor", False),
        ("hops", "Hop", True),
        ("input_link_s", "double", False),
        ("timeout_s", "double", False),  # tcp transport: time left when sent (gRPC has its own)
    ],
    "InferReply": [
        ("ok", "bool", False),
        ("error", "string", False),
        ("failed_tier", "string", False),
    ],
    "Result": [
        ("request_id", "int64", False),
        ("sent_ns", "int64", False),
        ("label", "int64", False),
        ("exit", "int32", False),  # 1-based partition
        ("prediction", "int64", False),
        ("entropy", "float", False),
        ("probabilities", "Tensor", False),
        ("hops", "Hop", True),
        ("input_link_s", "double", False),
    ],
    "HealthReply": [
        ("tier", "string", False),
        ("deployed", "bool", False),
        ("partition", "int32", False),
        ("served", "int64", False),
        ("failed", "int64", False),
        ("data_address", "string", False),  # HOST:PORT of its frame socket (tcp transport)
    ],
    "ShutdownRequest": [("token", "string", False)],
    "Empty": [],
}


def _build() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="splitexit_runtime_v1.proto", package=PACKAGE, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        for number, (field_name, kind, repeated) in enumerate(fields, start=1):
            field = message.field.add(name=field_name, number=number)
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if kind in _SCALARS:
                field.type = _SCALARS[kind]
            else:
                field.type = _F.TYPE_MESSAGE
                field.type_name = f".{PACKAGE}.{kind}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for name in _MESSAGES
    }


_CLASSES = _build()
Tensor: Any = _CLASSES["Tensor"]
LinkSpec: Any = _CLASSES["LinkSpec"]
Hop: Any = _CLASSES["Hop"]
DeployRequest: Any = _CLASSES["DeployRequest"]
DeployReply: Any = _CLASSES["DeployReply"]
InferRequest: Any = _CLASSES["InferRequest"]
InferReply: Any = _CLASSES["InferReply"]
Result: Any = _CLASSES["Result"]
HealthReply: Any = _CLASSES["HealthReply"]
ShutdownRequest: Any = _CLASSES["ShutdownRequest"]
Empty: Any = _CLASSES["Empty"]


def method(service: str, name: str) -> str:
    """The gRPC path of a method: ``/splitexit.runtime.v1.Worker/Infer``."""
    return f"/{service}/{name}"


def to_tensor(array: npt.NDArray[Any]) -> Any:
    """A ``Tensor`` message holding ``array``'s bytes (C order, little-endian)."""
    name = array.dtype.name
    if name not in _DTYPES:
        raise InputError(f"tensor dtype must be one of {', '.join(_DTYPES)}, got {name}")
    data = np.ascontiguousarray(array, dtype=np.dtype(_DTYPES[name]).newbyteorder("<"))
    return Tensor(dtype=name, shape=list(array.shape), data=data.tobytes())


def from_tensor(message: Any) -> npt.NDArray[Any]:
    """The array of a ``Tensor`` message, checked: known dtype, bytes = product of shape."""
    if message.dtype not in _DTYPES:
        raise InputError(f"tensor dtype must be one of {', '.join(_DTYPES)}, got {message.dtype!r}")
    dtype = np.dtype(_DTYPES[message.dtype]).newbyteorder("<")
    shape = tuple(int(d) for d in message.shape)
    if any(d < 0 for d in shape):
        raise InputError(f"tensor shape must be non-negative, got {shape}")
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(message.data) != expected:
        raise InputError(
            f"tensor of shape {shape} and dtype {message.dtype} needs {expected} bytes, "
            f"got {len(message.data)}"
        )
    return np.frombuffer(message.data, dtype=dtype).reshape(shape)
