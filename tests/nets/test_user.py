"""User backbones: ``FILE.py:FACTORY`` with and without heads, and factories that are wrong."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from splitexit import InputError
from splitexit.nets import build_network, check_model, model_source_hash

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_model.py"

BAD = """
from torch import nn

def unchained(num_classes, in_channels):
    return [nn.Conv2d(in_channels, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1),
            nn.Conv2d(32, 32, 3, padding=1)]

def wrong_heads(num_classes, in_channels):
    blocks = [nn.Conv2d(in_channels, 8, 3, padding=1)]
    return blocks, [nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))]

def not_modules(num_classes, in_channels):
    return [1, 2]

def flat(num_classes, in_channels):
    return [nn.Sequential(nn.Flatten(), nn.Linear(in_channels * 8 * 8, 20)), nn.Linear(20, 12)]
"""


@pytest.fixture
def bad_module(tmp_path: Path) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(BAD)
    return path


@pytest.mark.parametrize("factory", ["four_blocks", "four_blocks_with_heads"])
def test_user_model_every_exit_gives_logits(factory: str) -> None:
    net = build_network(f"{EXAMPLE}:{factory}", in_channels=1, num_classes=10).eval()
    assert net.num_blocks == 4 and net.exits == (0, 1, 2, 3)
    assert net.block_names == ("block1", "block2", "block3", "block4")
    with torch.inference_mode():
        outputs = net(torch.zeros(3, 1, 28, 28))
    assert [tuple(o.shape) for o in outputs] == [(3, 10)] * 4


def test_user_model_heads_are_the_papers_without_heads() -> None:
    net = build_network(f"{EXAMPLE}:four_blocks", in_channels=3, num_classes=5)
    head = net.heads[1]
    assert isinstance(head, torch.nn.Sequential)
    assert isinstance(head[0], torch.nn.AdaptiveAvgPool2d)
    assert (head[2].in_features, head[2].out_features) == (32, 5)
    own = build_network(f"{EXAMPLE}:four_blocks_with_heads", in_channels=3, num_classes=5)
    assert len(list(own.heads[1].children())) == 5  # the factory's heads, not the paper's


def test_user_model_one_exit_keeps_blocks_through_it() -> None:
    net = build_network(f"{EXAMPLE}:four_blocks", in_channels=1, num_classes=10, exits=[1])
    assert net.num_blocks == 2 and len(net.heads) == 1


def test_user_model_two_d_outputs_get_linear_heads(bad_module: Path) -> None:
    net = build_network(f"{bad_module}:flat", in_channels=1, num_classes=4, image_size=(8, 8))
    assert isinstance(net.heads[1], torch.nn.Linear) and net.heads[1].in_features == 12


def test_user_model_blocks_that_do_not_chain_name_the_block(bad_module: Path) -> None:
    with pytest.raises(InputError) as info:
        build_network(f"{bad_module}:unchained", in_channels=1, num_classes=10)
    message = str(info.value)
    assert "\n" not in message
    assert message == (f"{bad_module}:unchained: block 3 expects 32 channels but block 2 gives 16")


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        ("wrong_heads", "head 1 must give (batch, 10) logits, got (2, 3)"),
        ("not_modules", "must be a torch.nn.Module, got int"),
        ("missing", "has no callable 'missing'"),
    ],
)
def test_user_model_bad_factory_is_one_line(bad_module: Path, factory: str, expected: str) -> None:
    with pytest.raises(InputError, match=None) as info:
        build_network(f"{bad_module}:{factory}", in_channels=1, num_classes=10)
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_check_model_refuses_missing_file_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a file"):
        check_model(f"{tmp_path}/none.py:f")
    with pytest.raises(InputError, match="model must be one of"):
        check_model("resnet9")
    check_model(f"{EXAMPLE}:four_blocks")


def test_user_model_module_form_and_source_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "mynets"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "small.py").write_text(EXAMPLE.read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    net = build_network("mynets.small:four_blocks", in_channels=1, num_classes=10)
    assert net.num_blocks == 4
    before = model_source_hash("mynets.small:four_blocks")
    (package / "small.py").write_text(EXAMPLE.read_text() + "\n# edited\n")
    assert model_source_hash("mynets.small:four_blocks") != before
    assert model_source_hash("resnet8") != model_source_hash("resnet20")
