from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitexit.cli import app

runner = CliRunner()
TINY = ["--epochs", "2", "--separate-epochs", "1", "--width", "0.25", "--threads", "1"]
TINY += ["--timing-samples", "5", "--quiet"]


def _profile(*args: str) -> list[str]:
    return ["profile", "--model", "resnet8", "--dataset", "digits", *TINY, *args]


@pytest.mark.slow
def test_cli_profile_writes_profile_and_trace_then_reuses_checkpoints(tmp_path: Path) -> None:
    out = tmp_path / "out" / "tiny.json"
    args = _profile("--out", str(out), "--work-dir", str(tmp_path / "work"))
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"wrote {out} and {out.with_name('tiny.trace.npz')}" in result.output
    assert "branch accuracy (separate):" in result.output
    data = json.loads(out.read_text())
    assert data["format"] == "splitexit.profile/1" and data["trace"] == "tiny.trace.npz"
    assert len(data["blocks"]) == 4 and len(data["thresholds"]) == 20
    checkpoints = sorted(p.name for p in (tmp_path / "work").iterdir())
    assert checkpoints == ["joint.pt", *[f"separate-0{i}.pt" for i in (1, 2, 3, 4)]]

    again = runner.invoke(app, [a for a in args if a != "--quiet"])
    assert again.exit_code == 0, again.output
    assert "joint: trained already" in again.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "resnet9"], "model must be one of resnet8, resnet20"),
        (["--dataset", "cifar"], "--dataset must be one of fashion-mnist, digits, got 'cifar'"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
        (["--percentile", "0"], "percentile must be in (0, 100]"),
        (["--epochs", "0"], "epochs must be >= 1, got 0"),
        (["--precision", "fp8"], "precision must be 'fp32' or 'bf16', got 'fp8'"),
        (["--separate-init", "x"], "separate init must be 'joint' or 'scratch', got 'x'"),
    ],
)
def test_cli_profile_bad_arguments_exit_2_with_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "p.json"
    result = runner.invoke(app, [*_profile("--out", str(out), "--work-dir", str(tmp_path)), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()


def test_cli_profile_missing_fashion_mnist_names_the_package(tmp_path: Path) -> None:
    args = ["profile", "--model", "resnet8", "--dataset", "fashion-mnist", "--out"]
    result = runner.invoke(app, [*args, str(tmp_path / "p.json"), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "install the Debian package dataset-fashion-mnist" in result.output


def test_cli_profile_corrupt_checkpoint_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "joint.pt").write_bytes(b"\x00" * 10)
    out = tmp_path / "p.json"
    result = runner.invoke(app, _profile("--out", str(out), "--work-dir", str(tmp_path)))
    assert result.exit_code == 2
    assert f"{tmp_path / 'joint.pt'}: corrupt checkpoint" in result.output
    assert not out.exists() and not out.with_name("p.trace.npz").exists()


@pytest.mark.slow
def test_cli_profile_separate_models_in_a_process_pool_match_in_process(tmp_path: Path) -> None:
    outs = []  # the default is a pool (one process per CPU, at most one per task)
    for name, extra in (("here", ["--workers", "1"]), ("pool", [])):
        out = tmp_path / f"{name}.json"
        args = _profile("--out", str(out), "--cache", str(tmp_path / name), "--no-onnx-timing")
        result = runner.invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        outs.append(json.loads(out.read_text()))
    here, pool = outs
    accuracy = [b["accuracy"] for b in here["branches"]]  # of the separate models
    assert len(accuracy) == 4 and accuracy == [b["accuracy"] for b in pool["branches"]]
    assert here["training"]["cache_key"] == pool["training"]["cache_key"]
