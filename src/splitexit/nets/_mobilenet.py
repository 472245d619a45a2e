"""MobileNetV2 (Sandler et al. 2018) for small images, cut into blocks: stem + 6 stages.

The CIFAR adaptation keeps stride 1 in the stem and in the 24-channel stage (28x28 and 32x32
inputs are already small), so the resolution halves three times (32 -> 16 -> 8 -> 4). The
stem is the first 3x3 convolution plus the first inverted residual (t = 1); each later stage
(t, c, n, s) of the paper's table 2 is one block, so N = 7. The classifier, a 1x1 convolution
to 1280 channels, global average pooling and a linear layer, is also every exit head's design.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["mobilenet_v2_blocks", "mobilenet_v2_head"]

# (expansion t, output channels c, repeats n, first stride s), CIFAR strides
_STAGES = (
    (6, 24, 2, 1),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_LAST_CHANNELS = 1280


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True),
    )


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise 3x3, project (1x1, linear); a shortcut when shapes match."""

    def __init__(self, in_ch: int, out_ch: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = in_ch * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers.append(_conv_bn(in_ch, hidden, 1, 1))
        layers += [
            _conv_bn(hidden, hidden, 3, stride, groups=hidden),
            nn.Conv2d(hidden, out_ch, 1, bias=False),
            nn.BatchNorm2d(out_ch),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.body(x)
        return x + out if self.residual else out


def _scaled(channels: int, width: float) -> int:
    return max(4, round(channels * width))


def mobilenet_v2_blocks(
    in_channels: int, *, width: float = 1.0
) -> tuple[list[nn.Module], list[int], list[str]]:
    """Blocks, their output channels and names of MobileNetV2 (width multiplier ``width``)."""
    stem_out = _scaled(16, width)
    blocks: list[nn.Module] = [
        nn.Sequential(
            _conv_bn(in_channels, _scaled(32, width), 3, 1),
            InvertedResidual(_scaled(32, width), stem_out, 1, 1),
        )
    ]
    channels, names = [stem_out], ["stem"]
    previous = stem_out
    for s, (t, c, n, stride) in enumerate(_STAGES):
        out = _scaled(c, width)
        layers = [
            InvertedResidual(previous if r == 0 else out, out, stride if r == 0 else 1, t)
            for r in range(n)
        ]
        blocks.append(nn.Sequential(*layers))
        channels.append(out)
        names.append(f"stage{s + 1}")
        previous = out
    return blocks, channels, names


def mobilenet_v2_head(channels: int, num_classes: int, *, width: float = 1.0) -> nn.Module:
    """MobileNetV2's classifier: 1x1 conv to 1280 (x width below 1), pooling, linear."""
    last = _scaled(_LAST_CHANNELS, min(width, 1.0))
    return nn.Sequential(
        _conv_bn(channels, last, 1, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(last, num_classes),
    )
