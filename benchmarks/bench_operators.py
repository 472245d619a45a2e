"""Operators benchmark: cut finding time on a 1,000-node graph, and per backend-test model the
cuts found, the worst chained-vs-whole difference, quantized size/latency/agreement and
early-exit runs. Prints one line per model (figures recorded in docs/operators.md).

    PYTHONPATH=src python benchmarks/bench_operators.py [--no-quantize] [--skip-equivalence]
    PYTHONPATH=src python benchmarks/bench_operators.py --resnet20 [--runs 400]
    PYTHONPATH=src python benchmarks/bench_operators.py --balance [resnet50 inception_v1 ...]

``--resnet20`` is the quantization target: the bundled ResNet-20 / Fashion-MNIST joint weights
exported whole (one partition, final exit) as ONNX, quantized by ``splitexit onnx quantize``'s
pipeline calibrated on 300 training images, compared on 2,000 held-out test images (top-1
agreement, accuracy) and timed at batch 1 on ONNX Runtime CPU, float and int8 interleaved;
then the same at other settings (per-tensor weights, graph optimization levels, threads).
Needs torch (the export) and the dataset-fashion-mnist package.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort  # type: ignore[import-untyped]
from onnx import TensorProto, helper, numpy_helper

from splitexit.operators import (
    Cut,
    GraphInfo,
    analyse,
    build_pieces,
    chain_outputs,
    choose_cuts,
    find_cuts,
    find_runs,
    latency,
    load_model,
    quantize,
    quantize_bytes,
    random_inputs,
)
from splitexit.operators._pieces import max_abs_diff, run_model


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


def equivalence(info: GraphInfo, cuts: list[Cut], tolerance: float = 1e-5) -> str:
    """Partition at every offered cut (one cut at a time), check every piece with
    ``onnx.checker`` and compare the chained pieces with the whole model on one seeded input:
    what ``splitexit onnx partition --cut`` does, without writing files. Failures are counted
    and the first is printed, never swallowed."""
    start = time.perf_counter()
    feeds = random_inputs(info.loaded.inputs)
    source = str(info.loaded.path)
    whole = run_model(info.loaded.model, feeds, source=source)
    worst, bad, first = 0.0, 0, ""
    for cut in cuts:
        try:
            pieces = build_pieces(info, [cut.tensors])
            for piece in pieces:
                onnx.checker.check_model(piece.model)
            diff, scale = max_abs_diff(
                whole, chain_outputs([q.model for q in pieces], feeds, source=source)
            )
            rel = diff / max(1.0, scale)
            worst = max(worst, rel)
            ok = rel <= tolerance
        except Exception as exc:  # a crash is a failure, reported below
            ok, rel = False, float("nan")
            first = first or f"{cut.tensors}: {type(exc).__name__}: {exc}".splitlines()[0]
        if not ok:
            bad += 1
            first = first or f"{cut.tensors}: rel diff {rel:.1e}"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    note = f" FIRST FAILURE {first}" if first else ""
    return (
        f"equal {len(cuts) - bad}/{len(cuts)} (worst rel diff {worst:.1e}, "
        f"{time.perf_counter() - start:.0f} s, peak RSS {peak:.0f} MB){note}, "
    )


def resnet20_onnx(folder: Path) -> Path:
    """The bundled joint ResNet-20 / Fashion-MNIST, all 10 blocks and the final exit, as ONNX."""
    from splitexit.export import export_partitions, load_joint
    from splitexit.profile import DEFAULT_PROFILE

    joint = load_joint(
        folder / "none.pt", model="resnet20", dataset="fashion-mnist", num_classes=10,
        profile=DEFAULT_PROFILE,
    )  # fmt: skip
    export_partitions(
        joint.net, partition=[9], placement=["cloud"], threshold=None, destination="cloud",
        model="resnet20", dataset="fashion-mnist", input_shape=(1, 28, 28), out_dir=folder,
    )  # fmt: skip
    return folder / "partition-1.onnx"


def _session(model: bytes, threads: int, level: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _interleaved(
    a: ort.InferenceSession, b: ort.InferenceSession, x: np.ndarray, runs: int
) -> tuple[float, float]:
    feed = {"input": x}
    for _ in range(10):
        a.run(None, feed), b.run(None, feed)
    times: list[list[float]] = [[], []]
    for r in range(runs):
        for k in (0, 1) if r % 2 == 0 else (1, 0):
            start = time.perf_counter()
            (a, b)[k].run(None, feed)
            times[k].append(time.perf_counter() - start)
    return float(np.median(times[0])), float(np.median(times[1]))


def resnet20(runs: int) -> None:
    """The quantization target, then what other settings give (see the module docstring)."""
    from splitexit.training import load_dataset

    tmp = Path(tempfile.mkdtemp())
    model = resnet20_onnx(tmp)
    data = load_dataset("fashion-mnist")
    np.savez(tmp / "calib.npz", input=data.train.images[:300])
    held = data.test.images[:2000]
    np.savez(tmp / "held.npz", input=held, labels=data.test.labels[:2000])
    print(f"cpu: {_cpu()}, onnxruntime {ort.__version__}, {os.cpu_count()} cores", flush=True)
    shapes = {"input": (1, 1, 28, 28)}
    rep = quantize(
        model, tmp / "int8.onnx", data=tmp / "calib.npz", held_out=tmp / "held.npz",
        input_shapes=shapes, count=300, runs=runs,
    )  # fmt: skip
    a = rep.agreement
    print(
        f"resnet20 int8 (QDQ, per-channel, ORT_ENABLE_ALL, 1 thread): "
        f"{rep.float_bytes / 1e3:.0f} -> {rep.variant_bytes / 1e3:.0f} kB, "
        f"{rep.float_seconds * 1e3:.3f} -> {rep.variant_seconds * 1e3:.3f} ms = "
        f"{rep.speedup:.2f}x, top-1 agreement {a.top1_agreement:.4f} on {a.samples}, "
        f"accuracy {a.accuracy_float:.4f} -> {a.accuracy_variant:.4f}",
        flush=True,
    )
    float_bytes = model.read_bytes()
    loaded = load_model(model, shapes)
    calib = [{"input": data.train.images[i : i + 1]} for i in range(300)]
    per_tensor, _ = quantize_bytes(loaded.model, calib, source=str(model), per_channel=False)
    variants = {"per-channel": (tmp / "int8.onnx").read_bytes(), "per-tensor": per_tensor}
    ref = _session(float_bytes, 1, "ORT_ENABLE_ALL")
    top = np.concatenate(
        [ref.run(["probabilities"], {"input": held[i : i + 1]})[0] for i in range(1000)]
    ).argmax(1)
    for name, data_bytes in variants.items():
        for level in ("ORT_ENABLE_BASIC", "ORT_ENABLE_ALL"):
            for threads in (1, 2):
                f, q = _session(float_bytes, threads, level), _session(data_bytes, threads, level)
                tf, tq = _interleaved(f, q, held[:1], runs)
                got = np.concatenate(
                    [q.run(["probabilities"], {"input": held[i : i + 1]})[0] for i in range(1000)]
                ).argmax(1)
                print(
                    f"  {name:11s} {level:16s} {threads} thr: {tf * 1e3:.3f} -> {tq * 1e3:.3f} ms "
                    f"= {tf / tq:.2f}x, top-1 agreement {np.mean(got == top):.4f} (1000)",
                    flush=True,
                )


def balance(names: list[str], pieces: int) -> None:
    """``--pieces K`` by size, estimated FLOPs and measured compute: the ORT time of each
    resulting piece (median of 20 single-thread runs), max/min as the imbalance."""
    data = Path(onnx.__file__).parent / "backend/test/data/light"
    for name in names:
        info = analyse(load_model(data / f"light_{name}.onnx"))
        for criterion in ("size", "flops", "compute"):
            chosen = choose_cuts(info, pieces, criterion)  # type: ignore[arg-type]
            built = build_pieces(info, chosen)
            tensors = dict(random_inputs(info.loaded.inputs))
            times = []
            for piece in built:
                times.append(latency(piece.model, tensors, runs=20, source=name))
                tensors.update(run_model(piece.model, tensors, source=name))
            print(
                f"{name} {pieces} pieces by {criterion:7s}: "
                f"{' | '.join(f'{t * 1e3:.1f}' for t in times)} ms, "
                f"max/min {max(times) / min(times):.2f}",
                flush=True,
            )


def _cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-quantize", action="store_true")
    parser.add_argument("--skip-equivalence", action="store_true")
    parser.add_argument("--resnet20", action="store_true", help="the quantization target")
    parser.add_argument("--runs", type=int, default=400, help="timed runs per model (--resnet20)")
    parser.add_argument("--balance", nargs="*", metavar="MODEL", help="compare --criterion")
    args = parser.parse_args()
    if args.balance is not None:
        balance(args.balance or ["resnet50", "inception_v1", "vgg19"], 3)
        return
    if args.resnet20:
        resnet20(args.runs)
        return
    tmp = Path(tempfile.mkdtemp())
    path = big_chain(1000, tmp)
    times = []
    for _ in range(3):  # the first call also pays one-time imports and caches
        start = time.perf_counter()
        cuts = find_cuts(analyse(load_model(path)))
        times.append(time.perf_counter() - start)
    print(
        f"1000-node graph: load + analyse + find_cuts {times[0]:.3f} s first call, "
        f"{min(times):.3f} s best of 3, {len(cuts)} cuts",
        flush=True,
    )
    data = Path(onnx.__file__).parent / "backend/test/data/light"
    for model in sorted(glob.glob(str(data / "*.onnx"))):
        p = Path(model)
        start = time.perf_counter()
        info = analyse(load_model(p))
        cuts = find_cuts(info)
        seconds = time.perf_counter() - start
        check = ""
        if not args.skip_equivalence:
            check = equivalence(info, cuts)
        runs = find_runs(info)
        line = (
            f"{p.stem}: {len(info.nodes)} nodes, {len(cuts)} cuts "
            f"({sum(len(c.tensors) > 1 for c in cuts)} multi), find {seconds:.2f} s, "
            f"{check}runs {[r.count for r in runs[:3]]}"
        )
        if not args.no_quantize:
            try:
                rep = quantize(p, tmp / "q.onnx", count=16, runs=10)
                line += (
                    f", int8 {rep.float_bytes / 1e6:.1f}->{rep.variant_bytes / 1e6:.1f} MB "
                    f"{rep.speedup:.2f}x top1 {rep.agreement.top1_agreement}"
                )
            except Exception as exc:  # reported, and the next model still runs
                line += f", QUANTIZE FAILED {type(exc).__name__}: {exc}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
