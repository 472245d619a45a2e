"""Operators benchmark: cut finding time on a 1,000-node graph, and per backend-test model the
cuts found, the worst chained-vs-whole difference, quantized size/latency/agreement and
early-exit runs. Prints one line per model (figures recorded in docs/operators.md).

    PYTHONPATH=src python benchmarks/bench_operators.py [--models light] [--no-quantize]
"""

from __future__ import annotations

import argparse
import glob
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from splitexit.operators import analyse, find_cuts, find_runs, load_model, partition, quantize


def big_chain(nodes: int, folder: Path) -> Path:
    """Residual blocks of 5 nodes each, ``nodes`` nodes in all."""
    rng = np.random.default_rng(0)
    inits, graph_nodes, cur = [], [], "x"
    for b in range(nodes // 5):
        for s in "ab":
            w = numpy_helper.from_array(
                rng.standard_normal((4, 4, 3, 3)).astype(np.float32) * 0.1, f"w{b}{s}"
            )
            inits.append(w)
        graph_nodes += [
            helper.make_node("Conv", [cur, f"w{b}a"], [f"c{b}a"], pads=[1] * 4),
            helper.make_node("Relu", [f"c{b}a"], [f"r{b}a"]),
            helper.make_node("Conv", [f"r{b}a", f"w{b}b"], [f"c{b}b"], pads=[1] * 4),
            helper.make_node("Add", [f"c{b}b", cur], [f"s{b}"]),
            helper.make_node("Relu", [f"s{b}"], [f"o{b}"]),
        ]
        cur = f"o{b}"
    vi = helper.make_tensor_value_info
    graph = helper.make_graph(
        graph_nodes,
        "big",
        [vi("x", TensorProto.FLOAT, [1, 4, 8, 8])],
        [vi(cur, TensorProto.FLOAT, [1, 4, 8, 8])],
        inits,
    )
    path = folder / "big.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-quantize", action="store_true")
    parser.add_argument("--skip-equivalence", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    path = big_chain(1000, tmp)
    start = time.perf_counter()
    info = analyse(load_model(path))
    cuts = find_cuts(info)
    print(
        f"1000-node graph: analyse + find_cuts {time.perf_counter() - start:.3f} s, "
        f"{len(cuts)} cuts"
    )
    data = Path(onnx.__file__).parent / "backend/test/data/light"
    for model in sorted(glob.glob(str(data / "*.onnx"))):
        p = Path(model)
        start = time.perf_counter()
        info = analyse(load_model(p))
        cuts = find_cuts(info)
        seconds = time.perf_counter() - start
        worst = 0.0
        if not args.skip_equivalence:
            for cut in cuts:
                r = partition(p, tmp / "parts", cuts=[cut.tensors], samples=1)
                worst = max(worst, r.max_abs_diff / max(1.0, r.output_scale))
        runs = find_runs(info)
        line = (
            f"{p.stem}: {len(info.nodes)} nodes, {len(cuts)} cuts "
            f"({sum(len(c.tensors) > 1 for c in cuts)} multi), find {seconds:.2f} s, "
            f"worst rel diff {worst:.1e}, runs {[r.count for r in runs[:3]]}"
        )
        if not args.no_quantize:
            rep = quantize(p, tmp / "q.onnx", count=16, runs=10)
            line += (
                f", int8 {rep.float_bytes / 1e6:.1f}->{rep.variant_bytes / 1e6:.1f} MB "
                f"{rep.speedup:.2f}x top1 {rep.agreement.top1_agreement}"
            )
        print(line, flush=True)


if __name__ == "__main__":
    main()
