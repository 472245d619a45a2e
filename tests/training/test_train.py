from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import torch

from splitexit import InputError
from splitexit.training import (
    DatasetSplits,
    TrainConfig,
    accuracies,
    load_dataset,
    train_final,
    train_joint,
    train_separate,
)
from splitexit.training import _train as train_module

FAST = TrainConfig(epochs=12, batch_size=64, lr=0.05, augment=False)


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_dataset("digits")


@pytest.mark.slow
def test_train_joint_learns_digits_at_every_deep_exit(
    digits: DatasetSplits, tmp_path: Path
) -> None:
    trained = train_joint("resnet8", digits, FAST, work_dir=tmp_path, width=0.5)
    test_accuracy = accuracies(trained.net, digits.test)
    assert len(test_accuracy) == 4 and test_accuracy[-1] > 0.9
    assert [r.epoch for r in trained.history] == list(range(1, 13))
    assert trained.history[-1].loss < trained.history[0].loss
    assert (tmp_path / "joint.pt").is_file()


def test_train_separate_builds_blocks_one_to_i(digits: DatasetSplits, tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, batch_size=128, augment=False)
    models = train_separate("resnet8", digits, config, work_dir=tmp_path, num_blocks=4, width=0.25)
    assert [m.net.num_blocks for m in models] == [1, 2, 3, 4]
    assert [m.net.exits for m in models] == [(0,), (1,), (2,), (3,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"separate-0{i}.pt" for i in (1, 2, 3, 4)]


def test_train_separate_can_start_from_the_joint_weights(
    digits: DatasetSplits, tmp_path: Path
) -> None:
    joint = train_joint("resnet8", digits, TrainConfig(epochs=1), work_dir=tmp_path, width=0.25)
    tiny_steps = TrainConfig(epochs=1, lr=1e-9, weight_decay=0.0, augment=False)
    models = train_separate(
        "resnet8", digits, tiny_steps, work_dir=tmp_path, num_blocks=4, width=0.25, init=joint
    )
    for i, model in enumerate(models):
        for b in range(i + 1):
            for key, value in joint.net.blocks[b].state_dict().items():
                if key.endswith("weight"):
                    assert torch.allclose(value, model.net.blocks[b].state_dict()[key]), key
        weight = model.net.heads[0][-1].weight
        assert torch.allclose(joint.net.heads[i][-1].weight, weight)
    scratch = train_separate(
        "resnet8", digits, tiny_steps, work_dir=tmp_path / "s", num_blocks=1, width=0.25
    )
    assert not torch.allclose(joint.net.heads[0][-1].weight, scratch[0].net.heads[0][-1].weight)


def test_train_final_keeps_only_the_selected_exits(digits: DatasetSplits, tmp_path: Path) -> None:
    config = TrainConfig(epochs=1, augment=True)
    final = train_final("resnet8", digits, config, exits=[1, 3], work_dir=tmp_path, width=0.25)
    assert final.net.exits == (1, 3) and final.checkpoint.name == "final-2-4.pt"


def _state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items()}


def test_train_resumes_an_interrupted_run_exactly(
    digits: DatasetSplits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainConfig(epochs=3, batch_size=128, lr=0.05, augment=True)
    whole = train_joint("resnet8", digits, config, work_dir=tmp_path / "whole", width=0.25)

    real_save = train_module.save_checkpoint
    saves = []

    def crash_after_two(path: Path, state: dict[str, Any]) -> None:
        real_save(path, state)
        saves.append(state["epoch"])
        if len(saves) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_module, "save_checkpoint", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        train_joint("resnet8", digits, config, work_dir=tmp_path / "cut", width=0.25)
    monkeypatch.setattr(train_module, "save_checkpoint", real_save)
    resumed = train_joint("resnet8", digits, config, work_dir=tmp_path / "cut", width=0.25)
    assert [r.epoch for r in resumed.history] == [1, 2, 3]
    for key, value in _state(whole.net).items():
        assert torch.allclose(value.float(), resumed.net.state_dict()[key].float(), atol=1e-5), key


def test_train_skips_a_finished_run(
    digits: DatasetSplits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = TrainConfig(epochs=1, augment=False)
    first = train_joint("resnet8", digits, config, work_dir=tmp_path, width=0.25)
    monkeypatch.setattr(train_module, "save_checkpoint", pytest.fail)  # no epoch may run
    again = train_joint("resnet8", digits, config, work_dir=tmp_path, width=0.25)
    assert again.history == first.history
    for key, value in _state(first.net).items():
        assert torch.equal(value, again.net.state_dict()[key]), key


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"garbage", "corrupt checkpoint"),
        (b"", "corrupt checkpoint"),
    ],
)
def test_train_corrupt_checkpoint_is_an_input_error(
    digits: DatasetSplits, tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "joint.pt").write_bytes(content)
    with pytest.raises(InputError) as info:
        train_joint("resnet8", digits, FAST, work_dir=tmp_path, width=0.25)
    assert str(info.value).startswith(f"{tmp_path / 'joint.pt'}: ") and message in str(info.value)


def test_train_checkpoint_of_another_configuration_is_refused(
    digits: DatasetSplits, tmp_path: Path
) -> None:
    train_joint("resnet8", digits, TrainConfig(epochs=1), work_dir=tmp_path, width=0.25)
    with pytest.raises(InputError, match="trained with different config; use another --work-dir"):
        train_joint("resnet8", digits, TrainConfig(epochs=2), work_dir=tmp_path, width=0.25)
    with pytest.raises(InputError, match="different width"):
        train_joint("resnet8", digits, TrainConfig(epochs=1), work_dir=tmp_path, width=0.5)


def test_train_checkpoint_that_is_not_ours_is_refused(
    digits: DatasetSplits, tmp_path: Path
) -> None:
    torch.save({"weights": torch.zeros(2)}, tmp_path / "joint.pt")
    with pytest.raises(InputError, match="not a splitexit checkpoint"):
        train_joint("resnet8", digits, FAST, work_dir=tmp_path, width=0.25)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be >= 1, got 0"),
        ("batch_size", 0, "batch size must be >= 1"),
        ("lr", -1.0, "learning rate must be > 0"),
        ("warmup", 1.0, "warmup must be in [0, 1)"),
    ],
)
def test_train_config_bad_values(field: str, value: Any, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace(")", r"\)")):
        TrainConfig(**{field: value})


def test_train_config_learning_rate_warms_up_then_anneals_to_zero() -> None:
    config = TrainConfig(lr=0.1, warmup=0.2)
    rates = [config.lr_at(step, 100) for step in range(100)]
    assert rates[0] == pytest.approx(0.004)
    assert max(rates) == pytest.approx(0.1) and rates.index(max(rates)) == 20
    assert rates[-1] < 1e-3 and all(a >= b for a, b in itertools.pairwise(rates[20:]))
