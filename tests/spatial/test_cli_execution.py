"""`splitexit distredge run|measure`: bad files and options refused in one line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitexit.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", ["run", "measure"])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("providers: []\n", "providers"),
        ("providers:\n  - {name: a, slowdown: 0, bandwidth: 10Mbps}\n", "slowdown"),
        ("providers:\n  - {name: a, bandwidth: 10Mbps}\n", "slowdown"),
        ("providers: [1, 2\n", "emu.yaml"),
    ],
)
def test_cli_execution_bad_cluster_exit_2(
    tmp_path: Path, command: str, text: str, message: str
) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["distredge", command, "--cluster", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_cli_execution_missing_cluster_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["distredge", "run", "--cluster", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "no such emulated-cluster file" in result.output


def test_cli_measure_unknown_method_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text("providers:\n  - {name: a, slowdown: 1, bandwidth: 10Mbps}\n")
    result = runner.invoke(
        app, ["distredge", "measure", "--cluster", str(path), "--methods", "aofl,nope"]
    )
    assert result.exit_code == 2 and "unknown method 'nope'" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["run", "measure"])
def test_cli_execution_bad_profile_exit_2(tmp_path: Path, command: str) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text("providers:\n  - {name: a, slowdown: 1, bandwidth: 10Mbps}\n")
    result = runner.invoke(app, ["distredge", command, "--cluster", str(path), "--profile", "warm"])
    assert result.exit_code == 2 and "--profile must be 'chained' or 'isolated'" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["-1", "nan", "500"])
def test_cli_measure_bad_warm_up_exit_2(tmp_path: Path, value: str) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text("providers:\n  - {name: a, slowdown: 1, bandwidth: 10Mbps}\n")
    args = ["distredge", "measure", "--cluster", str(path), "--warm-ms", value]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--warm-ms must be in [0, 100] ms" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_measure_bad_timing_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text("providers:\n  - {name: a, slowdown: 1, bandwidth: 10Mbps}\n")
    args = ["distredge", "measure", "--cluster", str(path), "--timing", "thrice"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--timing must be 'once' or 'twice'" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--interleave", "block", "--interleave must be 'image' or 'method'"),
     ("--passes", "random", "--passes must be 'shuffled' or 'ordered'")],
)  # fmt: skip
def test_cli_measure_bad_order_options_exit_2(
    tmp_path: Path, option: str, value: str, message: str
) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text("providers:\n  - {name: a, slowdown: 1, bandwidth: 10Mbps}\n")
    result = runner.invoke(app, ["distredge", "measure", "--cluster", str(path), option, value])
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("command", ["run", "measure"])
@pytest.mark.parametrize(
    ("flag", "probe", "keep_heap"),
    [([], True, True), (["--no-probe"], False, True), (["--no-keep-heap"], True, False)],
)
def test_cli_execution_probes_by_default(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    flag: list[str],
    probe: bool,
    keep_heap: bool,
) -> None:
    import splitexit.spatial.execution as execution

    seen: dict[str, object] = {}

    class _Nothing:  # what the CLI prints and writes; the wiring is what is checked here
        def markdown(self) -> str:
            return "table\n"

        def to_dict(self) -> dict[str, object]:
            return {}

    def fake(*args: object, **kw: object) -> _Nothing:
        seen.update(kw)
        return _Nothing()

    monkeypatch.setattr(execution, "measure_methods", fake)
    path = tmp_path / "emu.yaml"
    path.write_text("providers:\n  - {name: a, slowdown: 1, bandwidth: 10Mbps}\n")
    result = runner.invoke(app, ["distredge", command, "--cluster", str(path), *flag])
    assert result.exit_code == 0, result.output
    assert seen["probe"] is probe and seen["keep_heap"] is keep_heap
