"""Re-timing a profile on ONNX Runtime: only compute times change, measured per block/branch."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.errors import InputError
from splitexit.profile import load_profile, random_profile, save_profile
from splitexit.profiling import RetimeSettings, retime_profile
from tests.export.conftest import Exported

runner = CliRunner()


def _tiny_profile(num_blocks: int) -> object:
    return dataclasses.replace(
        random_profile(num_blocks), model="resnet8", dataset="digits", input_bits=8 * 8 * 8
    )


@pytest.mark.slow
def test_retime_replaces_only_the_compute_times(exported: Exported) -> None:
    profile = _tiny_profile(exported.joint.net.num_blocks)
    retimed = retime_profile(profile, exported.joint.net, RetimeSettings(runs=20, warmup=2))
    assert retimed.block_compute_s.shape == profile.block_compute_s.shape
    # a block may be within the timing noise of nothing: CK_k = partition - head >= 0
    assert np.all(retimed.block_compute_s >= 0) and np.all(retimed.branch_compute_s > 0)
    assert np.all(retimed.block_compute_s < 0.05)  # a quarter-width block on 8x8 inputs
    assert not np.array_equal(retimed.block_compute_s, profile.block_compute_s)
    for field in ("exit_rates", "accuracy", "output_bits", "thresholds"):
        assert np.array_equal(getattr(retimed, field), getattr(profile, field)), field
    assert "ONNX Runtime" in retimed.reference_device and "splitexit retime" in retimed.notes


def test_retime_needs_the_full_configuration(exported: Exported) -> None:
    with pytest.raises(InputError, match="full configuration"):
        retime_profile(_tiny_profile(exported.joint.net.num_blocks + 1), exported.joint.net)
    with pytest.raises(InputError, match="percentile"):
        RetimeSettings(percentile=0)


@pytest.mark.slow
def test_cli_retime_writes_a_profile_with_its_trace(exported: Exported, tmp_path: Path) -> None:
    source = tmp_path / "tiny.json"
    save_profile(_tiny_profile(exported.joint.net.num_blocks), source)
    out = tmp_path / "retimed.json"
    result = runner.invoke(
        app,
        ["retime", "--profile", str(source), "--out", str(out), "--runs", "10",
         "--work-dir", str(exported.work_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "ONNX Runtime" in json.loads(out.read_text())["reference_device"]
    assert load_profile(out).num_blocks == exported.joint.net.num_blocks
    bad = runner.invoke(app, ["retime", "--profile", str(source), "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "--out" in bad.output


def test_the_bundled_re_timed_profile_shares_trace_and_weights() -> None:
    from splitexit.export import bundled_checkpoint
    from splitexit.profile import load_profile_trace, profile_path

    torch_timed = load_profile("resnet20-fashion-mnist")
    ort_timed = load_profile("resnet20-fashion-mnist-ort")
    assert np.allclose(ort_timed.exit_rates, torch_timed.exit_rates, rtol=0, atol=1e-12)
    assert ort_timed.block_compute_s.sum() < torch_timed.block_compute_s.sum()
    assert "ONNX Runtime" in ort_timed.reference_device
    trace = load_profile_trace(ort_timed, profile_path("resnet20-fashion-mnist-ort"))
    assert trace.num_blocks == ort_timed.num_blocks
    assert bundled_checkpoint("resnet20-fashion-mnist-ort") == bundled_checkpoint(
        "resnet20-fashion-mnist"
    )


@pytest.mark.slow
def test_onnx_times_time_the_exported_single_block_partitions(
    exported: Exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the profile times is what a worker runs: for block k, the graph export writes for
    a partition of block k alone, then exit head k alone; CK_k + CB_k is the partition's
    time and the per-call cost is charged once, in CB_k (issue 15: a block and its head timed
    as two graphs paid it twice, +40 % on the smartwatch)."""
    import onnx

    from splitexit.export import export_partitions
    from splitexit.profiling import _retime

    net = exported.joint.net
    graphs: list[bytes] = []
    real_session = _retime.ort_session

    def recording_session(model: bytes, threads: int, providers: list[str]) -> object:
        graphs.append(model)
        assert threads == 1 and providers == ["CPUExecutionProvider"]
        return real_session(model, threads, providers)

    def fake_time(session: object, feeds: dict[str, np.ndarray], **kwargs: object) -> float:
        (x,) = feeds.values()
        assert x.dtype == np.float32 and x.shape[0] == 1 and not x.any()  # the worker's probe
        assert kwargs == {"runs": 7, "warmup": 3, "percentile": 50.0}
        nodes = len(onnx.load_from_string(graphs[-1]).graph.node)
        return nodes * 1e-6 if len(graphs) % 2 else 1e-3  # a head: 1 ms, above its partition

    monkeypatch.setattr(_retime, "ort_session", recording_session)
    monkeypatch.setattr(_retime, "call_time", fake_time)
    blocks, branches = _retime.onnx_times(
        net, np.zeros((1, 1, 8, 8), np.float32), RetimeSettings(runs=7, warmup=3)
    )
    assert len(graphs) == 2 * net.num_blocks
    partitions = graphs[0::2]
    for k in range(net.num_blocks):
        cuts = [k] if k == 0 else [k - 1, k]
        out = tmp_path / f"p{k}"
        export_partitions(
            net, partition=cuts, placement=[f"t{i}" for i in range(len(cuts))],
            threshold=0.5 if k else None, destination="t0", model="resnet8",
            dataset="digits", input_shape=(1, 8, 8), out_dir=out,
        )  # fmt: skip
        deployed = (out / f"partition-{len(cuts)}.onnx").read_bytes()
        assert partitions[k] == deployed, f"block {k + 1}: not the deployed partition graph"
        nodes = len(onnx.load_from_string(deployed).graph.node) * 1e-6
        # the head "took" longer than its partition: clipped, the sum stays the partition's
        assert branches[k] == pytest.approx(nodes) and blocks[k] == 0.0
        assert blocks[k] + branches[k] == pytest.approx(nodes)


def test_every_session_of_export_runtime_and_profiling_is_built_by_one_helper() -> None:
    """The profile and the worker time the same sessions: only export._session builds one."""
    src = Path(__file__).resolve().parents[2] / "src" / "splitexit"
    builders = [
        f"{path.relative_to(src)}:{number}"
        for room in ("export", "runtime", "profiling", "training", "experiment")
        for path in sorted((src / room).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if ("InferenceSession(" in line or "SessionOptions(" in line) and path.name != "_session.py"
    ]
    assert not builders, builders
