"""Small ONNX graphs built by hand for the operator tests (no torch)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
_RNG = np.random.default_rng(0)


def _w(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array((_RNG.standard_normal(shape) * 0.3).astype(np.float32), name)


def _model(nodes, inputs, outputs, inits, name="g") -> onnx.ModelProto:  # type: ignore[no-untyped-def]
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _vi(name: str, *shape: int | str) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def conv(name: str, x: str, cin: int, cout: int, inits: list, k: int = 3) -> onnx.NodeProto:  # type: ignore[type-arg]
    inits += [_w(f"{name}.w", cout, cin, k, k), _w(f"{name}.b", cout)]
    return helper.make_node(
        "Conv", [x, f"{name}.w", f"{name}.b"], [name], name=name, pads=[k // 2] * 4
    )


def chain(blocks: int = 4, batch: int | str = 1) -> onnx.ModelProto:
    """x -> (Conv, Relu) * blocks -> GlobalAveragePool -> Flatten -> Gemm -> y."""
    inits: list[onnx.TensorProto] = []
    nodes, cur = [], "x"
    for b in range(blocks):
        nodes.append(conv(f"c{b}", cur, 4, 4, inits))
        nodes.append(helper.make_node("Relu", [f"c{b}"], [f"r{b}"], name=f"relu{b}"))
        cur = f"r{b}"
    nodes += [
        helper.make_node("GlobalAveragePool", [cur], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
    ]
    inits += [_w("fc.w", 4, 5), _w("fc.b", 5)]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["y"], name="fc"))
    return _model(nodes, [_vi("x", batch, 4, 8, 8)], [_vi("y", batch, 5)], inits)


def residual(blocks: int = 4) -> onnx.ModelProto:
    """Identical residual blocks y = relu(x + conv(relu(conv(x)))), then a classifier."""
    inits: list[onnx.TensorProto] = []
    nodes = [conv("stem", "x", 3, 4, inits)]
    cur = "stem"
    for b in range(blocks):
        nodes += [
            conv(f"b{b}a", cur, 4, 4, inits),
            helper.make_node("Relu", [f"b{b}a"], [f"b{b}r"], name=f"b{b}relu1"),
            conv(f"b{b}b", f"b{b}r", 4, 4, inits),
            helper.make_node("Add", [f"b{b}b", cur], [f"b{b}s"], name=f"b{b}add"),
            helper.make_node("Relu", [f"b{b}s"], [f"b{b}o"], name=f"b{b}relu2"),
        ]
        cur = f"b{b}o"
    nodes += [
        helper.make_node("GlobalAveragePool", [cur], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flat"),
    ]
    inits += [_w("fc.w", 4, 6), _w("fc.b", 6)]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["y"], name="fc"))
    return _model(nodes, [_vi("x", 1, 3, 8, 8)], [_vi("y", 1, 6)], inits)


def two_branch() -> onnx.ModelProto:
    """x -> a -> (branch p: 3 convs, branch q: 3 convs) -> Concat -> conv -> y."""
    inits: list[onnx.TensorProto] = []
    nodes = [conv("a", "x", 2, 4, inits)]
    for br in "pq":
        prev = "a"
        for j in range(3):
            nodes.append(conv(f"{br}{j}", prev, 4, 4, inits))
            prev = f"{br}{j}"
    nodes.append(helper.make_node("Concat", ["p2", "q2"], ["cat"], axis=1, name="cat"))
    nodes.append(conv("y", "cat", 8, 2, inits))
    return _model(nodes, [_vi("x", 1, 2, 8, 8)], [_vi("y", 1, 2, 8, 8)], inits)


def multi_input() -> onnx.ModelProto:
    """Two inputs: x through convs, z joins late by Add."""
    inits: list[onnx.TensorProto] = []
    nodes = [
        conv("c0", "x", 2, 2, inits),
        conv("c1", "c0", 2, 2, inits),
        helper.make_node("Add", ["c1", "z"], ["s"], name="add"),
        conv("c2", "s", 2, 2, inits),
        helper.make_node("Relu", ["c2"], ["y"], name="relu"),
    ]
    return _model(
        nodes, [_vi("x", 1, 2, 6, 6), _vi("z", 1, 2, 6, 6)], [_vi("y", 1, 2, 6, 6)], inits
    )


def multi_output() -> onnx.ModelProto:
    """An auxiliary output early on and a final output."""
    inits: list[onnx.TensorProto] = []
    nodes = [
        conv("c0", "x", 2, 2, inits),
        helper.make_node("Relu", ["c0"], ["aux"], name="r0"),
        conv("c1", "aux", 2, 2, inits),
        helper.make_node("Relu", ["c1"], ["r1"], name="r1"),
        conv("c2", "r1", 2, 2, inits),
        helper.make_node("Sigmoid", ["c2"], ["y"], name="sig"),
    ]
    return _model(
        nodes, [_vi("x", 1, 2, 6, 6)], [_vi("aux", 1, 2, 6, 6), _vi("y", 1, 2, 6, 6)], inits
    )


def with_if() -> onnx.ModelProto:
    """An If node whose branches read the outer tensor ``r0`` directly."""
    inits: list[onnx.TensorProto] = []
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["r0"], ["t_out"])], "then", [], [_vi("t_out", 1, 2, 6, 6)]
    )
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["r0"], ["e_out"])], "else", [], [_vi("e_out", 1, 2, 6, 6)]
    )
    nodes = [
        conv("c0", "x", 2, 2, inits),
        helper.make_node("Relu", ["c0"], ["r0"], name="r0"),
        helper.make_node("ReduceSum", ["r0"], ["tot"], keepdims=0, name="sum"),
        helper.make_node("Greater", ["tot", "zero"], ["cond"], name="gt"),
        helper.make_node(
            "If", ["cond"], ["iff"], then_branch=then_g, else_branch=else_g, name="if"
        ),
        conv("c1", "iff", 2, 2, inits),
        helper.make_node("Relu", ["c1"], ["y"], name="r1"),
    ]
    inits.append(numpy_helper.from_array(np.array(0.0, np.float32), "zero"))
    return _model(nodes, [_vi("x", 1, 2, 6, 6)], [_vi("y", 1, 2, 6, 6)], inits)


def fpn() -> onnx.ModelProto:
    """A backbone with three stages and an FPN-like top-down neck merging all three."""
    inits: list[onnx.TensorProto] = []
    nodes = [conv("s1", "x", 3, 4, inits)]
    nodes.append(helper.make_node("MaxPool", ["s1"], ["d1"], kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(conv("s2", "d1", 4, 4, inits))
    nodes.append(helper.make_node("MaxPool", ["s2"], ["d2"], kernel_shape=[2, 2], strides=[2, 2]))
    nodes.append(conv("s3", "d2", 4, 4, inits))
    nodes += [
        conv("l3", "s3", 4, 4, inits, k=1),
        conv("l2", "s2", 4, 4, inits, k=1),
        conv("l1", "s1", 4, 4, inits, k=1),
    ]
    nodes.append(helper.make_node("Resize", ["l3", "", "scales"], ["u3"], mode="nearest"))
    nodes.append(helper.make_node("Add", ["u3", "l2"], ["p2"]))
    nodes.append(conv("p2c", "p2", 4, 4, inits))
    nodes.append(helper.make_node("Resize", ["p2c", "", "scales"], ["u2"], mode="nearest"))
    nodes.append(helper.make_node("Add", ["u2", "l1"], ["p1"]))
    nodes.append(conv("p1c", "p1", 4, 4, inits))
    nodes.append(conv("y", "p1c", 4, 2, inits))
    inits.append(numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"))
    return _model(nodes, [_vi("x", 1, 3, 16, 16)], [_vi("y", 1, 2, 16, 16)], inits)


ALL = {
    "chain": chain,
    "residual": residual,
    "two_branch": two_branch,
    "multi_input": multi_input,
    "multi_output": multi_output,
    "with_if": with_if,
    "fpn": fpn,
}


def save(model: onnx.ModelProto, folder: Path, name: str = "model.onnx") -> Path:
    path = folder / name
    onnx.save(model, str(path))
    return path
