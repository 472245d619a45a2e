"""``profile_onnx``: blocks between consecutive cuts, sizes of the live tensors, one exit at
the end, the source recorded; the profile file round-trips and the refusals are one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splitexit.errors import InputError
from splitexit.operators import (
    OnnxProfileSettings,
    analyse,
    find_cuts,
    load_model,
    profile_onnx,
)
from splitexit.operators._manifest import sha256_file
from splitexit.profile import load_profile, save_profile
from tests.operators import graphs

FAST = OnnxProfileSettings(runs=3, percentile=50.0)


def _data(folder: Path, shape: tuple[int, ...], rows: int = 6, labels: bool = True) -> Path:
    rng = np.random.default_rng(3)
    arrays = {"x": rng.standard_normal((rows, *shape[1:])).astype(np.float32)}
    if labels:
        arrays["labels"] = rng.integers(0, 6, rows)
    path = folder / "data.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    return path


def test_profile_onnx_blocks_are_the_segments_between_single_cuts(tmp_path: Path) -> None:
    model = graphs.save(graphs.residual(2), tmp_path)
    profile = profile_onnx(model, _data(tmp_path, (1, 3, 8, 8)), out=tmp_path / "p.json",
                           settings=FAST)  # fmt: skip
    info = analyse(load_model(model))
    single = [c for c in find_cuts(info) if len(c.tensors) == 1]
    assert profile.onnx is not None
    assert profile.onnx.cuts == tuple(c.tensors for c in single)
    assert profile.num_blocks == len(single) + 1
    expected = [c.tensor_bytes * 8 for c in single] + [1 * 6 * 4 * 8]  # y: (1, 6) float32
    assert profile.output_bits.tolist() == expected
    assert profile.input_bits == 3 * 8 * 8 * 32
    assert profile.result_bits == 6 * 32
    assert (profile.block_compute_s > 0).all()
    # one exit, at the end
    assert profile.exit_rates.tolist() == [[0.0] * (profile.num_blocks - 1) + [1.0]]
    assert profile.branch_compute_s.tolist() == [0.0] * profile.num_blocks
    assert profile.onnx.sha256 == sha256_file(model)
    assert profile.onnx.path == "model.onnx" and profile.onnx.data == "data.npz"
    assert profile.onnx.engine == "onnxruntime" and profile.onnx.statistic == "median"


def test_profile_onnx_accuracy_from_labels_or_agreement_with_itself(tmp_path: Path) -> None:
    model = graphs.save(graphs.residual(1), tmp_path)
    with_labels = profile_onnx(model, _data(tmp_path, (1, 3, 8, 8)), out=tmp_path / "p.json",
                               settings=FAST)  # fmt: skip
    import onnxruntime as ort  # type: ignore[import-untyped]

    data = np.load(tmp_path / "data.npz")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    top1 = [int(session.run(None, {"x": x[None]})[0].argmax()) for x in data["x"]]
    assert with_labels.accuracy[-1] == pytest.approx(np.mean(np.array(top1) == data["labels"]))
    without = profile_onnx(model, _data(tmp_path, (1, 3, 8, 8), labels=False),
                           out=tmp_path / "p.json", settings=FAST)  # fmt: skip
    assert without.accuracy[-1] == 1.0 and "agreement with itself" in without.notes


def test_profile_onnx_multi_tensor_cuts_sum_the_live_tensors(tmp_path: Path) -> None:
    model = graphs.save(graphs.fpn(), tmp_path)
    profile = profile_onnx(model, _data(tmp_path, (1, 3, 16, 16)), out=tmp_path / "p.json",
                           settings=OnnxProfileSettings(cuts="all", runs=2))  # fmt: skip
    assert profile.onnx is not None
    info = analyse(load_model(model))
    multi = [k for k, c in enumerate(profile.onnx.cuts) if len(c) > 1]
    assert multi, "the FPN neck has a multi-tensor cut"
    for k in multi:
        cut = profile.onnx.cuts[k]
        assert profile.output_bits[k] == sum(info.tensors[t].nbytes * 8 for t in cut)


def test_profile_onnx_file_round_trips_with_its_source(tmp_path: Path) -> None:
    model = graphs.save(graphs.residual(1), tmp_path)
    profile = profile_onnx(model, _data(tmp_path, (1, 3, 8, 8)), out=tmp_path / "p.json",
                           settings=FAST)  # fmt: skip
    save_profile(profile, tmp_path / "p.json")
    loaded = load_profile(tmp_path / "p.json")
    assert loaded.onnx == profile.onnx
    assert loaded.to_mapping() == profile.to_mapping()


def test_profile_onnx_file_with_wrong_cut_count_is_refused(tmp_path: Path) -> None:
    model = graphs.save(graphs.residual(1), tmp_path)
    profile = profile_onnx(model, _data(tmp_path, (1, 3, 8, 8)), out=tmp_path / "p.json",
                           settings=FAST)  # fmt: skip
    mapping = profile.to_mapping()
    mapping["onnx"]["cuts"] = mapping["onnx"]["cuts"][:-1]
    with pytest.raises(InputError, match=r"onnx\.cuts has"):
        type(profile).from_mapping(mapping, source="p.json")


@pytest.mark.parametrize(
    ("case", "message"),
    [("batch", "batch-1 runs"), ("settings", "--cuts must be")],
)
def test_profile_onnx_refusals(tmp_path: Path, case: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        if case == "batch":
            model = graphs.save(graphs.chain(2, batch=2), tmp_path)
            profile_onnx(model, _data(tmp_path, (2, 3, 8, 8)), out=tmp_path / "p.json")
        else:
            OnnxProfileSettings(cuts="some")  # type: ignore[arg-type]


def test_profile_command_onnx_writes_a_profile_the_planner_reads(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from splitexit.cli import app
    from splitexit.planner import plan
    from splitexit.topology import load_topology

    model = graphs.save(graphs.residual(2), tmp_path)
    data = _data(tmp_path, (1, 3, 8, 8), labels=False)  # accuracy 1.0: agreement with itself
    out = tmp_path / "p.json"
    args = ["profile", "--onnx", str(model), "--data", str(data), "--out", str(out), "--runs", "3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    profile = load_profile(out)
    best = plan(profile, load_topology("mobile")).best
    assert best.config.partition[-1] == profile.num_blocks - 1  # the one exit is the last
    missing = CliRunner().invoke(app, ["profile", "--onnx", str(model), "--out", str(out)])
    assert missing.exit_code == 2 and "--data" in missing.output


def test_profile_onnx_operator_label_and_whole_timing(tmp_path: Path) -> None:
    model = graphs.save(graphs.residual(2), tmp_path)
    data = _data(tmp_path, (1, 3, 8, 8))
    settings = OnnxProfileSettings(runs=3, percentile=50.0, timing="whole", operator="Q")
    profile = profile_onnx(model, data, out=tmp_path / "p.json", settings=settings)
    assert profile.onnx is not None
    assert (profile.onnx.operator, profile.onnx.timing) == ("Q", "whole")
    assert "scaled to the whole model's" in profile.reference_device
    save_profile(profile, tmp_path / "p.json")
    loaded = load_profile(tmp_path / "p.json")
    assert loaded.onnx == profile.onnx
    # without them, neither field is written: older readers read the file as before
    plain = profile_onnx(model, data, out=tmp_path / "q.json", settings=FAST)
    assert plain.onnx is not None
    assert {"operator", "timing"}.isdisjoint(plain.to_mapping()["onnx"])
    assert (plain.onnx.operator, plain.onnx.timing) == (None, "segments")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("timing", "fused", "--timing must be"), ("operator", "Q E", "--operator must be")],
)
def test_profile_onnx_operator_and_timing_refusals(field: str, value: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        OnnxProfileSettings(**{field: value})  # type: ignore[arg-type]
