"""A backbone of your own for splitexit: four blocks, the paper's exit heads added for you.

``splitexit profile --model examples/user_model.py:four_blocks --dataset DATA.npz ...``
calls ``four_blocks(num_classes=..., in_channels=...)``; a factory may also return
``(blocks, heads)`` to choose its own exit heads (``four_blocks_with_heads``).
"""

from __future__ import annotations

from torch import nn


def _conv(in_ch: int, out_ch: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
    )


def four_blocks(num_classes: int, in_channels: int) -> list[nn.Module]:
    """Four convolutional blocks, 16 -> 32 -> 64 channels; heads are the paper's."""
    return [
        _conv(in_channels, 16, 1),
        nn.Sequential(_conv(16, 32, 2), _conv(32, 32, 1)),
        nn.Sequential(_conv(32, 64, 2), _conv(64, 64, 1)),
        nn.Sequential(_conv(64, 64, 1), _conv(64, 64, 1)),
    ]


def four_blocks_with_heads(
    num_classes: int, in_channels: int
) -> tuple[list[nn.Module], list[nn.Module]]:
    """The same blocks with heads of our own: pooling, a hidden layer, then the classes."""
    blocks = four_blocks(num_classes, in_channels)
    heads: list[nn.Module] = [
        nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, 32),
            nn.ReLU(),
            nn.Linear(32, num_classes),
        )
        for channels in (16, 32, 64, 64)
    ]
    return blocks, heads
