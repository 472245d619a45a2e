from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.operators import (
    analyse,
    early_exit,
    find_runs,
    hybrid,
    load_model,
    load_pieces,
    partition,
    quantize,
    quantize_pieces,
    skip_blocks,
)
from tests.operators import graphs


def _npz(tmp_path: Path, n: int = 16) -> Path:
    rng = np.random.default_rng(1)
    path = tmp_path / "calib.npz"
    np.savez(
        path, x=rng.standard_normal((n, 3, 8, 8)).astype(np.float32), labels=rng.integers(0, 6, n)
    )
    return path


def test_quantize_residual_with_npz_calibration_writes_qdq(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    report = quantize(path, tmp_path / "q.onnx", data=_npz(tmp_path), runs=3)
    model = onnx.load(str(tmp_path / "q.onnx"))
    assert any(n.op_type == "QuantizeLinear" for n in model.graph.node)
    assert report.agreement.classifier and report.agreement.samples == 8
    assert report.agreement.top1_agreement is not None and report.agreement.top1_agreement >= 0.5
    assert report.agreement.accuracy_float is not None


def test_quantize_pieces_calibrate_on_the_predecessor(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    partition(path, tmp_path / "parts", cuts=[("b1o",)])
    sizes = quantize_pieces(tmp_path / "parts", tmp_path / "qparts", data=_npz(tmp_path))
    manifest = load_pieces(tmp_path / "qparts" / "pieces.json")
    assert len(sizes) == 2 and manifest.operators[-1] == "quantize"


def test_early_exit_finds_identical_blocks_and_skips_two(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(blocks=4), tmp_path)
    info = analyse(load_model(path))
    run = find_runs(info)[0]
    assert run.count == 4 and run.ops == ("Conv", "Relu", "Conv", "Add", "Relu")
    variant = skip_blocks(info, run, 2)
    onnx.checker.check_model(variant)
    assert len(variant.graph.node) == len(info.nodes) - 10
    assert not any(n.name.startswith(("b2", "b3")) for n in variant.graph.node)


def test_early_exit_two_branch_has_no_run(tmp_path: Path) -> None:
    info = analyse(load_model(graphs.save(graphs.two_branch(), tmp_path)))
    assert all(r.count >= 2 for r in find_runs(info))
    assert not find_runs(info) or find_runs(info)[0].ops


def test_early_exit_report_and_hybrids(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    result = early_exit(path, tmp_path / "e.onnx", skip=2, runs=2)
    assert result.report.variant_bytes < result.report.float_bytes
    _, quant = hybrid("qe", path, tmp_path / "qe.onnx", runs=2)
    assert (tmp_path / "qe.onnx").is_file() and not isinstance(quant, list)
    hybrid("qep", path, tmp_path / "qep", runs=2)
    manifest = load_pieces(tmp_path / "qep" / "pieces.json")
    assert manifest.operators == ("early-exit", "partition", "quantize")


def test_early_exit_cli_prints_the_report(tmp_path: Path) -> None:
    path = graphs.save(graphs.chain(), tmp_path)
    result = CliRunner().invoke(
        app, ["onnx", "early-exit", str(path), "--out", str(tmp_path / "e.onnx"), "--skip", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 of 4 blocks" in result.output


def test_quantize_old_ir_model_listing_initializers_as_inputs(tmp_path: Path) -> None:
    """IR 3 lists every initializer as a graph input; the pre-processing merges the equal
    biases, which must not leave inputs that ONNX Runtime then asks the caller to feed."""
    from onnx import helper, numpy_helper

    model = graphs.chain()
    for tensor in model.graph.initializer:
        if tensor.name in ("c1.b", "c2.b", "c3.b"):
            tensor.CopyFrom(numpy_helper.from_array(np.full(4, 0.1, np.float32), tensor.name))
        model.graph.input.append(
            helper.make_tensor_value_info(tensor.name, tensor.data_type, list(tensor.dims))
        )
    model.ir_version = 3
    path = graphs.save(model, tmp_path)
    report = quantize(path, tmp_path / "q.onnx", count=4, runs=2)
    assert report.agreement.samples == 2
    assert [v.name for v in onnx.load(str(tmp_path / "q.onnx")).graph.input] == ["x"]
