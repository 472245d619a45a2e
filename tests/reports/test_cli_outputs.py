"""`--html` and `--plot` by extension on `splitexit plan` and `splitexit fidelity`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitexit.cli import app


@pytest.mark.slow
def test_cli_plan_writes_html_svg_and_pdf(tmp_path: Path) -> None:
    html, svg, pdf = tmp_path / "p.html", tmp_path / "p.svg", tmp_path / "p.pdf"
    runner = CliRunner()
    args = ["plan", "--profile", "example", "--topology", "iot", "--html", str(html)]
    result = runner.invoke(app, [*args, "--plot", str(svg)])
    assert result.exit_code == 0, result.output
    assert "Pareto frontier" in html.read_text() and "plotly_click" in html.read_text()
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
    result = runner.invoke(app, [*args, "--plot", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_cli_plan_refuses_unknown_plot_extension(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "--profile", "example", "--plot", "x.gif"])
    assert result.exit_code == 2
    assert "--plot x.gif" in result.output and ".svg" in result.output
    assert not Path("x.gif").exists()


def test_cli_distredge_compare_writes_html(tmp_path: Path) -> None:
    html = tmp_path / "c.html"
    args = [
        "distredge",
        "compare",
        "--model",
        "tinycnn",
        "--group",
        "DB",
        "--bandwidth",
        "50Mbps",
        "--methods",
        "offload,fast",
        "--fast-evaluations",
        "50",
    ]
    result = CliRunner().invoke(app, [*args, "--html", str(html)])
    assert result.exit_code == 0, result.output
    page = html.read_text()
    assert "images per second" in page and ">offload</td>" in page and ">fast</td>" in page
