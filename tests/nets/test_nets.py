from __future__ import annotations

import pytest
import torch
from torch import nn

from splitexit import InputError
from splitexit.nets import MODEL_NAMES, MultiExitNet, build_network, model_spec

BLOCKS = {"resnet8": 4, "resnet20": 10, "resnet56": 28, "resnet110": 55, "mobilenetv2": 7}


def test_nets_registry_lists_every_model() -> None:
    assert set(MODEL_NAMES) == set(BLOCKS)


@pytest.mark.parametrize(("model", "blocks"), BLOCKS.items())
def test_build_network_has_one_block_per_paper_block(model: str, blocks: int) -> None:
    net = build_network(model, in_channels=1, num_classes=10, width=0.25)
    assert net.num_blocks == blocks
    assert net.exits == tuple(range(blocks))
    assert len(net.heads) == blocks
    assert net.block_names[0] == "stem"


@pytest.mark.parametrize("model", ["resnet20", "mobilenetv2"])
@pytest.mark.parametrize(("channels", "side"), [(1, 28), (3, 32), (1, 8)])
def test_build_network_every_exit_gives_logits(model: str, channels: int, side: int) -> None:
    net = build_network(model, in_channels=channels, num_classes=7, width=0.25).eval()
    with torch.inference_mode():
        outputs = net(torch.zeros(2, channels, side, side))
    assert [tuple(out.shape) for out in outputs] == [(2, 7)] * net.num_blocks


def test_build_network_resnet20_shapes_follow_the_cifar_design() -> None:
    net = build_network("resnet20", in_channels=3, num_classes=10).eval()
    x = torch.zeros(1, 3, 32, 32)
    shapes = []
    with torch.inference_mode():
        for block in net.blocks:
            x = block(x)
            shapes.append(tuple(x.shape[1:]))
    assert shapes == [(16, 32, 32)] * 4 + [(32, 16, 16)] * 3 + [(64, 8, 8)] * 3
    assert net.block_names == ("stem", *[f"res{s}.{b}" for s in (1, 2, 3) for b in (1, 2, 3)])


def test_build_network_separate_branch_keeps_blocks_through_its_exit() -> None:
    net = build_network("resnet20", in_channels=1, num_classes=10, exits=[3])
    assert net.num_blocks == 4 and net.exits == (3,) and len(net.heads) == 1
    assert len(net(torch.zeros(1, 1, 28, 28))) == 1


def test_build_network_heads_reuse_the_final_classifier_design() -> None:
    head = build_network("resnet20", in_channels=1, num_classes=10).heads[0]
    assert [type(m) for m in head] == [nn.AdaptiveAvgPool2d, nn.Flatten, nn.Linear]
    mobile = build_network("mobilenetv2", in_channels=1, num_classes=10).heads[0]
    assert isinstance(mobile[-1], nn.Linear) and mobile[-1].in_features == 1280


def test_build_network_final_configuration_selects_exits() -> None:
    net = build_network("resnet8", in_channels=1, num_classes=3, exits=[0, 2], width=0.25)
    assert net.num_blocks == 3 and len(net(torch.zeros(1, 1, 8, 8))) == 2


@pytest.mark.parametrize("exits", [[], [2, 1], [1, 1], [-1], [4]])
def test_build_network_bad_exits_are_rejected(exits: list[int]) -> None:
    with pytest.raises(InputError, match="`exits`"):
        build_network("resnet8", in_channels=1, num_classes=3, exits=exits)


def test_multi_exit_net_refuses_names_or_channels_that_do_not_match_the_blocks() -> None:
    blocks = [nn.Identity(), nn.Identity()]
    with pytest.raises(
        InputError, match=r"`block_names` must have one entry per block \(2\), got 1"
    ):
        MultiExitNet(blocks, [1, 1], lambda c: nn.Identity(), exits=[1], block_names=["a"])
    with pytest.raises(InputError, match="`exits` must be block indices"):
        MultiExitNet(blocks, [1, 1], lambda c: nn.Identity(), exits=["1"], block_names=["a", "b"])


def test_model_spec_unknown_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"model must be one of resnet8, .* got 'vgg99'"):
        model_spec("vgg99")
