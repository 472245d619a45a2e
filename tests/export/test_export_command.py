from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.export import load_manifest
from splitexit.profile import random_profile, save_profile
from tests.export.conftest import Exported

runner = CliRunner()


@pytest.fixture
def profile_file(tmp_path: Path) -> Path:
    """A synthetic profile that names the tiny model: resnet8 on digits, 4 blocks, 8x8."""
    profile = dataclasses.replace(
        random_profile(4, seed=3), model="resnet8", dataset="digits", input_bits=512.0
    )
    path = tmp_path / "tiny.json"
    save_profile(profile, path)
    return path


def _args(profile: Path, work_dir: Path, out: Path) -> list[str]:
    return ["export", "--profile", str(profile), "--work-dir", str(work_dir), "--out", str(out)]


@pytest.mark.slow
def test_cli_export_best_writes_a_loadable_manifest(
    exported: Exported, profile_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "best"
    args = _args(profile_file, exported.work_dir, out)
    result = runner.invoke(app, [*args, "--topology", "iot"])
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out / "manifest.json")
    assert manifest.model == "resnet8" and manifest.input_shape == (1, 8, 8)
    assert manifest.partitions[-1].last_block <= 4
    assert "exported P=[" in result.output


@pytest.mark.slow
def test_cli_export_config_file(exported: Exported, profile_file: Path, tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    point = {"threshold": 0.3, "partition": [2, 4], "placement": ["smartphone", "cloud"]}
    config.write_text(json.dumps({"best": point}))
    out = tmp_path / "file"
    args = [*_args(profile_file, exported.work_dir, out), "--config", str(config)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out / "manifest.json")
    assert manifest.tiers == ("smartphone", "cloud") and manifest.threshold == 0.3
    assert [p.last_block for p in manifest.partitions] == [2, 4]
    assert manifest.destination == "smartwatch"  # the mobile preset's destination


def test_cli_export_without_checkpoint_names_the_profile_command(
    profile_file: Path, tmp_path: Path
) -> None:
    work = tmp_path / "empty"
    result = runner.invoke(app, _args(profile_file, work, tmp_path / "out"))
    assert result.exit_code == 2
    assert result.output == (
        f"error: {work / 'joint.pt'}: no joint checkpoint; `splitexit profile --model resnet8 "
        f"--dataset digits --out {profile_file} --work-dir {work}` trains one\n"
    )


@pytest.mark.parametrize(
    ("point", "message"),
    [
        ({"threshold": 0.3, "partition": [2, 9], "placement": ["edge", "cloud"]}, "1..4"),
        ({"threshold": 0.3, "partition": [4], "placement": ["moon"]}, "must be tier names"),
        (
            {"threshold": [0.3, 0.4], "partition": [1, 4], "placement": ["edge", "cloud"]},
            r"per-exit thresholds must be 1 number(s) in (0, 1], one per partition but the last",
        ),
        (
            {"threshold": [0.3, 1.4], "partition": [1, 2, 4], "placement": ["edge"] * 3},
            "got [0.3, 1.4]",
        ),
        ({"partition": [4], "placement": ["cloud"]}, "threshold is required but missing"),
    ],
)
def test_cli_export_bad_config_exit_2_with_one_line(
    exported: Exported, profile_file: Path, tmp_path: Path, point: dict[str, object], message: str
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(point))
    args = [*_args(profile_file, exported.work_dir, tmp_path / "o"), "--config", str(config)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def _config(tmp_path: Path, point: Mapping[str, object]) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(point))
    return path


@pytest.mark.slow
def test_cli_export_per_exit_thresholds_from_a_config_file(
    exported: Exported, profile_file: Path, tmp_path: Path
) -> None:
    tiers = ["smartphone", "edge", "cloud"]
    point = {"threshold": [0.3, 0.6], "partition": [1, 3, 4], "placement": tiers}
    out = tmp_path / "per-exit"
    args = [*_args(profile_file, exported.work_dir, out), "--config", str(_config(tmp_path, point))]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "with T=[0.3, 0.6]" in result.output
    manifest = load_manifest(out / "manifest.json")
    assert manifest.thresholds == (0.3, 0.6) and manifest.threshold is None
    assert [manifest.threshold_of(k) for k in range(3)] == [0.3, 0.6, None]
    data = json.loads((out / "manifest.json").read_text())
    assert data["thresholds"] == [0.3, 0.6] and "threshold" not in data


@pytest.mark.slow
def test_cli_export_final_weights(exported: Exported, profile_file: Path, tmp_path: Path) -> None:
    """Trains the final model of P = [2, 4] from joint.pt, caches it, exports it."""
    point = {"threshold": 0.4, "partition": [2, 4], "placement": ["edge", "cloud"]}
    config = _config(tmp_path, point)
    final = ["--weights", "final", "--precision", "fp32", "--config", str(config), "--quiet"]
    result = runner.invoke(app, [*_args(profile_file, exported.work_dir, tmp_path / "a"), *final])
    assert result.exit_code == 0, result.output
    checkpoint = exported.work_dir / "final-joint" / "final-2-4.pt"
    assert f"weights: final ({checkpoint})" in result.output
    fingerprint = torch.load(checkpoint, weights_only=True)["fingerprint"]
    assert fingerprint["exits"] == [1, 3] and fingerprint["init"].startswith("joint.pt")
    manifest = load_manifest(tmp_path / "a" / "manifest.json")
    assert manifest.threshold == 0.4 and [p.last_block for p in manifest.partitions] == [2, 4]


@pytest.mark.slow
def test_cli_export_final_from_scratch_needs_no_joint_checkpoint(
    profile_file: Path, tmp_path: Path
) -> None:
    point = {"threshold": None, "partition": [4], "placement": ["edge"]}
    work = tmp_path / "work"
    args = [*_args(profile_file, work, tmp_path / "out"), "--config", str(_config(tmp_path, point))]
    scratch = ["--weights", "final", "--init", "scratch", "--width", "0.25", "--quiet"]
    result = runner.invoke(app, [*args, *scratch, "--precision", "fp32", "--final-lr", "0.05"])
    assert result.exit_code == 0, result.output
    assert (work / "final-scratch" / "final-4.pt").exists()
    assert not (work / "joint.pt").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--weights", "best"], "--weights must be 'joint' or 'final', got 'best'"),
        (["--weights", "final", "--init", "warm"], "init must be 'joint' or 'scratch'"),
        (["--weights", "final", "--precision", "fp8"], "--precision must be auto, fp32 or bf16"),
        (["--weights", "final", "--final-epochs", "0", "--precision", "fp32"], "epochs must be"),
        (["--weights", "final", "--width", "0.5"], "width 0.5 differs from the joint"),
        (["--per-exit-thresholds", "--config", "x.json"], "applies to --config best only"),
    ],
)
def test_cli_export_bad_options_exit_2_with_one_line(
    exported: Exported, profile_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    point = {"threshold": 0.4, "partition": [2, 4], "placement": ["edge", "cloud"]}
    config = _config(tmp_path, point)
    args = [*_args(profile_file, exported.work_dir, tmp_path / "o"), "--config", str(config)]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2, result.output
    assert message in result.output and result.output.count("\n") == 1
    assert not (tmp_path / "o" / "manifest.json").exists()
