"""Write a small residual CNN as a user would bring it (ONNX, built with onnx.helper, seeded
random weights) and an .npz of sample inputs, for docs/operators.md ("Your ONNX model,
planned and run"). No torch.

Usage: python benchmarks/make_user_cnn.py OUT_DIR   -> OUT_DIR/cnn.onnx, OUT_DIR/samples.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)


def _conv(
    name: str, x: str, cin: int, cout: int, inits: list[onnx.TensorProto], stride: int = 1
) -> onnx.NodeProto:
    w = (RNG.standard_normal((cout, cin, 3, 3)) * (2.0 / (cin * 9)) ** 0.5).astype(np.float32)
    inits += [
        numpy_helper.from_array(w, f"{name}.w"),
        numpy_helper.from_array(np.zeros(cout, np.float32), f"{name}.b"),
    ]
    return helper.make_node(
        "Conv", [x, f"{name}.w", f"{name}.b"], [name], pads=[1] * 4, strides=[stride] * 2
    )


def build(width: int = 32, stages: int = 3, size: int = 32, classes: int = 10) -> onnx.ModelProto:
    """stem, then per stage one residual block (conv-relu-conv + skip, relu) and a stride-2 conv."""
    inits: list[onnx.TensorProto] = []
    nodes = [_conv("stem", "x", 3, width, inits), helper.make_node("Relu", ["stem"], ["s0"])]
    cur, cin = "s0", width
    for s in range(stages):
        nodes += [
            _conv(f"r{s}a", cur, cin, cin, inits),
            helper.make_node("Relu", [f"r{s}a"], [f"r{s}ar"]),
            _conv(f"r{s}b", f"r{s}ar", cin, cin, inits),
            helper.make_node("Add", [f"r{s}b", cur], [f"r{s}sum"]),
            helper.make_node("Relu", [f"r{s}sum"], [f"r{s}o"]),
        ]
        cur = f"r{s}o"
        if s < stages - 1:
            nodes += [
                _conv(f"d{s}", cur, cin, cin * 2, inits, stride=2),
                helper.make_node("Relu", [f"d{s}"], [f"d{s}r"]),
            ]
            cur, cin = f"d{s}r", cin * 2
    nodes += [
        helper.make_node("GlobalAveragePool", [cur], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
    ]
    inits += [
        numpy_helper.from_array(
            (RNG.standard_normal((classes, cin)) * 0.1).astype(np.float32), "fc.w"
        ),
        numpy_helper.from_array(np.zeros(classes, np.float32), "fc.b"),
    ]
    nodes.append(helper.make_node("Gemm", ["flat", "fc.w", "fc.b"], ["logits"], transB=1))
    graph = helper.make_graph(
        nodes,
        "user_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/user-cnn")
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(build(), str(out / "cnn.onnx"))
    np.savez(out / "samples.npz", x=RNG.standard_normal((200, 3, 32, 32)).astype(np.float32))
    print(f"wrote {out / 'cnn.onnx'} and {out / 'samples.npz'}")
