"""Pieces of a user's ONNX model on the runtime: named tensors between tiers, multi-tensor
cuts, no exit head (no early exit), the last piece delivers the model's outputs; and the
whole path profile -> plan -> export -> testbed on a residual CNN split in two pieces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort  # type: ignore[import-untyped]
import pytest

from splitexit.errors import InputError
from splitexit.export import load_manifest
from splitexit.operators import (
    OnnxProfileSettings,
    export_onnx_profile,
    onnx_profile_samples,
    profile_onnx,
)
from splitexit.planner import plan
from splitexit.profile import save_profile
from splitexit.runtime import TestbedOptions, export_pieces, run_testbed
from splitexit.runtime import _wire as wire
from splitexit.runtime._domain import Tier, load_partition
from splitexit.topology import load_topology
from tests.operators import graphs
from tests.runtime.conftest import in_process_workers

SETTINGS = OnnxProfileSettings(runs=3, percentile=50.0)


def _profiled(folder: Path, model: Any, shape: tuple[int, ...], cuts: str = "single") -> Path:
    path = graphs.save(model, folder)
    rng = np.random.default_rng(5)
    np.savez(folder / "data.npz", x=rng.standard_normal((12, *shape)).astype(np.float32))
    out = folder / "p.json"
    settings = OnnxProfileSettings(cuts=cuts, runs=3, percentile=50.0)  # type: ignore[arg-type]
    save_profile(profile_onnx(path, folder / "data.npz", out=out, settings=settings), out)
    return out


def _config(partition: tuple[int, ...], placement: tuple[int, ...]) -> Any:
    from splitexit.configuration import Configuration

    return Configuration(partition, placement, (1.0,) * (len(partition) - 1))


def _spec(folder: Path, k: int, count: int) -> wire.DeployRequest:
    data = (folder / f"piece-{k}.onnx").read_bytes()
    import hashlib

    return wire.DeployRequest(
        token="t", partition=k, count=count, model=data, sha256=hashlib.sha256(data).hexdigest(),
        warmup=1, deadline_s=5.0, compute_mode="none",
    )  # fmt: skip


def test_pieces_multi_tensor_cut_travels_as_named_tensors(tmp_path: Path) -> None:
    from splitexit.profile import load_profile

    profile_file = _profiled(tmp_path, graphs.fpn(), (3, 16, 16), cuts="all")
    profile = load_profile(profile_file)
    assert profile.onnx is not None
    k = next(i for i, c in enumerate(profile.onnx.cuts) if len(c) > 1)
    topology = load_topology("mobile")
    config = _config((k, profile.num_blocks - 1), (0, 1))
    export_pieces(export_onnx_profile(profile, profile_file, config.partition), config,
                  topology, tmp_path / "ex")  # fmt: skip
    sent: list[Any] = []

    def capture(message: Any, timeout: float) -> wire.InferReply:
        sent.append(message)
        return wire.InferReply(ok=True)

    first, second = Tier("a", "t"), Tier("b", "t")
    first.install(load_partition(_spec(tmp_path / "ex", 1, 2)), capture, None)
    second.install(load_partition(_spec(tmp_path / "ex", 2, 2)), None, capture)
    x = np.random.default_rng(0).standard_normal((1, 3, 16, 16)).astype(np.float32)
    request = wire.InferRequest(request_id=1, input=wire.to_tensor(x))
    assert first.infer(request, None, 0).ok
    onward = sent[-1]
    assert set(wire.from_named(onward.tensors)) == set(profile.onnx.cuts[k])
    assert not onward.HasField("input")
    assert second.infer(onward, None, 0).ok
    result = sent[-1]
    assert isinstance(result, wire.Result) and result.exit == 2
    whole = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    expected = whole.run(None, {"x": x})[0]
    got = wire.from_named(result.outputs)["y"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    assert result.prediction == int(expected.reshape(-1).argmax())


def test_pieces_missing_tensor_is_refused(tmp_path: Path) -> None:
    from splitexit.profile import load_profile

    profile_file = _profiled(tmp_path, graphs.residual(2), (3, 8, 8))
    profile = load_profile(profile_file)
    config = _config((2, profile.num_blocks - 1), (0, 1))
    export_pieces(export_onnx_profile(profile, profile_file, config.partition), config,
                  load_topology("mobile"), tmp_path / "ex")  # fmt: skip
    second = Tier("b", "t")
    second.install(load_partition(_spec(tmp_path / "ex", 2, 2)), None, None)
    request = wire.InferRequest(request_id=1)
    request.tensors.extend(wire.to_named({"nope": np.zeros((1, 4, 8, 8), np.float32)}))
    with pytest.raises(InputError, match="is missing"):
        second.infer(request, None, 0)


def test_pieces_export_refuses_a_partitioning_that_skips_the_exit(tmp_path: Path) -> None:
    from splitexit.profile import load_profile

    profile_file = _profiled(tmp_path, graphs.residual(1), (3, 8, 8))
    with pytest.raises(InputError, match="one exit"):
        export_onnx_profile(load_profile(profile_file), profile_file, (1,))


def test_pieces_plan_export_testbed_end_to_end_in_two_pieces(tmp_path: Path) -> None:
    from splitexit.profile import load_profile

    profile_file = _profiled(tmp_path, graphs.residual(2), (3, 8, 8))
    profile = load_profile(profile_file)
    topology = load_topology("mobile")
    best = plan(profile, topology).best.config
    assert best.partition[-1] == profile.num_blocks - 1
    config = _config((2, profile.num_blocks - 1), (0, 1))  # two pieces, cut after block 3
    manifest = export_pieces(
        export_onnx_profile(profile, profile_file, config.partition), config, topology,
        tmp_path / "ex",
    )  # fmt: skip
    assert load_manifest(tmp_path / "ex" / "manifest.json") == manifest
    assert manifest.kind == "pieces" and len(manifest.partitions) == 2
    images, labels = onnx_profile_samples(profile, profile_file)
    tiers = list(manifest.tiers)
    with in_process_workers(tiers) as started:
        measurement = run_testbed(
            manifest, tmp_path / "ex", topology, images, labels, None,
            TestbedOptions(samples=len(labels), warmup=2, compute_mode="none",
                           warm_samples=1),
            profile_name=str(profile_file), connect=started.addresses, token=started.token,
        )  # fmt: skip
    summary = measurement["summary"]
    assert summary["delivered"] == len(labels) == 12
    assert summary["accuracy"] == 1.0  # without labels: the whole model's own top-1
    assert summary["exit_rates"] == {"2": 1.0}
    assert [s["exit"] for s in measurement["samples"]] == [2] * 12
    assert measurement["partitions"][0]["activation_bits"] == profile.output_bits[2]
