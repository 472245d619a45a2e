from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
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
        ({"threshold": [0.3], "partition": [1, 4], "placement": ["edge", "cloud"]}, "per-exit"),
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
