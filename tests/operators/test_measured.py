"""Measured paths: image-folder calibration, ``cuts --time``, ``--criterion compute`` by ORT
kernel time, a separate held-out set, interleaved latency, and shapes without a probe run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from matplotlib import pyplot as plt
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.operators import (
    _graph,
    _partition,
    analyse,
    choose_cuts,
    find_cuts,
    load_model,
    load_samples,
    paired_latency,
    quantize,
    random_inputs,
)
from splitexit.operators._balance import node_seconds
from tests.operators import graphs

runner = CliRunner()


def _images(folder: Path, count: int = 6) -> Path:
    """``count`` RGB PNGs of 10 x 12 pixels, image k filled with the grey level 40 * k."""
    folder.mkdir()
    for k in range(count):
        plt.imsave(folder / f"img{k}.png", np.full((10, 12, 3), 40 * k, dtype=np.uint8))
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_data_image_folder_is_resized_and_normalized(tmp_path: Path) -> None:
    loaded = load_model(graphs.save(graphs.residual(), tmp_path))
    samples = load_samples(_images(tmp_path / "imgs"), loaded.inputs, mean=0.5, std=0.25)
    assert len(samples.feeds) == 6 and samples.labels is None
    third = samples.feeds[3]["x"]
    assert third.shape == (1, 3, 8, 8) and third.dtype == np.float32
    np.testing.assert_allclose(third, (120 / 255 - 0.5) / 0.25, atol=1e-6)


def test_quantize_cli_calibrates_on_an_image_folder(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    folder = _images(tmp_path / "imgs")
    out = tmp_path / "q.onnx"
    args = ["onnx", "quantize", str(path), "--out", str(out), "--data", str(folder)]
    result = runner.invoke(app, [*args, "--mean", "0.5", "--std", "0.25", "--runs", "3"])
    assert result.exit_code == 0, result.output
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(out)).graph.node)
    report = json.loads(result.output.split("quantized", 1)[1])
    assert report["agreement"]["samples"] == 3  # 6 images: 3 calibrate, 3 held out


def test_quantize_held_out_file_is_used_whole(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "calib.npz", x=rng.standard_normal((5, 3, 8, 8)).astype(np.float32))
    held = rng.standard_normal((7, 3, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "held.npz", x=held, labels=rng.integers(0, 6, 7))
    report = quantize(
        path, tmp_path / "q.onnx", data=tmp_path / "calib.npz",
        held_out=tmp_path / "held.npz", runs=3,
    )  # fmt: skip
    assert report.agreement.samples == 7
    assert report.agreement.accuracy_float is not None
    assert report.float_seconds > 0 and report.variant_seconds > 0


def test_cuts_cli_time_gives_every_cut_both_sides(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    out = tmp_path / "cuts.json"
    result = runner.invoke(app, ["onnx", "cuts", str(path), "--time", "--json", str(out)])
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert doc["cuts"] and result.output.count(" ms") == len(doc["cuts"])
    for cut in doc["cuts"]:
        assert cut["head"]["seconds"] > 0 and cut["tail"]["seconds"] > 0


def test_balance_node_seconds_profiles_every_node(tmp_path: Path) -> None:
    info = analyse(load_model(graphs.save(graphs.chain(), tmp_path)))
    seconds = node_seconds(info, runs=3)
    assert len(seconds) == len(info.nodes) and min(seconds) >= 0.0
    convs = [s for s, n in zip(seconds, info.nodes, strict=True) if n.op_type == "Conv"]
    assert len(convs) == 4 and min(convs) > 0.0


def test_partition_compute_criterion_follows_measured_time_not_flops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = analyse(load_model(graphs.save(graphs.chain(), tmp_path)))
    # equal convs: by FLOPs the middle; measured here, the last conv holds 90% of the time
    assert choose_cuts(info, 2, "flops") == [("r1",)]
    fake = [1.0] * len(info.nodes)
    fake[[n.name for n in info.nodes].index("c3")] = 9.0 * len(info.nodes)
    monkeypatch.setattr(_partition, "node_seconds", lambda _info: fake)
    assert choose_cuts(info, 2, "compute") == [("r2",)]


def test_partition_cli_compute_criterion_proves_equal(tmp_path: Path) -> None:
    path = graphs.save(graphs.residual(), tmp_path)
    args = ["onnx", "partition", str(path), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, [*args, "--pieces", "3", "--criterion", "compute"])
    assert result.exit_code == 0, result.output
    assert "piece 3" in result.output and ": equal" in result.output
    bad = runner.invoke(app, [*args, "--pieces", "2", "--criterion", "plan"])
    assert bad.exit_code == 2 and "size, compute, flops" in bad.output


def test_measure_paired_latency_times_both_models(tmp_path: Path) -> None:
    loaded = load_model(graphs.save(graphs.chain(), tmp_path))
    feeds = random_inputs(loaded.inputs)
    first, second = paired_latency(loaded.model, loaded.model.SerializeToString(), feeds, runs=4)
    assert first > 0 and second > 0


def test_graph_unread_dropout_mask_needs_no_probe_run(monkeypatch: pytest.MonkeyPatch) -> None:
    light = Path(onnx.__file__).parent / "backend/test/data/light/light_bvlc_alexnet.onnx"
    if not light.exists():
        pytest.skip("onnx's backend test data are not installed")

    def no_probe(*_args: object) -> None:
        raise AssertionError("ORT probe run")

    monkeypatch.setattr(_graph, "_probe", no_probe)
    info = analyse(load_model(light))
    assert find_cuts(info)


def test_data_image_folder_grey_for_one_channel_inputs(tmp_path: Path) -> None:
    model = graphs.chain()
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1
    weight = next(t for t in model.graph.initializer if t.name == "c0.w")
    weight.CopyFrom(onnx.numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32) * 0.1, "c0.w"))
    loaded = load_model(graphs.save(model, tmp_path))
    folder = tmp_path / "grey"
    folder.mkdir()
    rgb = np.zeros((5, 7, 3), np.uint8)
    rgb[..., 1] = 255  # pure green: luminance L = 255 * 587 / 1000 = 149.685 -> 150
    plt.imsave(folder / "g.png", rgb)
    samples = load_samples(folder, loaded.inputs)
    grey = samples.feeds[0]["x"]
    assert grey.shape == (1, 1, 8, 8)
    np.testing.assert_allclose(grey, 150 / 255, atol=1e-6)
