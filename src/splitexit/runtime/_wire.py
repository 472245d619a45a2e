"""The runtime's protobuf messages and gRPC method names.

The messages are generated from ``runtime/proto/splitexit_runtime.proto`` by
``tools/gen_proto.py`` (grpcio-tools); the generated code is committed, so an install needs no
compiler, and the type checker sees every field. Any gRPC client in any language can speak to
a worker given that ``.proto``.

Tensors are raw bytes with their dtype and shape: no pickle, no base64.

>>> from_tensor(to_tensor(np.arange(3, dtype=np.float32))).tolist()
[0.0, 1.0, 2.0]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit.errors import InputError
from splitexit.runtime.proto.splitexit_runtime_pb2 import (
    DeployReply,
    DeployRequest,
    Empty,
    HealthReply,
    Hop,
    InferReply,
    InferRequest,
    LinkSpec,
    NamedTensor,
    Result,
    ShutdownRequest,
    Tensor,
)

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
    "NamedTensor",
    "Result",
    "ShutdownRequest",
    "Tensor",
    "from_named",
    "from_tensor",
    "method",
    "to_named",
    "to_tensor",
]

PACKAGE = "splitexit.runtime.v1"
WORKER_SERVICE = f"{PACKAGE}.Worker"
SINK_SERVICE = f"{PACKAGE}.Sink"

# dtypes a tensor may carry on the wire (little-endian, C order)
_DTYPES = {"float32": np.float32, "float16": np.float16, "uint8": np.uint8, "int64": np.int64}


def method(service: str, name: str) -> str:
    """The gRPC path of a method: ``/splitexit.runtime.v1.Worker/Infer``."""
    return f"/{service}/{name}"


def to_tensor(array: npt.NDArray[Any]) -> Tensor:
    """A ``Tensor`` message holding ``array``'s bytes (C order, little-endian)."""
    name = array.dtype.name
    if name not in _DTYPES:
        raise InputError(f"tensor dtype must be one of {', '.join(_DTYPES)}, got {name}")
    data = np.ascontiguousarray(array, dtype=np.dtype(_DTYPES[name]).newbyteorder("<"))
    return Tensor(dtype=name, shape=list(array.shape), data=data.tobytes())


def from_tensor(message: Tensor) -> npt.NDArray[Any]:
    """The array of a ``Tensor`` message, checked: known dtype, bytes = product of shape."""
    if message.dtype not in _DTYPES:
        raise InputError(f"tensor dtype must be one of {', '.join(_DTYPES)}, got {message.dtype!r}")
    dtype = np.dtype(_DTYPES[message.dtype]).newbyteorder("<")
    shape = tuple(int(d) for d in message.shape)
    if any(d < 0 for d in shape):
        raise InputError(f"tensor shape must be non-negative, got {shape}")
    expected = math.prod(shape) * dtype.itemsize  # exact: a product past 64 bits is refused
    if expected >= 1 << 63:
        raise InputError(f"tensor shape {shape} holds more elements than any message can carry")
    if len(message.data) != expected:
        raise InputError(
            f"tensor of shape {shape} and dtype {message.dtype} needs {expected} bytes, "
            f"got {len(message.data)}"
        )
    return np.frombuffer(message.data, dtype=dtype).reshape(shape)


def to_named(arrays: dict[str, npt.NDArray[Any]]) -> list[NamedTensor]:
    """``NamedTensor`` messages of ``arrays``, in the mapping's order.

    >>> sorted(from_named(to_named({"a": np.zeros(2, np.float32)})))
    ['a']
    """
    return [NamedTensor(name=name, tensor=to_tensor(a)) for name, a in arrays.items()]


def from_named(messages: Any) -> dict[str, npt.NDArray[Any]]:
    """The arrays of repeated ``NamedTensor`` messages by name; a repeated name is refused."""
    out: dict[str, npt.NDArray[Any]] = {}
    for message in messages:
        if not message.name or message.name in out:
            raise InputError(f"named tensors need distinct non-empty names, got {message.name!r}")
        out[message.name] = from_tensor(message.tensor)
    return out
