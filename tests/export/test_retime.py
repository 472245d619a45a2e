"""Re-timing a profile on ONNX Runtime: only compute times change, measured per block/branch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.errors import InputError
from splitexit.profile import load_profile, random_profile, save_profile
from splitexit.profiling import RetimeSettings, retime_profile
from tests.export.conftest import Exported

runner = CliRunner()


def _tiny_profile(num_blocks: int) -> object:
    return dataclasses.replace(
        random_profile(num_blocks), model="resnet8", dataset="digits", input_bits=8 * 8 * 8
    )


@pytest.mark.slow
def test_retime_replaces_only_the_compute_times(exported: Exported) -> None:
    profile = _tiny_profile(exported.joint.net.num_blocks)
    retimed = retime_profile(profile, exported.joint.net, RetimeSettings(runs=20, warmup=2))
    assert retimed.block_compute_s.shape == profile.block_compute_s.shape
    assert np.all(retimed.block_compute_s > 0) and np.all(retimed.branch_compute_s > 0)
    assert np.all(retimed.block_compute_s < 0.05)  # a quarter-width block on 8x8 inputs
    assert not np.array_equal(retimed.block_compute_s, profile.block_compute_s)
    for field in ("exit_rates", "accuracy", "output_bits", "thresholds"):
        assert np.array_equal(getattr(retimed, field), getattr(profile, field)), field
    assert "ONNX Runtime" in retimed.reference_device and "splitexit retime" in retimed.notes


def test_retime_needs_the_full_configuration(exported: Exported) -> None:
    with pytest.raises(InputError, match="full configuration"):
        retime_profile(_tiny_profile(exported.joint.net.num_blocks + 1), exported.joint.net)
    with pytest.raises(InputError, match="percentile"):
        RetimeSettings(percentile=0)


@pytest.mark.slow
def test_cli_retime_writes_a_profile_with_its_trace(exported: Exported, tmp_path: Path) -> None:
    source = tmp_path / "tiny.json"
    save_profile(_tiny_profile(exported.joint.net.num_blocks), source)
    out = tmp_path / "retimed.json"
    result = runner.invoke(
        app,
        ["retime", "--profile", str(source), "--out", str(out), "--runs", "10",
         "--work-dir", str(exported.work_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ONNX Runtime" in json.loads(out.read_text())["reference_device"]
    assert load_profile(out).num_blocks == exported.joint.net.num_blocks
    bad = runner.invoke(app, ["retime", "--profile", str(source), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--out" in bad.output


def test_the_bundled_re_timed_profile_shares_trace_and_weights() -> None:
    from splitexit.export import bundled_checkpoint
    from splitexit.profile import load_profile_trace, profile_path

    torch_timed = load_profile("resnet20-fashion-mnist")
    ort_timed = load_profile("resnet20-fashion-mnist-ort")
    assert np.allclose(ort_timed.exit_rates, torch_timed.exit_rates, rtol=0, atol=1e-12)
    assert ort_timed.block_compute_s.sum() < torch_timed.block_compute_s.sum()
    assert "ONNX Runtime" in ort_timed.reference_device
    trace = load_profile_trace(ort_timed, profile_path("resnet20-fashion-mnist-ort"))
    assert trace.num_blocks == ort_timed.num_blocks
    assert bundled_checkpoint("resnet20-fashion-mnist-ort") == bundled_checkpoint(
        "resnet20-fashion-mnist"
    )
