"""`testbed run --network` reaches the testbed's option and is checked at the boundary."""

from __future__ import annotations

from typer.testing import CliRunner

from splitexit.cli import app


def test_testbed_run_network_unknown_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(app, ["testbed", "run", "--network", "wifi", "--samples", "2"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0
    assert "network must be one of emulated, netns" in result.output


def test_testbed_run_network_is_listed_in_help() -> None:
    result = CliRunner().invoke(app, ["testbed", "run", "--help"])
    assert "--network" in result.output and "netns" in result.output
