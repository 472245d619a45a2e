from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from splitexit.cli import app


def _run(tmp_path: Path, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "schema": "splitexit.study/1",
        "subjects": [{"name": "r20", "model": "resnet20-fashion-mnist"}],
        "operators": ["I", "P"],
    }
    data.update(overrides)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return CliRunner().invoke(app, ["study", str(path), "--out", str(tmp_path / "out")])


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"operators": ["I", "X"]}, "operators[1]"),
        ({"topology": "mobile"}, "lacks"),
        ({"repetitions": 0}, "repetitions"),
    ],
)
def test_cli_study_bad_file_one_line_exit_2(
    tmp_path: Path, overrides: dict[str, Any], expected: str
) -> None:
    result = _run(tmp_path, **overrides)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_cli_study_refuses_non_empty_out(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    (tmp_path / "m.onnx").write_bytes(b"")
    result = _run(tmp_path, subjects=[{"name": "m", "onnx": "m.onnx"}])
    assert result.exit_code == 2
    assert (tmp_path / "out" / "keep.txt").read_text() == "mine"


def test_cli_study_example_file_is_valid() -> None:
    from splitexit.study import load_study

    path = Path(__file__).resolve().parents[2] / "examples" / "study-seed004.yaml"
    study = load_study(path)
    assert study.subjects == ("resnet", "chain") and len(study.cells) == 18
