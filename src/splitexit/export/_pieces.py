"""Partition k as a torch module: its blocks, then its exit head turned into p and H(p)/log C.

This module imports torch; ``splitexit.export`` loads it only when it exports.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from splitexit.errors import InputError
from splitexit.nets import MultiExitNet

__all__ = ["PartitionPiece", "partition_pieces"]


class PartitionPiece(nn.Module):
    """Blocks of one partition plus its exit head, in inference mode.

    ``forward`` returns (activation, probabilities, entropy), or (probabilities, entropy)
    for the last partition: the same normalized entropy as the profiler (seed 000, 2.1),
    computed in float32 from log-softmax so that a confident exit gives 0, not NaN.
    """

    def __init__(self, blocks: Sequence[nn.Module], head: nn.Module, *, last: bool) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(copy.deepcopy(list(blocks)))
        self.head = copy.deepcopy(head)
        self.last = last
        self.eval()

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        for block in self.blocks:
            x = block(x)
        logits = self.head(x)
        log_p = torch.log_softmax(logits, dim=1)
        p = log_p.exp()
        entropy = (-(p * log_p).sum(dim=1) / math.log(logits.shape[1])).clamp(0.0, 1.0)
        return (p, entropy) if self.last else (x, p, entropy)


def partition_pieces(net: MultiExitNet, partition: Sequence[int]) -> list[PartitionPiece]:
    """One piece per partition; ``partition`` holds 0-based last blocks
    (``Configuration.partition``).

    ``net`` needs an exit after every last block: the jointly trained full configuration, or
    a final model trained with exactly these exits.
    """
    cuts = [int(p) for p in partition]
    if not cuts or cuts != sorted(set(cuts)) or cuts[0] < 0:
        raise InputError(f"partition must hold increasing 0-based blocks, got {cuts}")
    missing = [p + 1 for p in cuts if p not in net.exits]
    if missing:
        raise InputError(f"the network has no exit after block(s) {missing} (1-based)")
    pieces, first = [], 0
    for k, last_block in enumerate(cuts):
        head = net.heads[net.exits.index(last_block)]
        blocks = list(net.blocks)[first : last_block + 1]
        pieces.append(PartitionPiece(blocks, head, last=k == len(cuts) - 1))
        first = last_block + 1
    return pieces
