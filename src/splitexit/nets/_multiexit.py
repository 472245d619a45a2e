"""A backbone as a sequence of blocks with exit heads after some of them (seed 000, 2.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["HeadFactory", "MultiExitNet"]

HeadFactory = Callable[[int], nn.Module]  # channels of the block output -> exit head


class MultiExitNet(nn.Module):
    """Blocks 1..N of a backbone and one exit head after each selected block.

    ``exits`` holds 0-based block indices in increasing order. The network keeps only the
    blocks it needs (through the last exit), so a separately trained branch i is
    ``MultiExitNet(blocks[: i + 1], ...)`` with ``exits=(i,)``. ``forward`` returns one
    tensor of logits per exit, shallowest first.

    >>> net = build_network("resnet8", in_channels=1, num_classes=10)  # doctest: +SKIP
    >>> [out.shape for out in net(torch.zeros(2, 1, 28, 28))]  # doctest: +SKIP
    """

    def __init__(
        self,
        blocks: Sequence[nn.Module],
        block_channels: Sequence[int],
        make_head: HeadFactory,
        *,
        exits: Sequence[int],
        block_names: Sequence[str],
    ) -> None:
        super().__init__()
        chosen = tuple(int(i) for i in exits)
        if not chosen or list(chosen) != sorted(set(chosen)):
            raise ValueError(f"exits must be increasing block indices, got {chosen}")
        if chosen[-1] >= len(blocks):
            raise ValueError(f"exit {chosen[-1]} is past the last block {len(blocks) - 1}")
        kept = chosen[-1] + 1
        self.exits = chosen
        self.block_names = tuple(block_names[:kept])
        self.block_channels = tuple(block_channels[:kept])
        self.blocks = nn.ModuleList(blocks[:kept])
        self.heads = nn.ModuleList(make_head(self.block_channels[i]) for i in chosen)

    @property
    def num_blocks(self) -> int:
        """Blocks this network runs (through its last exit)."""
        return len(self.blocks)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs: list[Tensor] = []
        heads = iter(self.heads)
        exits = set(self.exits)
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in exits:
                outputs.append(next(heads)(x))
        return outputs

    def block_outputs(self, x: Tensor) -> list[Tensor]:
        """The output of every kept block (for sizes and per-block timing)."""
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        return outputs


def _check_input(x: Tensor) -> None:
    if x.dim() != 4:
        raise ValueError(f"expected a batch of images (B, C, H, W), got shape {tuple(x.shape)}")


_ = torch  # torch is the runtime of this room; the name keeps the import explicit
