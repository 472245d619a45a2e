"""The tensor view of an ONNX graph: who produces and reads each tensor, which tensors are
constant, the concrete shape of every tensor, parameter bytes and FLOP estimates per node.

A node with a sub-graph (If, Loop, Scan) reads the outer tensors its bodies use: they are
listed among the node's inputs here, so they stay live until that node runs and no cut ever
falls inside a body.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import AttributeProto, helper, numpy_helper

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.operators._model import LoadedModel, TensorInfo, ort_session

__all__ = ["GraphInfo", "analyse", "random_inputs"]

_RANDOM_OPS = {
    "RandomNormal",
    "RandomUniform",
    "RandomNormalLike",
    "RandomUniformLike",
    "Multinomial",
    "Bernoulli",
}


def _subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    found: list[onnx.GraphProto] = []
    for attr in node.attribute:
        if attr.type == AttributeProto.GRAPH:
            found.append(attr.g)
        elif attr.type == AttributeProto.GRAPHS:
            found.extend(attr.graphs)
    return found


def outer_reads(graph: onnx.GraphProto) -> set[str]:
    """Names a (sub-)graph reads but does not define itself."""
    defined = {v.name for v in graph.input} | {t.name for t in graph.initializer}
    reads: set[str] = set()
    for node in graph.node:
        reads.update(n for n in node.input if n and n not in defined)
        for sub in _subgraphs(node):
            reads.update(n for n in outer_reads(sub) if n not in defined)
        defined.update(node.output)
    reads.update(v.name for v in graph.output if v.name not in defined)
    return reads


@returned_type
@dataclass
class GraphInfo:
    """Trusted facts about a loaded model's top-level graph (0-based node indices)."""

    loaded: LoadedModel
    nodes: list[onnx.NodeProto]
    reads: list[list[str]]  # per node: explicit inputs plus outer tensors its bodies read
    producer: dict[str, int]
    consumers: dict[str, list[int]]
    constants: set[str]
    inputs: list[str]
    outputs: list[str]
    initializer_bytes: dict[str, int]
    initializer_dims: dict[str, tuple[int, ...]] = field(default_factory=dict)
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    flops: list[float] = field(default_factory=list)
    param_bytes: list[int] = field(default_factory=list)  # per node, initializers first read

    def info(self, name: str) -> TensorInfo:
        return self.tensors[name]


@validate_params({"loaded": [InstanceOf(LoadedModel)]})
def analyse(loaded: LoadedModel) -> GraphInfo:
    """Build the :class:`GraphInfo` of ``loaded``, with shapes at its given input shapes.

    >>> info = analyse(load_model(Path("m.onnx")))  # doctest: +SKIP
    """
    graph = loaded.model.graph
    init_bytes = {t.name: _tensor_bytes(t) for t in graph.initializer}
    nodes = list(graph.node)
    reads: list[list[str]] = []
    producer: dict[str, int] = {}
    consumers: dict[str, list[int]] = {}
    constants = set(init_bytes)
    for i, node in enumerate(nodes):
        names = [n for n in node.input if n]
        for sub in _subgraphs(node):
            names.extend(n for n in sorted(outer_reads(sub)) if n not in names)
        reads.append(names)
        for name in names:
            consumers.setdefault(name, []).append(i)
        for out in node.output:
            if out:
                producer[out] = i
        if node.op_type not in _RANDOM_OPS and all(n in constants for n in names):
            constants.update(o for o in node.output if o)
    info = GraphInfo(
        loaded=loaded,
        nodes=nodes,
        reads=reads,
        producer=producer,
        consumers=consumers,
        constants=constants,
        inputs=[t.name for t in loaded.inputs],
        outputs=[v.name for v in graph.output],
        initializer_bytes=init_bytes,
        initializer_dims={t.name: tuple(t.dims) for t in graph.initializer},
    )
    info.tensors = _shapes(info)
    info.flops = [_node_flops(info, i) for i in range(len(nodes))]
    seen: set[str] = set()
    for names in reads:
        fresh = [n for n in names if n in init_bytes and n not in seen]
        seen.update(fresh)
        info.param_bytes.append(sum(init_bytes[n] for n in fresh))
    return info


def _tensor_bytes(t: onnx.TensorProto) -> int:
    itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
    return int(np.prod(t.dims, dtype=np.int64)) * itemsize


def _concrete(value: onnx.ValueInfoProto) -> TensorInfo | None:
    if not value.type.HasField("tensor_type"):
        return None
    ttype = value.type.tensor_type
    if not ttype.elem_type or not ttype.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in ttype.shape.dim]
    if any(d < 0 for d in dims):
        return None
    dtype = str(np.dtype(helper.tensor_dtype_to_np_dtype(ttype.elem_type)))
    return TensorInfo(value.name, tuple(int(d) for d in dims), dtype)


def _shapes(info: GraphInfo) -> dict[str, TensorInfo]:
    """Static shape inference at the given input shapes; what it leaves open is probed by
    running the model once on ONNX Runtime with those tensors as extra outputs."""
    model = onnx.ModelProto()
    model.CopyFrom(info.loaded.model)
    shapes = info.loaded.input_shapes
    for value in model.graph.input:
        if value.name in shapes:
            dims = value.type.tensor_type.shape.dim
            for dim, size in zip(dims, shapes[value.name], strict=True):
                dim.Clear()
                dim.dim_value = size
    with contextlib.suppress(Exception):  # best effort; the probe below fills the gaps
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    found: dict[str, TensorInfo] = {t.name: t for t in info.loaded.inputs}
    elem: dict[str, int] = {}
    for value in [*model.graph.value_info, *model.graph.output]:
        if value.type.HasField("tensor_type") and value.type.tensor_type.elem_type:
            elem[value.name] = value.type.tensor_type.elem_type
        concrete = _concrete(value)
        if concrete is not None:
            found.setdefault(value.name, concrete)
    # an output nobody reads (a Dropout mask, say) is never live at a cut: no probe for it
    needed = set(info.consumers) | set(info.outputs)
    missing = [
        o
        for node in info.nodes
        for o in node.output
        if o and o in needed and o not in found and o not in info.constants
    ]
    if missing:
        found.update(_probe(info, missing, elem))
    return found


@validate_params(
    {"inputs": [InstanceOf(tuple, list)], "seed": [Interval(int, 0, None, closed="left")]}
)
def random_inputs(inputs: tuple[TensorInfo, ...], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded sample inputs: standard normal floats, small non-negative integers, booleans."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for t in inputs:
        dtype = np.dtype(t.dtype)
        if dtype.kind == "f":
            feeds[t.name] = rng.standard_normal(t.shape).astype(dtype)
        elif dtype.kind == "b":
            feeds[t.name] = rng.integers(0, 2, t.shape).astype(bool)
        else:
            feeds[t.name] = rng.integers(0, 4, t.shape).astype(dtype)
    return feeds


def _probe(info: GraphInfo, names: list[str], elem: dict[str, int]) -> dict[str, TensorInfo]:
    model = onnx.ModelProto()
    model.CopyFrom(info.loaded.model)
    present = {v.name for v in model.graph.output}
    for name in names:
        if name not in present:
            model.graph.output.append(
                helper.make_tensor_value_info(name, elem.get(name, onnx.TensorProto.FLOAT), None)
            )
    session = ort_session(model, source=str(info.loaded.path))
    wanted = [o.name for o in session.get_outputs()]
    values = session.run(wanted, random_inputs(info.loaded.inputs))
    return {
        n: TensorInfo(n, tuple(np.shape(v)), str(np.asarray(v).dtype))
        for n, v in zip(wanted, values, strict=True)
        if n in set(names)
    }


def _node_flops(info: GraphInfo, i: int) -> float:
    """Multiply-adds count twice; other operators one FLOP per output element."""
    node = info.nodes[i]
    outs = [info.tensors[o] for o in node.output if o in info.tensors]
    out_elems = float(sum(np.prod(t.shape, dtype=np.float64) for t in outs))
    ins = [n for n in node.input if n]
    if node.op_type in ("Conv", "ConvTranspose", "QLinearConv") and len(ins) >= 2:
        weight = _dims(info, ins[1] if node.op_type != "QLinearConv" else ins[3])
        if weight:
            per_out = float(np.prod(weight[1:], dtype=np.float64))
            if node.op_type == "ConvTranspose":
                per_out = (
                    float(np.prod(weight[2:], dtype=np.float64)) * weight[0] / max(weight[1], 1)
                )
            return 2.0 * out_elems * per_out
    if node.op_type in ("MatMul", "Gemm", "MatMulInteger", "QLinearMatMul") and len(ins) >= 2:
        a = _dims(info, ins[0])
        if a:
            k = a[0] if node.op_type == "Gemm" and _attr(node, "transA") else a[-1]
            return 2.0 * out_elems * k
    return out_elems


def _dims(info: GraphInfo, name: str) -> tuple[int, ...] | None:
    if name in info.tensors:
        return info.tensors[name].shape
    return info.initializer_dims.get(name)


def _attr(node: onnx.NodeProto, name: str) -> int:
    for attr in node.attribute:
        if attr.name == name:
            return int(attr.i)
    return 0


def initializer_array(model: onnx.ModelProto, name: str) -> np.ndarray | None:
    for t in model.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    return None
