"""``splitexit.plan()`` and ``splitexit plan`` load the same profile and trace and agree."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import splitexit
from splitexit.cli import app
from splitexit.planner import load_plan_inputs

runner = CliRunner()


@pytest.mark.parametrize(
    ("profile", "topology", "requirement", "cli"),
    [
        ("resnet20-fashion-mnist", "mobile", {"max_latency_s": "80ms"}, ["--max-latency", "80ms"]),
        ("resnet20-fashion-mnist", "iot", {"min_accuracy": "90%"}, ["--min-accuracy", "90%"]),
        ("example", "mobile", {"max_latency_s": 0.150}, ["--max-latency", "150ms"]),
    ],
)
def test_plan_api_and_cli_give_the_same_best(
    tmp_path: Path, profile: str, topology: str, requirement: dict[str, object], cli: list[str]
) -> None:
    # the README's Python example: the profile by name, units as people write them
    result = splitexit.plan(profile, splitexit.load_topology(topology), **requirement)  # type: ignore[arg-type]
    out = tmp_path / "plan.json"
    run = runner.invoke(
        app, ["plan", "--profile", profile, "--topology", topology, *cli, "--json", str(out)]
    )
    assert run.exit_code == 0, run.output
    from_cli = json.loads(out.read_text())
    assert result.to_dict()["best"] == from_cli["best"]
    assert result.estimator == from_cli["estimator"]


def test_plan_api_uses_the_profiles_trace_like_the_cli() -> None:
    profile, trace = load_plan_inputs("resnet20-fashion-mnist")
    assert trace is not None
    by_name = splitexit.plan("resnet20-fashion-mnist", splitexit.load_topology("mobile"))
    assert by_name.estimator == "trace"
    loaded = splitexit.plan(profile, splitexit.load_topology("mobile"), trace=trace)
    assert loaded.best.config == by_name.best.config
    assert load_plan_inputs("resnet20-fashion-mnist", "paper")[1] is None
