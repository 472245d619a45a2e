"""Loading a user's ONNX file at the boundary: every refusal is one line naming the file.

Checked once here: the file parses as an ONNX model, external data stays inside the model's
folder, ``onnx.checker`` passes, every dynamic dimension of an input has a value (from
``--input-shape NAME=1x3x224x224``), and ONNX Runtime can build a session for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.errors import InputError

__all__ = [
    "LoadedModel",
    "TensorInfo",
    "load_model",
    "ort_session",
    "parse_input_shapes",
]


@returned_type
@dataclass(frozen=True)
class TensorInfo:
    """A named tensor with its full shape (batch included) and numpy dtype name."""

    name: str
    shape: tuple[int, ...]
    dtype: str

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def to_mapping(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@returned_type
@dataclass(frozen=True)
class LoadedModel:
    """A checked model plus the concrete shapes of its graph inputs."""

    path: Path
    model: onnx.ModelProto
    inputs: tuple[TensorInfo, ...]  # non-initializer graph inputs, concrete shapes

    @property
    def input_shapes(self) -> dict[str, tuple[int, ...]]:
        return {t.name: t.shape for t in self.inputs}


@validate_params({"items": [InstanceOf(list, tuple), None]})
def parse_input_shapes(items: list[str] | None) -> dict[str, tuple[int, ...]]:
    """``["data=1x3x224x224"]`` -> ``{"data": (1, 3, 224, 224)}``.

    >>> parse_input_shapes(["x=1x3x8x8"])
    {'x': (1, 3, 8, 8)}
    """
    shapes: dict[str, tuple[int, ...]] = {}
    for item in items or []:
        name, sep, dims = item.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.lower().split("x")) if dims else ()
        except ValueError:
            shape = ()
        if not sep or not name or not shape or min(shape) < 1:
            raise InputError(
                f"--input-shape must look like NAME=1x3x224x224 with dimensions >= 1, got {item!r}"
            )
        shapes[name] = shape
    return shapes


def _dtype_name(elem_type: int) -> str:
    return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))


def _read(path: Path) -> onnx.ModelProto:
    if not path.is_file():
        raise InputError(f"{path}: no such ONNX file")
    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise InputError(f"{path}: not an ONNX model (cannot parse it: {exc})") from None
    if not model.graph.node and not model.graph.output:
        raise InputError(f"{path}: not an ONNX model (no graph nodes or outputs)")
    return model


def _check_external_data(path: Path, model: onnx.ModelProto) -> None:
    folder = path.parent.resolve()
    for tensor in _all_initializers(model.graph):
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        location = entries.get("location", "")
        target = (folder / location).resolve()
        if not location or os.path.commonpath([folder, target]) != str(folder):
            raise InputError(
                f"{path}: initializer {tensor.name!r} keeps its data in {location!r}, outside "
                f"the model's folder {folder}; move the data file next to the model"
            )
        if not target.is_file():
            raise InputError(
                f"{path}: external data file {location!r} of {tensor.name!r} is missing"
            )


def _all_initializers(graph: onnx.GraphProto) -> list[TensorProto]:
    found = list(graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            for sub in [attr.g, *attr.graphs] if attr.type in (5, 10) else []:
                found.extend(_all_initializers(sub))
    return found


def _resolve_inputs(
    path: Path, model: onnx.ModelProto, given: dict[str, tuple[int, ...]]
) -> tuple[TensorInfo, ...]:
    initializers = {t.name for t in model.graph.initializer}
    real = [v for v in model.graph.input if v.name not in initializers]
    unknown = set(given) - {v.name for v in real}
    if unknown:
        names = ", ".join(sorted(unknown))
        raise InputError(
            f"{path}: --input-shape names {names}, but the model's inputs are "
            f"{[v.name for v in real]}"
        )
    infos = []
    for value in real:
        ttype = value.type.tensor_type
        if not value.type.HasField("tensor_type"):
            raise InputError(
                f"{path}: input {value.name!r} is not a tensor; only tensors are supported"
            )
        dims = [d.dim_value if d.HasField("dim_value") else None for d in ttype.shape.dim]
        if value.name in given:
            shape = given[value.name]
            if len(shape) != len(dims) or any(
                d not in (None, s) for d, s in zip(dims, shape, strict=False)
            ):
                raise InputError(
                    f"{path}: --input-shape {value.name}={'x'.join(map(str, shape))} does not fit "
                    f"the input's declared shape {['?' if d is None else d for d in dims]}"
                )
        elif any(d is None or d < 1 for d in dims):
            shown = "x".join("?" if d is None or d < 1 else str(d) for d in dims)
            raise InputError(
                f"{path}: input {value.name!r} has dynamic dimensions ({shown}); give its shape "
                f"with --input-shape {value.name}="
                + "x".join("1" if d is None else str(d) for d in dims)
            )
        else:
            shape = tuple(int(d) for d in dims if d is not None)
        infos.append(TensorInfo(value.name, tuple(shape), _dtype_name(ttype.elem_type)))
    return tuple(infos)


@validate_params({"path": [PathLike()], "input_shapes": [InstanceOf(dict), None]})
def load_model(path: Path, input_shapes: dict[str, tuple[int, ...]] | None = None) -> LoadedModel:
    """Read and check ``path``; every problem is one :class:`InputError` line.

    >>> loaded = load_model(Path("model.onnx"), {"data": (1, 3, 224, 224)})  # doctest: +SKIP
    """
    path = Path(path)
    model = _read(path)
    _check_external_data(path, model)
    if any(t.data_location == TensorProto.EXTERNAL for t in _all_initializers(model.graph)):
        onnx.load_external_data_for_model(model, str(path.parent))
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, Exception) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{path}: fails onnx.checker: {first}") from None
    inputs = _resolve_inputs(path, model, input_shapes or {})
    return LoadedModel(path=path, model=model, inputs=inputs)


def ort_session(model: onnx.ModelProto | bytes, *, source: str, threads: int = 1) -> Any:
    """An ONNX Runtime CPU session; a model it cannot run is one InputError line."""
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    data = model if isinstance(model, bytes) else model.SerializeToString()
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        lines = [line for line in str(exc).strip().splitlines() if line.strip()]
        raise InputError(
            f"{source}: ONNX Runtime cannot run this model: {lines[0] if lines else exc}"
        ) from None
