"""The joint weights shipped with the bundled profile: no dataset and no training needed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.errors import InputError
from splitexit.export import (
    WEIGHTS_FORMAT,
    ChainRunner,
    bundled_checkpoint,
    load_joint,
    load_manifest,
    save_joint_weights,
)
from splitexit.nets import build_network
from splitexit.profile import DEFAULT_PROFILE, load_profile, profile_path
from tests.export.conftest import ATOL, Exported, torch_exits

runner = CliRunner()
MAX_BYTES = 2_500_000


def test_bundled_checkpoint_is_small_weights_only_and_fits_resnet20() -> None:
    path = bundled_checkpoint(DEFAULT_PROFILE)
    assert path is not None and path.name == "resnet20-fashion-mnist.joint.pt"
    assert path.stat().st_size < MAX_BYTES
    state = torch.load(path, weights_only=True)
    assert state["format"] == WEIGHTS_FORMAT and "optimizer" not in state
    assert all(t.dtype in (torch.float32, torch.int64) for t in state["model"].values())
    profile = load_profile(DEFAULT_PROFILE)
    joint = load_joint(
        Path("no-such-dir/joint.pt"),
        model=profile.model,
        dataset=profile.dataset,
        num_classes=profile.num_classes,
        profile=DEFAULT_PROFILE,
    )
    assert joint.path == path and joint.width == 1.0 and joint.epoch == 8
    assert joint.net.num_blocks == profile.num_blocks == 10
    assert joint.net.exits == tuple(range(10))
    reference = build_network("resnet20", in_channels=1, num_classes=10).state_dict()
    loaded = joint.net.state_dict()
    assert {k: v.shape for k, v in loaded.items()} == {k: v.shape for k, v in reference.items()}
    assert joint.as_trained().history[-1].epoch == 8  # what a final model fine-tunes from


def test_bundled_checkpoint_by_name_or_identical_copy_only(tmp_path: Path) -> None:
    copy = tmp_path / "copy.json"
    shutil.copyfile(profile_path(DEFAULT_PROFILE), copy)
    assert bundled_checkpoint(copy) == bundled_checkpoint(DEFAULT_PROFILE)
    data = json.loads(copy.read_text())
    data["notes"] = "edited"
    copy.write_text(json.dumps(data))
    assert bundled_checkpoint(copy) is None
    assert bundled_checkpoint("example") is None
    assert bundled_checkpoint(tmp_path / "missing.json") is None


@pytest.mark.slow
def test_cli_export_of_the_bundled_default_runs_on_a_random_input(tmp_path: Path) -> None:
    """Fresh clone: no work dir; the bundled weights are exported and chained."""
    point = {"threshold": [0.65], "partition": [1, 3], "placement": ["edge", "cloud"]}
    config = tmp_path / "config.json"
    config.write_text(json.dumps(point))
    out, work = tmp_path / "out", tmp_path / "fresh"
    args = ["export", "--profile", DEFAULT_PROFILE, "--work-dir", str(work), "--out", str(out)]
    result = runner.invoke(app, [*args, "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert (
        "weights: joint (" in result.output and "resnet20-fashion-mnist.joint.pt" in result.output
    )
    manifest = load_manifest(out / "manifest.json")
    assert manifest.input_shape == (1, 28, 28) and manifest.thresholds == (0.65,)
    images = np.random.default_rng(0).normal(size=(16, 1, 28, 28)).astype(np.float32)
    chain = ChainRunner(manifest, out)
    probabilities, entropy = chain.outputs(images)
    profile = load_profile(DEFAULT_PROFILE)
    joint = load_joint(
        work / "joint.pt", model="resnet20", dataset="fashion-mnist", num_classes=10,
        profile=DEFAULT_PROFILE,
    )  # fmt: skip
    expected_p, expected_h = torch_exits(joint.net, images, (0, 2))
    np.testing.assert_allclose(probabilities, expected_p, atol=ATOL)
    np.testing.assert_allclose(entropy, expected_h, atol=ATOL)
    result_run = chain.run(images)
    assert result_run.probabilities.shape == (16, profile.num_classes)
    np.testing.assert_allclose(result_run.probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert not work.exists()  # nothing written to the work dir


def test_load_joint_falls_back_only_for_the_bundled_profile(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such checkpoint"):
        load_joint(
            tmp_path / "joint.pt", model="resnet20", dataset="fashion-mnist", num_classes=10,
            profile="example",
        )  # fmt: skip


def test_save_joint_weights_keeps_every_tensor_exactly(exported: Exported, tmp_path: Path) -> None:
    source = exported.work_dir / "joint.pt"
    target = tmp_path / "weights.pt"
    size = save_joint_weights(source, target)
    assert size == target.stat().st_size < source.stat().st_size
    joint = load_joint(target, model="resnet8", dataset="digits", num_classes=10)
    for name, tensor in exported.joint.net.state_dict().items():
        assert torch.equal(joint.net.state_dict()[name], tensor), name
    images = exported.data.test.images[:8]
    np.testing.assert_array_equal(
        torch_exits(joint.net, images)[0], torch_exits(exported.joint.net, images)[0]
    )
    with pytest.raises(InputError, match="not a splitexit checkpoint"):
        torch.save({"format": "other/1", "fingerprint": {}, "model": {}, "epoch": 1}, target)
        load_joint(target, model="resnet8", dataset="digits", num_classes=10)
