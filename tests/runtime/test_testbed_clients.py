"""`testbed run --clients N`: closed-loop clients on the emulated links, recorded per sample."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.fidelity import measurement_from_mapping
from splitexit.profile import random_profile, save_profile
from splitexit.runtime import PixelCodec, TestbedOptions, run_testbed
from splitexit.runtime._netns import list_namespaces
from splitexit.runtime._netns_testbed import path_delay_s

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "resnet8-digits.json"
    profile = dataclasses.replace(random_profile(4), model="resnet8", dataset="digits")
    save_profile(profile, path)
    return path


@pytest.mark.slow
def test_two_clients_each_send_one_at_a_time(  # type: ignore[no-untyped-def]
    deployable, tiny_profile: Path, tmp_path: Path
) -> None:
    out = tmp_path / "m.json"
    result = runner.invoke(app, [
        "testbed", "run", "--profile", str(tiny_profile), "--export", str(deployable.folder),
        "--samples", "24", "--clients", "2", "--json", str(out), "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["run"]["clients"] == 2 and data["summary"]["delivered"] == 24
    samples = data["samples"]
    assert [s["client"] for s in samples] == [i % 2 + 1 for i in range(24)]
    assert min(s["sent_s"] for s in samples) == 0.0  # counted from the first send
    for s in samples:
        assert s["received_s"] - s["sent_s"] == pytest.approx(s["latency_s"], abs=1e-6)
    for c in (1, 2):  # closed loop: a client's next sample leaves after its previous result
        mine = sorted((s for s in samples if s["client"] == c), key=lambda s: s["sent_s"])
        assert [s["index"] for s in mine] == list(range(c - 1, 24, 2))
        for before, after in itertools.pairwise(mine):
            assert after["sent_s"] >= before["received_s"]
    overlapping = sum(  # the two clients really were in flight together
        a["sent_s"] < b["received_s"] and b["sent_s"] < a["received_s"]
        for a in samples if a["client"] == 1 for b in samples if b["client"] == 2
    )  # fmt: skip
    assert overlapping >= 12
    measurement = measurement_from_mapping(data, source="m.json")
    assert measurement.clients == 2 and measurement.client is not None
    assert measurement.client.tolist() == [i % 2 + 1 for i in range(24)]


@pytest.mark.parametrize("value", ["0", "-3"])
def test_a_bad_clients_value_is_one_line_with_exit_status_2(
    tiny_profile: Path, tmp_path: Path, value: str
) -> None:
    out = tmp_path / "m.json"
    result = runner.invoke(app, [
        "testbed", "run", "--profile", str(tiny_profile), "--samples", "2",
        "--clients", value, "--json", str(out), "--quiet",
    ])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "clients" in result.output and f"got 2, {value}," in result.output
    assert result.output.strip().count("\n") == 0
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: makes network namespaces and veths")
@pytest.mark.slow
def test_two_clients_on_kernel_shaped_links_wait_the_way_back(deployable) -> None:  # type: ignore[no-untyped-def]
    """netns: the result's propagation is waited by the client before its next sample (it is
    part of the latency and of the cycle), and nothing of the run is left behind."""
    before = {n for n in list_namespaces() if n.startswith("splitexit-")}
    data, topo = deployable.data, deployable.topology
    options = TestbedOptions(samples=12, clients=2, network="netns", warmup=2, warm_samples=1)
    pixels = PixelCodec(data.pixel_levels, data.mean, data.std)
    measurement = run_testbed(
        deployable.manifest, deployable.folder, topo, data.profile.images, data.profile.labels,
        pixels, options, profile_name="tiny",
    )  # fmt: skip
    assert {n for n in list_namespaces() if n.startswith("splitexit-")} <= before
    samples = measurement["samples"]
    assert measurement["summary"]["delivered"] == 12
    for s in samples:
        exit_tier = topo.tier_index(s["hops"][-1]["tier"])
        back = path_delay_s(topo, exit_tier, topo.destination)
        assert s["latency_s"] >= path_delay_s(topo, topo.source, exit_tier) + back
        assert s["received_s"] - s["sent_s"] == pytest.approx(s["latency_s"], abs=1e-6)
    for c in (1, 2):
        mine = sorted((s for s in samples if s["client"] == c), key=lambda s: s["sent_s"])
        for before_s, after_s in itertools.pairwise(mine):
            assert after_s["sent_s"] >= before_s["received_s"]
