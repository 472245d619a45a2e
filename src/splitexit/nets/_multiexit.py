"""A backbone as a sequence of blocks with exit heads after some of them (seed 000, 2.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

__all__ = ["HeadFactory", "MultiExitNet"]

HeadFactory = Callable[[int], nn.Module]  # channels of a block's output -> an exit head


class MultiExitNet(nn.Module):
    """Blocks 1..P of a backbone and one exit head after each selected block.

    ``exits`` holds 0-based block indices in increasing order. The network keeps only the
    blocks it needs (through its last exit): the full configuration has an exit after every
    block, and the separately trained branch i is blocks 1..i plus head i (``exits=(i,)``).
    ``forward`` returns one tensor of logits per exit, shallowest first.
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
        if not chosen or list(chosen) != sorted(set(chosen)) or chosen[0] < 0:
            raise ValueError(f"exits must be increasing 0-based block indices, got {chosen}")
        if chosen[-1] >= len(blocks):
            raise ValueError(f"exit {chosen[-1]} is past the last block ({len(blocks) - 1})")
        kept = chosen[-1] + 1
        self.exits = chosen
        self.block_names = tuple(block_names[:kept])
        self.block_channels = tuple(block_channels[:kept])
        self.blocks = nn.ModuleList(blocks[:kept])
        self.heads = nn.ModuleList(make_head(self.block_channels[i]) for i in chosen)

    @property
    def num_blocks(self) -> int:
        """Blocks this network runs (1 through its last exit)."""
        return len(self.blocks)

    def forward(self, x: Tensor) -> list[Tensor]:
        outputs: list[Tensor] = []
        position = 0
        for i, block in enumerate(self.blocks):
            x = block(x)
            if position < len(self.exits) and self.exits[position] == i:
                outputs.append(self.heads[position](x))
                position += 1
        return outputs
