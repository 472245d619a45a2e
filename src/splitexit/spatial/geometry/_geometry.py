"""Layer geometry of a CNN and the Vertical-Splitting Law (seed 003, section III-B, Eq. 1-2).

A model is a chain of *layers*. A layer is either one operation (a convolution, a max-pool, a
reorg) or a *block*: parallel branches of operations whose outputs are added (a ResNet
bottleneck) or concatenated (YOLOv2's passthrough). Blocks are kept whole: a partition point
never falls inside one. Only the height dimension is split; widths and channels stay whole.

Rows are 0-based and intervals inclusive, ``[a, b]``; an empty interval has ``b < a``. All
interval functions take numpy arrays (one entry per device, or per random split decision) so
that the optimizers evaluate many split-parts in one call.

The law, with the padding handled exactly: output rows ``[a, b]`` of an operation with filter
``F``, stride ``S`` and padding ``P`` read the input rows ``[S*a - P, S*b - P + F - 1]``; rows
outside ``[0, H_in - 1]`` are the zero padding of the real border and are not transferred.
Without padding and clamping this is Eq. 1, ``h_in = (h_out - 1) * S + F``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from splitexit._validation import returned_type

__all__ = [
    "FloatArray",
    "IntArray",
    "Layer",
    "ModelSpec",
    "Op",
    "cuts_to_intervals",
    "layer_input_rows",
    "op_input_rows",
    "volume_rows",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
OpKind = Literal["conv", "maxpool", "reorg"]
Activation = Literal["relu", "leaky", "none"]
Merge = Literal["none", "add", "concat"]


@returned_type
@dataclass(frozen=True)
class Op:
    """One operation with its configuration (W_in, H_in, C_in, C_out, F, S, P, activation).

    ``reorg`` is space-to-depth with block ``S`` (YOLOv2); its row geometry is that of a
    filter ``F = S`` with stride ``S``.
    """

    kind: OpKind
    h_in: int
    w_in: int
    c_in: int
    c_out: int
    f: int
    s: int
    p: int
    activation: Activation = "none"

    @property
    def h_out(self) -> int:
        return (self.h_in + 2 * self.p - self.f) // self.s + 1

    @property
    def w_out(self) -> int:
        return (self.w_in + 2 * self.p - self.f) // self.s + 1

    @property
    def flops_per_row(self) -> float:
        """Floating-point operations per output row (a multiply-add counts 2)."""
        per_element = {
            "conv": 2.0 * self.f * self.f * self.c_in,
            "maxpool": float(self.f * self.f),
            "reorg": 1.0,
        }[self.kind]
        return per_element * self.w_out * self.c_out


@returned_type
@dataclass(frozen=True)
class Layer:
    """A layer of the chain: one op (a single branch of length one) or a whole block.

    An empty branch is the identity (a residual shortcut). ``f`` and ``s`` summarize the
    layer for the agent's state (Eq. 7): the rows one output row reads, and the stride.
    """

    name: str
    branches: tuple[tuple[Op, ...], ...]
    merge: Merge
    activation: Activation
    h_in: int
    w_in: int
    c_in: int
    h_out: int
    w_out: int
    c_out: int

    @property
    def is_block(self) -> bool:
        return self.merge != "none"

    @property
    def s(self) -> int:
        return max(math.prod(op.s for op in branch) for branch in self.branches)

    @property
    def f(self) -> int:
        # Receptive height of one interior output row (Eq. 1 applied through the block).
        mid = np.array([self.h_out // 2], dtype=np.int64)
        lo, hi = layer_input_rows(self, mid, mid)
        return int(hi[0] - lo[0] + 1)

    def flops(self, a: IntArray, b: IntArray) -> npt.NDArray[np.float64]:
        """Operations of the sub-layer producing output rows ``[a, b]`` (0 where empty)."""
        total = np.zeros(np.shape(a), dtype=np.float64)
        for branch in self.branches:
            lo, hi = a, b
            for op in reversed(branch):
                total += np.maximum(hi - lo + 1, 0) * op.flops_per_row
                lo, hi = op_input_rows(op, lo, hi)
        if self.merge == "add":
            total += np.maximum(b - a + 1, 0) * float(self.w_out * self.c_out)
        return total

    def interior_flops(self, rows: int) -> float:
        """Operations for ``rows`` output rows taken from the middle of the map."""
        if rows <= 0:
            return 0.0
        start = max(0, (self.h_out - rows) // 2)
        a = np.array([start], dtype=np.int64)
        return float(self.flops(a, a + rows - 1)[0])


@returned_type
@dataclass(frozen=True)
class ModelSpec:
    """A validated CNN: input shape, the chain of layers, and the fully-connected tail.

    ``tail_pool`` is how the last map enters the tail ("flatten", "avg" for global average
    pooling, or "none" when the model has no tail and returns its last map).
    """

    name: str
    h_in: int
    w_in: int
    c_in: int
    layers: tuple[Layer, ...]
    tail_pool: Literal["flatten", "avg", "none"]
    tail_fc: tuple[int, ...]
    description: str = ""

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def heights(self) -> tuple[int, ...]:
        """Output height of every layer."""
        return tuple(layer.h_out for layer in self.layers)

    @property
    def tail_flops(self) -> float:
        last = self.layers[-1]
        width = last.h_out * last.w_out * last.c_out if self.tail_pool == "flatten" else last.c_out
        total = float(last.h_out * last.w_out * last.c_out) if self.tail_pool == "avg" else 0.0
        for features in self.tail_fc:
            total += 2.0 * width * features
            width = features
        return total

    @property
    def result_elements(self) -> int:
        """Elements returned to the requester: the tail's output, or the last map."""
        if self.tail_fc:
            return self.tail_fc[-1]
        last = self.layers[-1]
        return last.h_out * last.w_out * last.c_out

    @property
    def flops(self) -> float:
        """Operations of the unsplit convolutional part (the tail excluded)."""
        return sum(layer.interior_flops(layer.h_out) for layer in self.layers)


def op_input_rows(op: Op, a: IntArray, b: IntArray) -> tuple[IntArray, IntArray]:
    """Input rows ``[S*a - P, S*b - P + F - 1]`` clamped to the real input; empty stays empty."""
    empty = b < a
    lo = np.maximum(op.s * a - op.p, 0)
    hi = np.minimum(op.s * b - op.p + op.f - 1, op.h_in - 1)
    return np.where(empty, 0, lo), np.where(empty, -1, hi)


def _branch_input_rows(
    branch: tuple[Op, ...], a: IntArray, b: IntArray
) -> tuple[IntArray, IntArray]:
    for op in reversed(branch):
        a, b = op_input_rows(op, a, b)
    return a, b


def layer_input_rows(layer: Layer, a: IntArray, b: IntArray) -> tuple[IntArray, IntArray]:
    """Input rows a layer needs for output rows ``[a, b]``: the hull over its branches."""
    lo: IntArray | None = None
    hi: IntArray | None = None
    for branch in layer.branches:
        blo, bhi = _branch_input_rows(branch, a, b)
        lo = blo if lo is None else np.minimum(lo, blo)
        hi = bhi if hi is None else np.maximum(hi, bhi)
    assert lo is not None and hi is not None
    empty = b < a
    return np.where(empty, 0, lo), np.where(empty, -1, hi)


def volume_rows(
    layers: tuple[Layer, ...], a: IntArray, b: IntArray
) -> list[tuple[IntArray, IntArray]]:
    """Output rows of every sub-layer of a split-part, first to last, plus its input rows.

    Given the rows ``[a, b]`` of the last layer (the split decision), the law is applied from
    the last sub-layer back to the first. Element ``i`` of the result holds the output rows of
    sub-layer ``i``; the extra last element holds the rows of the volume's input.
    """
    out: list[tuple[IntArray, IntArray]] = [(a, b)]
    for layer in reversed(layers):
        a, b = layer_input_rows(layer, a, b)
        out.append((a, b))
    out.reverse()
    # out[0] is now the input; rotate so that sub-layer outputs come first, input last.
    return [*out[1:], out[0]]


def cuts_to_intervals(cuts: IntArray, height: int) -> tuple[IntArray, IntArray]:
    """Split decisions ``x_1 <= ... <= x_{D-1}`` in ``[0, H]`` -> per-device rows ``[a, b]``.

    Device ``k`` gets rows ``x_k .. x_{k+1} - 1`` with ``x_0 = 0`` and ``x_D = H`` (Eq. 6);
    works on a trailing axis so a batch of decisions can be converted at once.
    """
    shape = (*np.shape(cuts)[:-1], 1)
    edges = np.concatenate(
        [np.zeros(shape, np.int64), np.asarray(cuts, np.int64), np.full(shape, height, np.int64)],
        axis=-1,
    )
    return edges[..., :-1], edges[..., 1:] - 1
