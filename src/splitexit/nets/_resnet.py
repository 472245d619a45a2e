"""CIFAR-style ResNet (He et al. 2016, section 4.2) cut into blocks: stem + 3n residual blocks.

ResNet-(6n+2) has a 3x3 stem convolution and three stages of n basic blocks with 16, 32 and
64 channels (times ``width``); the first block of stages 2 and 3 halves the resolution. As a
block sequence that is N = 3n + 1 blocks (ResNet-20: N = 10). The classifier, global average
pooling then one linear layer, is also the design of every exit head.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["resnet_blocks", "resnet_head"]


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut (a 1x1 projection where the shape changes)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        result: Tensor = self.relu(out + self.shortcut(x))
        return result


def resnet_blocks(
    depth: int, in_channels: int, *, width: float = 1.0
) -> tuple[list[nn.Module], list[int], list[str]]:
    """Blocks, their output channels and names of ResNet-``depth`` (depth = 6n + 2)."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has depth 6n + 2 >= 8, got {depth}")
    n = (depth - 2) // 6
    widths = [max(1, round(c * width)) for c in (16, 32, 64)]
    blocks: list[nn.Module] = [
        nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(inplace=True),
        )
    ]
    channels, names = [widths[0]], ["stem"]
    previous = widths[0]
    for stage, out in enumerate(widths):
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            blocks.append(BasicBlock(previous, out, stride))
            channels.append(out)
            names.append(f"res{stage + 1}.{b + 1}")
            previous = out
    return blocks, channels, names


def resnet_head(channels: int, num_classes: int) -> nn.Module:
    """ResNet's classifier: global average pooling, then a linear layer."""
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
