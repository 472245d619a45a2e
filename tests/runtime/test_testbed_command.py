"""`splitexit testbed run` end to end on the tiny chain, and its bad inputs (one line, exit 2)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.export import ChainRunner
from splitexit.profile import random_profile, save_profile

from .conftest import in_process_workers

pytestmark = pytest.mark.slow

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "resnet8-digits.json"
    profile = dataclasses.replace(random_profile(4), model="resnet8", dataset="digits")
    save_profile(profile, path)
    return path


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["testbed", "run", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("transport", ["grpc", "tcp"])
def test_testbed_run_measures_every_sample_and_matches_the_chain(  # type: ignore[no-untyped-def]
    deployable, tiny_profile: Path, tmp_path: Path, transport: str
) -> None:
    out = tmp_path / "m.json"
    code, output = _run(
        "--profile", str(tiny_profile), "--export", str(deployable.folder),
        "--samples", "30", "--json", str(out), "--transport", transport,
    )  # fmt: skip
    assert code == 0, output
    assert "Measured on the testbed" in output
    measurement = json.loads(out.read_text())
    assert measurement["format"] == "splitexit.measurement/1"
    assert measurement["run"]["transport"] == transport
    assert measurement["summary"]["delivered"] == 30
    samples = measurement["samples"]
    assert [s["index"] for s in samples] == list(range(30))
    expected = ChainRunner(deployable.manifest, deployable.folder).run(
        deployable.data.profile.images[:30]
    )
    assert [s["exit"] for s in samples] == (expected.exit_partition + 1).tolist()
    assert [p["tier"] for p in measurement["partitions"]] == ["smartphone", "edge", "cloud"]
    topo = deployable.topology
    for s in samples:  # the emulated links charge the topology's path costs
        assert s["latency_s"] >= s["input_link_s"] + sum(
            h["link_s"] + h["busy_s"] for h in s["hops"]
        )
        last = s["hops"][-1]
        exit_tier = topo.tier_index(last["tier"])
        result_s = topo.transfer_s(measurement["partitions"][0]["result_bits"], exit_tier, 0)
        assert last["link_s"] == pytest.approx(result_s, abs=2e-3)
    assert measurement["input_bits"] == 8 * 8 * 8  # 8-bit pixels, as the profile's O_0


def _tampered(deployable, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "tampered"
    shutil.copytree(deployable.folder, folder)
    onnx_file = folder / "partition-2.onnx"
    onnx_file.write_bytes(onnx_file.read_bytes() + b"\0")
    return folder


def test_bad_inputs_are_one_line_with_exit_status_2(  # type: ignore[no-untyped-def]
    deployable, tiny_profile: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--profile", str(tiny_profile), "--samples", "2"]
    cases = {
        "sha256 does not match": [*base, "--export", str(_tampered(deployable, tmp_path))],
        "is unreachable": [
            *base, "--export", str(deployable.folder),
            "--connect", "smartphone=127.0.0.1:9", "--connect", "edge=127.0.0.1:9",
            "--connect", "cloud=127.0.0.1:9", "--ready-timeout", "0.5s",
        ],
        "expected TIER=HOST:PORT": [*base, "--export", str(deployable.folder), "--connect", "x"],
        "compute mode must be one of": [
            *base, "--export", str(deployable.folder), "--compute-mode", "warp",
        ],
        "transport must be one of": [
            *base, "--export", str(deployable.folder), "--transport", "pigeon",
        ],
        "readiness timeout must be > 0 s": [
            *base, "--export", str(deployable.folder), "--ready-timeout", "0s",
        ],
    }  # fmt: skip
    monkeypatch.setenv("SPLITEXIT_TOKEN", "whatever")
    for needle, args in cases.items():
        code, output = _run(*args)
        assert code == 2, (needle, output)
        assert needle in output and output.strip().count("\n") == 0, output


def test_a_wrong_token_is_refused_by_running_workers(  # type: ignore[no-untyped-def]
    deployable, tiny_profile: Path, tmp_path: Path
) -> None:
    token = tmp_path / "token"
    token.write_text("not-the-token\n")
    with in_process_workers(["smartphone", "edge", "cloud"]) as workers:
        code, output = _run(
            "--profile", str(tiny_profile), "--export", str(deployable.folder), "--samples", "2",
            *[f"--connect={t}={a}" for t, a in workers.addresses.items()],
            "--token-file", str(token),
        )  # fmt: skip
    assert code == 2
    assert "PERMISSION_DENIED: wrong token" in output and output.strip().count("\n") == 0
