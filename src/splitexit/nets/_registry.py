"""The backbones splitexit knows by name, and how to build one with chosen exits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

from torch import nn

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.nets._mobilenet import mobilenet_v2_blocks, mobilenet_v2_head
from splitexit.nets._multiexit import MultiExitNet
from splitexit.nets._resnet import resnet_blocks, resnet_head
from splitexit.nets._user import _load_factory, is_user_model, load_user_model

__all__ = ["MODEL_NAMES", "ModelSpec", "build_network", "check_model", "model_spec"]

BlockBuilder = Callable[[int, float], tuple[list[nn.Module], list[int], list[str]]]
HeadBuilder = Callable[[int, int, float], nn.Module]


@returned_type
@dataclass(frozen=True)
class ModelSpec:
    """A named backbone: how to build its blocks and its classifier (the exit head design)."""

    name: str
    description: str
    build_blocks: BlockBuilder  # (in_channels, width) -> blocks, output channels, names
    build_head: HeadBuilder  # (channels, num_classes, width) -> head


def _resnet(depth: int) -> ModelSpec:
    n = (depth - 2) // 6
    return ModelSpec(
        name=f"resnet{depth}",
        description=f"CIFAR ResNet-{depth}: stem + {3 * n} basic blocks, N = {3 * n + 1}",
        build_blocks=lambda c, w: resnet_blocks(depth, c, width=w),
        build_head=lambda ch, k, w: resnet_head(ch, k),
    )


_MODELS = {
    spec.name: spec
    for spec in (
        _resnet(8),  # the tiny one the tests train
        _resnet(20),
        _resnet(56),
        _resnet(110),
        ModelSpec(
            name="mobilenetv2",
            description="MobileNetV2 with CIFAR strides: stem + 6 stages, N = 7",
            build_blocks=lambda c, w: mobilenet_v2_blocks(c, width=w),
            build_head=lambda ch, k, w: mobilenet_v2_head(ch, k, width=w),
        ),
    )
}
MODEL_NAMES = tuple(_MODELS)


@validate_params({"model": [InstanceOf(str)]})
def check_model(model: str) -> None:
    """Refuse an unknown backbone name, or a user factory that cannot be imported, early."""
    if is_user_model(model):
        _load_factory(model)
    else:
        model_spec(model)


@validate_params({"name": [InstanceOf(str)]})
def model_spec(name: str) -> ModelSpec:
    """The spec of backbone ``name``; an :class:`InputError` names the known ones."""
    try:
        return _MODELS[name]
    except KeyError:
        known = ", ".join(MODEL_NAMES)
        raise InputError(f"model must be one of {known}, got {name!r}") from None


@validate_params(
    {
        "model": [InstanceOf(str)],
        "in_channels": [Interval(int, 1, None)],
        "num_classes": [Interval(int, 1, None)],
        "exits": [InstanceOf(list, tuple, range), None],
        "width": [Interval(float, 0, None, closed="neither")],
        "image_size": [InstanceOf(tuple), None],
    }
)
def build_network(
    model: str,
    *,
    in_channels: int,
    num_classes: int,
    exits: Sequence[int] | None = None,
    width: float = 1.0,
    image_size: tuple[int, int] | None = None,
) -> MultiExitNet:
    """Backbone ``model`` with exit heads after blocks ``exits`` (0-based; default: all).

    ``model`` is a built-in name or a user factory, ``FILE.py:NAME`` or ``MODULE:NAME``
    (:func:`~splitexit.nets.load_user_model`; ``width`` must then be 1 and ``image_size``,
    the input's (H, W), sizes the shape check: 32 x 32 when not given).

    >>> net = build_network("resnet20", in_channels=1, num_classes=10)
    >>> net.num_blocks, len(net.heads)
    (10, 10)
    >>> build_network("resnet20", in_channels=1, num_classes=10, exits=[3]).num_blocks
    4
    """
    if is_user_model(model):
        return _user_network(model, in_channels, num_classes, exits, width, image_size)
    spec = model_spec(model)
    blocks, channels, names = spec.build_blocks(in_channels, width)
    chosen = range(len(blocks)) if exits is None else exits
    return MultiExitNet(
        blocks,
        channels,
        partial(_head, spec, num_classes=num_classes, width=width),
        exits=chosen,
        block_names=names,
    )


def _head(spec: ModelSpec, channels: int, *, num_classes: int, width: float) -> nn.Module:
    return spec.build_head(channels, num_classes, width)


def _user_network(
    model: str,
    in_channels: int,
    num_classes: int,
    exits: Sequence[int] | None,
    width: float,
    image_size: tuple[int, int] | None,
) -> MultiExitNet:
    if width != 1.0:
        raise InputError(f"{model}: width must be 1 for a user model, got {width:g}")
    user = load_user_model(
        model, in_channels=in_channels, num_classes=num_classes, image_size=image_size
    )
    chosen = list(range(len(user.blocks)) if exits is None else exits)
    if any(not 0 <= i < len(user.blocks) for i in chosen):
        raise InputError(f"{model}: `exits` {chosen} are outside blocks 0..{len(user.blocks) - 1}")
    heads = iter([user.heads[i] for i in chosen])  # MultiExitNet asks for them in this order
    return MultiExitNet(
        user.blocks, user.channels, lambda _: next(heads), exits=chosen, block_names=user.names
    )
