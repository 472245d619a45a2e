from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from tests.helpers import valid_profile_mapping, valid_topology_mapping

runner = CliRunner()


def test_cli_plan_defaults_print_recommendation_and_frontier() -> None:
    result = runner.invoke(app, ["plan"])
    assert result.exit_code == 0, result.output
    assert "Recommendation" in result.output
    assert "Pareto frontier" in result.output
    assert "169,240 configurations evaluated" in result.output
    assert "1 percentage point" in result.output


def test_cli_plan_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "plan.json", tmp_path / "pareto.png"
    result = runner.invoke(
        app,
        [
            "plan",
            "--topology",
            "iot",
            "--max-latency",
            "150ms",
            "--json",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["configurations_evaluated"] == 169_240
    assert data["requirement"]["kind"] == "max_latency"
    for point in [data["best"], *data["pareto"]]:
        assert set(point) >= {
            "threshold",
            "partition",
            "placement",
            "accuracy",
            "latency_s",
            "compute_s",
            "transmission_s",
            "propagation_s",
            "exit_rates",
        }
        assert point["latency_s"] == pytest.approx(
            point["compute_s"] + point["transmission_s"] + point["propagation_s"]
        )
        assert all(1 <= p <= 10 for p in point["partition"])
        assert len(point["placement"]) == len(point["partition"]) == len(point["exit_rates"])
    assert data["best"]["latency_s"] <= 0.150
    assert {b["name"] for b in data["baselines"]} == {"source", "fastest", "single-cut"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_plan_accepts_percent_and_destination(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app, ["plan", "--min-accuracy", "85%", "--destination", "cloud", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["destination"] == "cloud"
    assert data["best"]["accuracy"] >= 0.85


def _bad_topology() -> dict[str, Any]:
    data = valid_topology_mapping()
    data["links"][1]["bandwidth"] = "-5Mbps"
    return data


def _bad_profile() -> dict[str, Any]:
    data = valid_profile_mapping()
    data["exit_rates"][0] = [0.2, 0.3, 0.4]
    return data


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--min-accuracy", "0.999"], "no configuration reaches accuracy >= 99.90%"),
        (["--max-latency", "1ms"], "no configuration meets latency <= 1 ms"),
        (["--max-latency", "soon"], "--max-latency: cannot read 'soon' as a duration"),
        (["--min-accuracy", "150%"], "--min-accuracy must be in [0, 1]"),
        (["--min-accuracy", "0.9", "--max-latency", "1s"], "not both"),
        (["--topology", "moon"], "topology 'moon' is neither a file nor a preset"),
        (["--destination", "fog"], "destination 'fog' is not a tier"),
        (["--profile", "missing.json"], "missing.json: no such profile file"),
        (["--accuracy", "joint", "--profile", "PROFILE"], "accuracy 'joint' needs"),
        (["--topology", "TOPOLOGY"], "links[1].bandwidth must be > 0, got '-5Mbps'"),
        (["--profile", "BADPROFILE"], "exit_rates[0] sums to 0.9, expected 1 within 1e-06"),
    ],
)
def test_cli_bad_input_one_line_exit_2_nothing_written(
    tmp_path: Path,
    write_json: Callable[..., Path],
    write_yaml: Callable[..., Path],
    args: list[str],
    message: str,
) -> None:
    files = {
        "PROFILE": write_json(valid_profile_mapping(), "good.json"),
        "BADPROFILE": write_json(_bad_profile(), "bad.json"),
        "TOPOLOGY": write_yaml(_bad_topology()),
    }
    args = [str(files.get(a, a)) for a in args]
    out = tmp_path / "plan.json"
    png = tmp_path / "pareto.png"
    result = runner.invoke(app, ["plan", *args, "--json", str(out), "--plot", str(png)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists() and not png.exists()
    assert list(tmp_path.glob(".*.tmp")) == []


def test_cli_console_script_bad_input_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "topology.yaml"
    bad.write_text("tiers: [{name: a, compute_ratio: 1}]\nlinks: [{bandwidth: 1Mbps}]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "splitexit", "plan", "--topology", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == f"error: {bad}: links[0].latency is required but missing"


def test_cli_presets_lists_three() -> None:
    result = runner.invoke(app, ["presets"])
    assert result.exit_code == 0
    for name in ("mobile", "iot", "mec", "smartwatch", "raspberry-pi", "200 Mbps"):
        assert name in result.output


@pytest.mark.slow
def test_cli_plan_trace_estimator_on_bundled_profile(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    result = runner.invoke(
        app,
        [
            "plan",
            "--estimator",
            "trace",
            "--per-exit-thresholds",
            "--max-latency",
            "35ms",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["estimator"] == "trace" and data["per_exit_thresholds"] is True
    assert data["configurations_evaluated"] == 41_482_840
    best = data["best"]
    assert best["latency_s"] <= 0.035
    if len(best["partition"]) > 1:
        assert len(best["threshold"]) == len(best["partition"]) - 1
    assert "one threshold per exit" in result.output
