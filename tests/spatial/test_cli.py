from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.spatial import zoo_mapping

runner = CliRunner()
TINY = ["--model", "tinycnn", "--group", "DB", "--bandwidth", "50Mbps"]


def _strategy(splits: list[list[int]], devices: list[str] | None = None) -> dict[str, Any]:
    # tinycnn: 7 layers; volume 1 = layers 1-3 (16 rows), volume 2 = layers 4-7 (6 rows).
    data: dict[str, Any] = {
        "volumes": [
            {"layers": [1, 3], "splits": splits[0]},
            {"layers": [4, 7], "splits": splits[1]},
        ]
    }
    if devices is not None:
        data["devices"] = devices
    return data


def test_cli_compare_writes_json_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "c.json", tmp_path / "c.png"
    result = runner.invoke(
        app,
        [
            "distredge",
            "compare",
            *TINY,
            "--methods",
            "offload,aofl,fast",
            "--fast-evaluations",
            "300",
            "--json",
            str(out),
            "--plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fast" in result.output and "images/s" in result.output
    data = json.loads(out.read_text())
    assert [r["method"] for r in data["results"]] == ["offload", "aofl", "fast"]
    assert data["results"][2]["ips"] >= data["results"][0]["ips"]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_simulate_reads_a_strategy(write_json: Callable[..., Path]) -> None:
    path = write_json(_strategy([[4, 8, 12], [0, 3, 6]]), "s.json")
    result = runner.invoke(app, ["distredge", "simulate", "--strategy", str(path), *TINY])
    assert result.exit_code == 0, result.output
    assert "images/s" in result.output and "nano-2" in result.output


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            _strategy([[4, 8, 17], [0, 3, 6]]),
            "volumes[0].splits[2] must be an integer in [0, 16], got 17",
        ),
        (
            _strategy([[4, 8, -1], [0, 3, 6]]),
            "volumes[0].splits[2] must be an integer in [0, 16], got -1",
        ),
        (_strategy([[8, 4, 12], [0, 3, 6]]), "volumes[0].splits must be sorted, got [8, 4, 12]"),
        (_strategy([[4, 8], [0, 3, 6]]), "volumes[0].splits must hold 3 split points, got 2"),
        (
            _strategy([[4, 8, 12], [0, 3, 6]], ["a", "b", "c", "d"]),
            "devices must be the cluster's ['xavier-1', 'xavier-2', 'nano-1', 'nano-2']",
        ),
        (
            {"volumes": [{"layers": [1, 3], "splits": [1, 2, 3]}]},
            "the volumes must end at layer 7, got 3",
        ),
        (
            {"volumes": [{"layers": [2, 7], "splits": [1, 2, 3]}]},
            "volumes[0].layers must be [1, last]",
        ),
    ],
)
def test_cli_bad_strategy_is_one_line_exit_2(
    write_json: Callable[..., Path], data: dict[str, Any], message: str
) -> None:
    path = write_json(data, "s.json")
    result = runner.invoke(app, ["distredge", "simulate", "--strategy", str(path), *TINY])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}: {message}"), result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "tinycnn"], "give exactly one of --group"),
        (["--model", "tinycnn", "--group", "DB"], "group DB sets the device types"),
        (
            ["--model", "tinycnn", "--group", "DB", "--bandwidth", "fast"],
            "--bandwidth: cannot read 'fast' as a bandwidth",
        ),
        (["--model", "alexnet", "--group", "LA"], "model 'alexnet' is neither a file nor shipped"),
        (["--model", "tinycnn", "--group", "LA", "--episodes", "0"], "--episodes must be >= 1"),
        (
            ["--model", "tinycnn", "--group", "LA", "--fast-evaluations", "0"],
            "--fast-evaluations must be >= 1",
        ),
        (["--model", "tinycnn", "--group", "LA", "--alpha", "7"], "--alpha must be in [0, 1]"),
        (
            ["--model", "tinycnn", "--group", "LA", "--methods", "offload,magic"],
            "unknown method 'magic'",
        ),
        (
            ["--model", "tinycnn", "--group", "LA", "--plot", "x.jpg"],
            "--plot x.jpg: the plot is a PNG",
        ),
    ],
)
def test_cli_compare_bad_options_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    out = tmp_path / "never.json"
    result = runner.invoke(app, ["distredge", "compare", *args, "--json", str(out)])
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {message}"), result.output
    assert not out.exists()  # nothing half-written


def test_cli_model_spec_that_does_not_chain(write_yaml: Callable[..., Path]) -> None:
    data = zoo_mapping("tinycnn")
    data["layers"][2]["c_in"] = 9
    path = write_yaml(data, "bad.yaml")
    result = runner.invoke(app, ["distredge", "compare", "--model", str(path), "--group", "LA"])
    assert result.exit_code == 2
    assert result.output == (
        f"error: {path}: layers[2].c_in is 9 but the previous layer outputs 8\n"
    )


def test_cli_profile_device_then_use_it_in_a_cluster(tmp_path: Path) -> None:
    table = tmp_path / "me.json"
    result = runner.invoke(
        app,
        [
            "distredge",
            "profile-device",
            "--model",
            "tinycnn",
            "--out",
            str(table),
            "--granularity",
            "8",
            "--repeats",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(table.read_text())
    assert data["format"] == "splitexit.device/1" and data["model"] == "tinycnn"
    assert [layer["heights"][-1] for layer in data["layers"]] == [32, 16, 16, 16, 8, 8, 6]
    assert all(s > 0 for layer in data["layers"] for s in layer["seconds"])
    cluster = tmp_path / "lab.yaml"
    cluster.write_text(
        "providers:\n"
        "  - {name: me, device: me.json, bandwidth: 100Mbps}\n"
        "  - {name: x, device: xavier, bandwidth: 50Mbps}\n"
    )
    ok = runner.invoke(
        app,
        [
            "distredge",
            "compare",
            "--model",
            "tinycnn",
            "--cluster",
            str(cluster),
            "--methods",
            "offload,coedge",
        ],
    )
    assert ok.exit_code == 0, ok.output
    wrong = runner.invoke(
        app,
        [
            "distredge",
            "compare",
            "--model",
            "vgg16",
            "--cluster",
            str(cluster),
            "--methods",
            "offload",
        ],
    )
    assert wrong.exit_code == 2
    assert "profiled for model 'tinycnn', not 'vgg16'" in wrong.output


def test_cli_experiment_unknown_name() -> None:
    result = runner.invoke(app, ["distredge", "experiment", "table9", "--out", "x"])
    assert result.exit_code == 2
    assert (
        "experiment 'table9' is not one of table1, table2, table3, alpha, samples, dynamic"
        in result.output
    )


@pytest.mark.slow  # over 1 s of CPU (CONTRIBUTING.md)
def test_cli_compare_twice_same_numbers_distredge_and_fast(tmp_path: Path) -> None:
    # Issue 17 item 4: fast is bounded by evaluations, DDPG and LC-PSS are seeded, so the
    # same simulated command gives the same strategies and numbers (only plan_s, wall time,
    # may differ).
    def once(name: str) -> list[dict[str, Any]]:
        out = tmp_path / name
        args = ["distredge", "compare", *TINY, "--methods", "distredge,fast", "--episodes", "30",
                "--fast-evaluations", "200", "--seed", "4", "--json", str(out)]  # fmt: skip
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        rows = json.loads(out.read_text())["results"]
        for row in rows:
            row.pop("plan_s")
        return rows  # type: ignore[no-any-return]

    first, second = once("a.json"), once("b.json")
    assert [r["method"] for r in first] == ["distredge", "fast"]
    assert first == second
