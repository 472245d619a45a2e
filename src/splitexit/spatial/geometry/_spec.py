"""The model spec format (``splitexit.cnn/1``, YAML or JSON), validated once here.

A spec lists the input shape and the layers with the configuration of seed 003, section III-B
(C_out, F, S, P, activation); shapes are derived and must chain. Optional ``h_in``, ``w_in``
and ``c_in`` on a layer are checked against the chain, which catches specs that do not fit.

>>> spec = model_from_mapping({
...     "name": "toy", "input": {"height": 8, "width": 8, "channels": 3},
...     "layers": [{"name": "c1", "kind": "conv", "c_out": 4, "f": 3, "p": 1}]}, source="toy")
>>> spec.layers[0].h_out
8
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from splitexit._boundary import StrictModel
from splitexit.errors import InputError
from splitexit.spatial.geometry._geometry import Layer, ModelSpec, Op

__all__ = ["model_from_mapping"]

FORMAT = "splitexit.cnn/1"


def _at_least(minimum: int) -> BeforeValidator:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer, got {value!r}")
        if value < minimum:
            raise ValueError(f"must be >= {minimum}, got {value}")
        return value

    return BeforeValidator(check)


Positive = Annotated[int, _at_least(1)]
NonNegative = Annotated[int, _at_least(0)]


class _OpSpec(StrictModel):
    kind: Literal["conv", "maxpool", "reorg"]
    c_out: Positive | None = None
    f: Positive | None = None
    s: Positive = 1
    p: NonNegative = 0
    activation: Literal["relu", "leaky", "none"] = "none"

    @model_validator(mode="after")
    def _complete(self) -> _OpSpec:
        if self.kind == "conv" and (self.c_out is None or self.f is None):
            raise ValueError("needs c_out and f for a conv")
        if self.kind == "maxpool" and self.f is None:
            raise ValueError("needs f for a maxpool")
        return self


class _LayerSpec(StrictModel):
    name: str
    kind: Literal["conv", "maxpool", "reorg", "block"]
    c_out: Positive | None = None
    f: Positive | None = None
    s: Positive = 1
    p: NonNegative = 0
    activation: Literal["relu", "leaky", "none"] = "none"
    merge: Literal["add", "concat"] | None = None
    branches: list[list[_OpSpec]] | None = None
    h_in: Positive | None = None
    w_in: Positive | None = None
    c_in: Positive | None = None

    @model_validator(mode="after")
    def _complete(self) -> _LayerSpec:
        if self.kind == "block":
            if self.merge is None or not self.branches:
                raise ValueError("needs merge (add or concat) and branches for a block")
            if not any(self.branches):
                raise ValueError("needs at least one branch with an operation for a block")
        elif self.branches is not None or self.merge is not None:
            raise ValueError(f"takes no branches or merge for a {self.kind}")
        elif self.kind == "conv" and (self.c_out is None or self.f is None):
            raise ValueError("needs c_out and f for a conv")
        elif self.kind == "maxpool" and self.f is None:
            raise ValueError("needs f for a maxpool")
        return self


class _Input(StrictModel):
    height: Positive
    width: Positive
    channels: Positive


class _Tail(StrictModel):
    pool: Literal["flatten", "avg", "none"] = "flatten"
    fc: list[Positive] = Field(default_factory=list)


class _ModelSpecFile(StrictModel):
    format: Literal["splitexit.cnn/1"] = "splitexit.cnn/1"
    name: str
    description: str = ""
    input: _Input
    layers: list[_LayerSpec]
    tail: _Tail = _Tail(pool="none")

    @model_validator(mode="after")
    def _consistent(self) -> _ModelSpecFile:
        if not self.layers:
            raise ValueError("layers must list at least one layer")
        names = [layer.name for layer in self.layers]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise ValueError(f"layers[{index}].name {name!r} is used twice")
        if self.tail.pool == "none" and self.tail.fc:
            raise ValueError("tail.fc needs tail.pool flatten or avg")
        return self


def _build_op(spec: _OpSpec | _LayerSpec, h: int, w: int, c: int, where: str) -> Op:
    kind = spec.kind
    assert kind != "block"
    f = spec.s if kind == "reorg" else spec.f
    assert f is not None
    if kind == "reorg":
        if spec.p != 0 or (spec.f is not None and spec.f != spec.s):
            raise InputError(f"{where}: a reorg takes no p and f equal to s")
        if h % spec.s or w % spec.s:
            raise InputError(
                f"{where}: reorg by {spec.s} needs a height and width divisible by it, got {h}x{w}"
            )
        c_out = c * spec.s * spec.s
    elif kind == "maxpool":
        if spec.c_out is not None and spec.c_out != c:
            raise InputError(
                f"{where}.c_out must equal its {c} input channels for a maxpool, got {spec.c_out}"
            )
        if 2 * spec.p > f:
            raise InputError(f"{where}.p must be <= f/2 = {f // 2} for a maxpool, got {spec.p}")
        c_out = c
    else:
        assert spec.c_out is not None
        if spec.p >= f:
            raise InputError(f"{where}.p must be < f = {f}, got {spec.p}")
        c_out = spec.c_out
    op = Op(kind, h, w, c, c_out, f, spec.s, spec.p, spec.activation)
    if op.h_out < 1 or op.w_out < 1:
        raise InputError(
            f"{where}: a {h}x{w} input with f={f}, s={spec.s}, p={spec.p} gives an empty output"
        )
    return op


def _build_layer(spec: _LayerSpec, h: int, w: int, c: int, where: str) -> Layer:
    for key, value, actual in (
        ("h_in", spec.h_in, h),
        ("w_in", spec.w_in, w),
        ("c_in", spec.c_in, c),
    ):
        if value is not None and value != actual:
            raise InputError(f"{where}.{key} is {value} but the previous layer outputs {actual}")
    if spec.kind != "block":
        op = _build_op(spec, h, w, c, where)
        return Layer(spec.name, ((op,),), "none", "none", h, w, c, op.h_out, op.w_out, op.c_out)
    assert spec.branches is not None and spec.merge is not None
    branches: list[tuple[Op, ...]] = []
    shapes: list[tuple[int, int, int]] = []
    for j, branch_spec in enumerate(spec.branches):
        bh, bw, bc = h, w, c
        ops: list[Op] = []
        for k, op_spec in enumerate(branch_spec):
            op = _build_op(op_spec, bh, bw, bc, f"{where}.branches[{j}][{k}]")
            ops.append(op)
            bh, bw, bc = op.h_out, op.w_out, op.c_out
        branches.append(tuple(ops))
        shapes.append((bh, bw, bc))
    h_out, w_out, c0 = shapes[0]
    for j, (bh, bw, bc) in enumerate(shapes):
        if (bh, bw) != (h_out, w_out):
            raise InputError(
                f"{where}.branches[{j}] outputs {bh}x{bw} but branches[0] outputs {h_out}x{w_out}"
            )
        if spec.merge == "add" and bc != c0:
            raise InputError(
                f"{where}.branches[{j}] outputs {bc} channels but branches[0] outputs {c0}; "
                "add needs equal channels"
            )
    c_out = c0 if spec.merge == "add" else sum(shape[2] for shape in shapes)
    return Layer(
        spec.name, tuple(branches), spec.merge, spec.activation, h, w, c, h_out, w_out, c_out
    )


def model_from_mapping(data: object, *, source: str) -> ModelSpec:
    """Validate ``data`` (a parsed model spec) and build a :class:`ModelSpec`."""
    spec = _ModelSpecFile.parse(data, source=source)
    h, w, c = spec.input.height, spec.input.width, spec.input.channels
    layers: list[Layer] = []
    for i, layer_spec in enumerate(spec.layers):
        layer = _build_layer(layer_spec, h, w, c, f"{source}: layers[{i}]")
        layers.append(layer)
        h, w, c = layer.h_out, layer.w_out, layer.c_out
    return ModelSpec(
        name=spec.name,
        h_in=spec.input.height,
        w_in=spec.input.width,
        c_in=spec.input.channels,
        layers=tuple(layers),
        tail_pool=spec.tail.pool,
        tail_fc=tuple(spec.tail.fc),
        description=spec.description,
    )
