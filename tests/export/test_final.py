from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from splitexit.configuration import exit_partitions
from splitexit.errors import InputError
from splitexit.export import ChainRunner, JointCheckpoint, load_joint
from splitexit.training import FinalSettings, final_work_dir, train_final_net
from tests.export.conftest import (
    ATOL,
    FINAL_SETTINGS,
    PARTITION,
    Exported,
    FinalExported,
    clear_threshold,
    torch_exits,
)


def _joint(exported: Exported) -> JointCheckpoint:
    path = exported.work_dir / "joint.pt"
    return load_joint(path, model="resnet8", dataset="digits", num_classes=10)


@pytest.mark.slow
def test_final_model_has_only_the_selected_exits(
    exported: Exported, final_exported: FinalExported
) -> None:
    final = final_exported.final
    assert final.net.exits == PARTITION and final.net.num_blocks == PARTITION[-1] + 1
    assert final.checkpoint == final_work_dir(exported.work_dir, "joint") / "final-1-3-4.pt"
    assert final.checkpoint.exists()
    fingerprint = torch.load(final.checkpoint, weights_only=True)["fingerprint"]
    assert fingerprint["kind"] == "final" and fingerprint["init"].startswith("joint.pt: epoch 1")
    assert fingerprint["config"]["epochs"] == 1 and fingerprint["config"]["lr"] == 0.02
    assert fingerprint["config"]["batch_size"] == 16  # the joint run's, read off joint.pt
    joint_head = exported.joint.net.heads[0].state_dict()
    assert any(  # fine-tuned: it moved away from the joint weights
        not torch.equal(w, joint_head[name]) for name, w in final.net.heads[0].state_dict().items()
    )


@pytest.mark.slow
def test_final_chain_reproduces_final_torch_outputs_and_decisions(
    exported: Exported, final_exported: FinalExported
) -> None:
    images = exported.data.profile.images[:200]
    probabilities, entropy = torch_exits(final_exported.final.net, images)
    runner = ChainRunner(final_exported.manifest, final_exported.out_dir)
    onnx_p, onnx_h = runner.outputs(images)
    np.testing.assert_allclose(onnx_p, probabilities, atol=ATOL)
    np.testing.assert_allclose(onnx_h, entropy, atol=ATOL)
    joint_p, _ = torch_exits(exported.joint.net, images)
    assert np.abs(joint_p - probabilities).max() > 100 * ATOL  # another model indeed

    thresholds = (clear_threshold(entropy[:, 0]), clear_threshold(entropy[:, 1], 0.5, 0.9))
    expected = exit_partitions(entropy, thresholds)
    assert 0 < (expected == 1).sum() < len(images)
    runner.manifest = dataclasses.replace(final_exported.manifest, thresholds=thresholds)
    result = runner.run(images)
    np.testing.assert_array_equal(result.exit_partition, expected)
    rows = np.arange(len(images))
    np.testing.assert_array_equal(result.predictions, probabilities[rows, expected].argmax(axis=1))


@pytest.mark.slow
def test_final_second_call_reuses_the_cached_checkpoint(
    exported: Exported, final_exported: FinalExported
) -> None:
    checkpoint = final_exported.final.checkpoint
    stamp = checkpoint.stat().st_mtime_ns
    again = train_final_net(
        model="resnet8",
        dataset="digits",
        partition=PARTITION,
        work_dir=exported.work_dir,
        joint=_joint(exported),
        settings=FINAL_SETTINGS,
        data=exported.data,
    )
    assert checkpoint.stat().st_mtime_ns == stamp
    for name, weight in final_exported.final.net.state_dict().items():
        assert torch.equal(again.net.state_dict()[name], weight), name


@pytest.mark.slow
def test_final_from_scratch_without_joint(exported: Exported, tmp_path: Path) -> None:
    work = tmp_path
    settings = FinalSettings(init="scratch", epochs=1, lr=0.05, width=0.25)
    final = train_final_net(
        model="resnet8",
        dataset="digits",
        partition=(1, 3),
        work_dir=work,
        joint=None,
        settings=settings,
        data=exported.data,
    )
    assert final.net.exits == (1, 3)
    assert final.checkpoint == work / "final-scratch" / "final-2-4.pt"
    assert int(final.net.blocks[0][0].weight.shape[0]) == 4  # 16 channels at width 0.25


@pytest.mark.parametrize(
    ("settings", "with_joint", "message"),
    [
        ({"init": "joint"}, False, "needs joint.pt"),
        ({"width": 0.5}, True, "width 0.5 differs from the joint checkpoint's 0.25"),
        ({"epochs": 0}, True, "epochs must be >= 1, got 0"),
        ({"precision": "fp8"}, True, "precision must be 'fp32' or 'bf16'"),
    ],
)
def test_final_bad_settings_raise_input_error(
    exported: Exported, settings: dict[str, object], with_joint: bool, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        train_final_net(
            model="resnet8",
            dataset="digits",
            partition=PARTITION,
            work_dir=exported.work_dir,
            joint=_joint(exported) if with_joint else None,
            settings=FinalSettings(**settings),  # type: ignore[arg-type]
            data=exported.data,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"init": "warm"}, "init must be 'joint' or 'scratch', got 'warm'"),
        ({"width": 0.0}, "width must be > 0, got 0.0"),
    ],
)
def test_final_settings_validate(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        FinalSettings(**kwargs)  # type: ignore[arg-type]
