"""The fidelity report (info, Markdown, JSON, plot) and `splitexit fidelity`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from splitexit.cli.fidelity import register
from splitexit.fidelity import compare_many, load_cases
from splitexit.reports import (
    fidelity_info,
    fidelity_json,
    fidelity_markdown,
    render_fidelity_plot,
)
from splitexit.topology import load_topology
from tests.fidelity.helpers import Overheads, measurement_mapping, random_deployments


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("runs")
    paths = []
    for preset in ("mobile", "iot"):
        topology = load_topology(preset)
        for i, plan in enumerate(random_deployments(topology, 2, seed=3)):
            data = measurement_mapping(
                topology, plan, rows=100, overheads=Overheads(noise_s=5e-4), seed=i, failed=1
            )
            path = folder / f"{preset}-{i}.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            paths.append(path)
    return paths


def test_fidelity_info_rows_and_errors(files: list[Path]) -> None:
    summary = compare_many(load_cases(files), calibrate_model=True)
    info = fidelity_info(summary)
    assert info.models == ("paper", "runtime-timed", "calibrated")
    assert (info.before, info.after) == ("paper", "calibrated")
    assert len(info.rows) == 4 and {r.topology for r in info.rows} == {"mobile", "iot"}
    row = info.rows[0]
    assert row.delivered == 99 and row.failed == 1
    assert row.measured_ms[0] == pytest.approx(summary.comparisons[0].measured.mean_s * 1e3)
    assert row.max_exit_rate_gap == pytest.approx(0.0)
    text = fidelity_markdown(info)
    assert "MAPE of mean" in text and row.label in text
    data = json.loads(json.dumps(fidelity_json(info)))
    assert [e["model"] for e in data["errors"]] == list(info.models)
    assert data["calibration"]["fitted_on"] == [p.name for p in files]


def test_render_fidelity_plot_writes_png(files: list[Path], tmp_path: Path) -> None:
    info = fidelity_info(compare_many(load_cases(files)))
    assert info.after == "runtime-timed"
    out = tmp_path / "fidelity.png"
    render_fidelity_plot(info, out)
    assert out.read_bytes()[:4] == b"\x89PNG"


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("other")
    def other() -> None:  # a second command, so that typer keeps "fidelity" as a sub-command
        """Unused."""

    return app


def test_cli_fidelity_writes_outputs(files: list[Path], tmp_path: Path) -> None:
    out_json, out_md, out_png = tmp_path / "f.json", tmp_path / "f.md", tmp_path / "f.png"
    result = CliRunner().invoke(
        _app(),
        [
            "fidelity",
            *map(str, files),
            "--calibrate",
            "--json",
            str(out_json),
            "--markdown",
            str(out_md),
            "--plot",
            str(out_png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out_json.read_text())["errors"][-1]["model"] == "calibrated"
    assert out_md.read_text().startswith("| configuration")
    assert out_png.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--plot", "x.gif"], "PNG"),
        (["--compute", "gpu"], "--compute"),
        (["--topology", "nowhere"], "neither a file nor a preset"),
    ],
)
def test_cli_fidelity_bad_input_exits_2(files: list[Path], extra: list[str], message: str) -> None:
    result = CliRunner().invoke(_app(), ["fidelity", str(files[0]), *extra])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_cli_fidelity_calibrate_needs_two_files(files: list[Path]) -> None:
    result = CliRunner().invoke(_app(), ["fidelity", str(files[0]), "--calibrate"])
    assert result.exit_code == 2 and "at least two" in result.output
