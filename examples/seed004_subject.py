"""A subject at the compute scale of seed 004's, for the fidelity run in its three-tier setting.

Seed 004's "ResNet" is a Wide ResNet-101-2: its exit and cut points sit after whole residual
sub-graphs, each sample computes for tens of ms to seconds, and its inputs are large next to
the 1 Mbit/s edge-cloud link. ResNet-20 on 28 x 28 images (0.02-0.5 ms a partition here) is
none of that. ``wide_resnet20_coarse`` is our analogue at a scale one fidelity run can afford:

- the blocks of the library's ResNet-20 at **width 2** (32, 64, 128 channels; ``resnet20``
  ``width=2``: about 2.2 ms a sample on one core of this machine, 3.6x ResNet-20);
- fed **84 x 84** inputs (``--resize 84x84``: 56 kbit a sample, 56 ms over 1 Mbit/s, as the
  seed's images cost more to send to the cloud than to compute on the edge) through a 3 x 3
  stride-3 stem, so that the residual stages run at 28 x 28 as before;
- cut into **7 coarse blocks**, the stem with the whole first stage, then one residual
  block each, so that the earliest exit already holds about a third of the compute (a sample
  that leaves at the first exit on the edge, R = 12, computes for about 9 ms).

Every block gets the paper's exit head (global average pooling, then a linear layer).
Profile (trains on a Fashion-MNIST subset, a few minutes on one core; docs/fidelity.md)::

    python examples/make_user_data.py runs/fashion-6k.npz --samples 6000
    splitexit profile --model examples/seed004_subject.py:wide_resnet20_coarse \\
        --dataset runs/fashion-6k.npz --resize 84x84 --out runs/seed004-wrn20-2.json
"""

from __future__ import annotations

from torch import nn

from splitexit.nets import build_network

STEM_CHANNELS = 16
WIDTH = 2.0


def wide_resnet20_coarse(num_classes: int, in_channels: int) -> list[nn.Module]:
    """Stride-3 stem + ResNet-20 width 2 in 7 blocks: [stem, stage 1], then one block each."""
    resnet = build_network(
        "resnet20", in_channels=STEM_CHANNELS, num_classes=num_classes, width=WIDTH
    )
    inner = list(resnet.blocks)  # stem (16 -> 32 channels), res1.1 .. res3.3
    stem = nn.Sequential(
        nn.Conv2d(in_channels, STEM_CHANNELS, 3, stride=3, bias=False),
        nn.BatchNorm2d(STEM_CHANNELS),
        nn.ReLU(inplace=True),
    )
    return [nn.Sequential(stem, *inner[:4]), *inner[4:]]
