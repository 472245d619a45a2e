"""A backbone as a sequence of blocks with exit heads after some of them (seed 000, 2.1)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

from torch import Tensor, nn

from splitexit._validation import Callable_, InstanceOf, validate_params
from splitexit.errors import InputError

__all__ = ["HeadFactory", "MultiExitNet"]

HeadFactory = Callable[[int], nn.Module]  # channels of a block's output -> an exit head


@validate_params(
    {
        "blocks": [InstanceOf(list, tuple)],
        "block_channels": [InstanceOf(list, tuple)],
        "make_head": [Callable_()],
        "exits": [InstanceOf(list, tuple, range)],
        "block_names": [InstanceOf(list, tuple)],
    }
)
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
        chosen = _checked_exits(exits, len(blocks))
        for name, values in (("block_channels", block_channels), ("block_names", block_names)):
            if len(values) != len(blocks):
                raise InputError(
                    f"MultiExitNet: `{name}` must have one entry per block ({len(blocks)}), "
                    f"got {len(values)}"
                )
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


def _checked_exits(exits: Sequence[int], num_blocks: int) -> tuple[int, ...]:
    """``exits`` as a tuple of ints, refused unless increasing 0-based indices of blocks."""
    if any(isinstance(i, bool) or not isinstance(i, numbers.Integral) for i in exits):
        raise InputError(f"MultiExitNet: `exits` must be block indices (ints), got {exits!r}")
    chosen = tuple(int(i) for i in exits)
    if not chosen or list(chosen) != sorted(set(chosen)) or chosen[0] < 0:
        raise InputError(
            f"MultiExitNet: `exits` must be increasing 0-based block indices, got {list(chosen)}"
        )
    if chosen[-1] >= num_blocks:
        raise InputError(
            f"MultiExitNet: `exits` names block {chosen[-1]}, past the last one ({num_blocks - 1})"
        )
    return chosen
