"""Executing a model spec in PyTorch, whole or one split-part at a time (imports torch).

:class:`TorchModel` holds the weights. ``forward`` is the ordinary unsplit network (PyTorch's
own padding); :func:`run_split_part` computes output rows ``[a, b]`` of a layer-volume from
only the input rows the Vertical-Splitting Law says it needs, padding with zeros (``-inf`` for
max-pools) only where those rows run past the real border. :func:`run_strategy` emulates a
whole distributed run and is what the geometry proof compares with ``forward``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import torch
import torch.nn.functional as fn
from torch import nn

from splitexit.spatial.geometry._geometry import (
    Layer,
    ModelSpec,
    Op,
    cuts_to_intervals,
    layer_input_rows,
    op_input_rows,
    volume_rows,
)

__all__ = [
    "TorchModel",
    "run_split_part",
    "run_split_part_twice",
    "run_strategy",
    "warm_split_part",
]


def _module(op: Op) -> nn.Module:
    if op.kind == "conv":
        return nn.Conv2d(op.c_in, op.c_out, op.f, op.s, op.p)
    if op.kind == "maxpool":
        return nn.MaxPool2d(op.f, op.s, op.p)
    return nn.PixelUnshuffle(op.s)


def _activate(x: torch.Tensor, activation: str) -> torch.Tensor:
    if activation == "relu":
        return fn.relu(x)
    if activation == "leaky":
        return fn.leaky_relu(x, 0.1)
    return x


class TorchModel(nn.Module):
    """The network of a :class:`ModelSpec` with seeded random weights."""

    def __init__(self, spec: ModelSpec, *, seed: int = 0, dtype: torch.dtype = torch.float32):
        super().__init__()
        torch.manual_seed(seed)
        self.spec = spec
        self.layer_modules = nn.ModuleList(
            nn.ModuleList(nn.ModuleList(_module(op) for op in branch) for branch in layer.branches)
            for layer in spec.layers
        )
        last = spec.layers[-1]
        width = last.h_out * last.w_out * last.c_out if spec.tail_pool == "flatten" else last.c_out
        tail: list[nn.Module] = []
        for features in spec.tail_fc:
            tail.append(nn.Linear(width, features))
            width = features
        self.tail = nn.ModuleList(tail)
        self.to(dtype)

    def modules_of(self, index: int) -> list[list[nn.Module]]:
        """The modules of layer ``index``, branch by branch."""
        layer = self.layer_modules[index]
        assert isinstance(layer, nn.ModuleList)
        return [list(cast(nn.ModuleList, branch)) for branch in layer]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last map of the convolutional part, computed whole."""
        for index, layer in enumerate(self.spec.layers):
            outputs = []
            for branch, branch_modules in zip(layer.branches, self.modules_of(index), strict=True):
                y = x
                for op, module in zip(branch, branch_modules, strict=True):
                    y = _activate(module(y), op.activation)
                outputs.append(y)
            x = _merge(layer, outputs)
        return x

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """The fully-connected tail (identity for models without one)."""
        if self.spec.tail_pool == "none":
            return x
        x = x.mean(dim=(2, 3)) if self.spec.tail_pool == "avg" else x.flatten(1)
        for index, linear in enumerate(self.tail):
            x = linear(x)
            if index < len(self.tail) - 1:
                x = fn.relu(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def _merge(layer: Layer, outputs: list[torch.Tensor]) -> torch.Tensor:
    if layer.merge == "none":
        return outputs[0]
    merged = sum(outputs[1:], outputs[0]) if layer.merge == "add" else torch.cat(outputs, dim=1)
    return _activate(merged, layer.activation)


def _op_rows(op: Op, module: nn.Module, x: torch.Tensor, x_lo: int, a: int, b: int) -> torch.Tensor:
    raw_lo, raw_hi = op.s * a - op.p, op.s * b - op.p + op.f - 1
    lo_arr, hi_arr = op_input_rows(op, np.array([a]), np.array([b]))
    lo, hi = int(lo_arr[0]), int(hi_arr[0])
    assert x_lo <= lo and hi < x_lo + x.shape[2], "split-part is missing input rows"
    rows = x[:, :, lo - x_lo : hi - x_lo + 1]
    if op.kind == "reorg":
        return fn.pixel_unshuffle(rows, op.s)
    # Zero padding (-inf for max) only where the window runs past the real border.
    fill = float("-inf") if op.kind == "maxpool" else 0.0
    rows = fn.pad(rows, (0, 0, lo - raw_lo, raw_hi - hi), value=fill)
    if op.kind == "maxpool":
        y = fn.max_pool2d(rows, op.f, op.s, padding=(0, op.p))
    else:
        assert isinstance(module, nn.Conv2d)
        y = fn.conv2d(rows, module.weight, module.bias, stride=op.s, padding=(0, op.p))
    return _activate(y, op.activation)


def _layer_rows(
    layer: Layer, modules: list[list[nn.Module]], x: torch.Tensor, x_lo: int, a: int, b: int
) -> torch.Tensor:
    outputs = []
    for branch, branch_modules in zip(layer.branches, modules, strict=True):
        if not branch:  # the identity shortcut of a residual block
            outputs.append(x[:, :, a - x_lo : b - x_lo + 1])
            continue
        # Rows each op must produce, from the last op back (the law inside the block).
        wanted = [(a, b)]
        for op in reversed(branch[1:]):
            lo, hi = op_input_rows(op, np.array([wanted[0][0]]), np.array([wanted[0][1]]))
            wanted.insert(0, (int(lo[0]), int(hi[0])))
        y, y_lo = x, x_lo
        for op, module, (oa, ob) in zip(branch, branch_modules, wanted, strict=True):
            y, y_lo = _op_rows(op, module, y, y_lo, oa, ob), oa
        outputs.append(y)
    return _merge(layer, outputs)


def run_split_part(
    model: TorchModel,
    first: int,
    last: int,
    x: torch.Tensor,
    x_lo: int,
    a: int,
    b: int,
    laps: list[float] | None = None,
) -> torch.Tensor:
    """Rows ``[a, b]`` of layer ``last``'s output, from input rows starting at ``x_lo``.

    ``x`` holds only the rows of layer ``first``'s input that the split-part needs. With
    ``laps``, the thread's CPU clock (``time.thread_time``) is appended after each layer
    (the per-layer diagnostic of ``distredge measure``).
    """
    wanted = _wanted_rows(model.spec, first, last, a, b)
    for index, (la, lb) in zip(range(first, last + 1), wanted, strict=True):
        layer = model.spec.layers[index]
        x, x_lo = _layer_rows(layer, model.modules_of(index), x, x_lo, la, lb), la
        if laps is not None:
            laps.append(time.thread_time())
    return x


def run_split_part_twice(
    model: TorchModel,
    first: int,
    last: int,
    x: torch.Tensor,
    x_lo: int,
    a: int,
    b: int,
    clock: Callable[[], float] = time.thread_time,
) -> tuple[torch.Tensor, list[float]]:
    """``run_split_part``, every layer computed twice in a row: the first result dropped,
    the second kept and timed with ``clock``; the output and each layer's timed seconds.

    The second run of a layer finds its weights and rows where the first left them, whatever
    the host did before (another process on the core, a sleep): the timing of the *twice*
    mode of ``distredge measure`` (``spatial.execution.TIMING`` says why).
    """
    seconds = []
    wanted = _wanted_rows(model.spec, first, last, a, b)
    for index, (la, lb) in zip(range(first, last + 1), wanted, strict=True):
        layer, modules = model.spec.layers[index], model.modules_of(index)
        _layer_rows(layer, modules, x, x_lo, la, lb)
        started = clock()
        x, x_lo = _layer_rows(layer, modules, x, x_lo, la, lb), la
        seconds.append(clock() - started)
    return x, seconds


def _wanted_rows(spec: ModelSpec, first: int, last: int, a: int, b: int) -> list[tuple[int, int]]:
    """Output rows of every layer ``first..last`` of a split-part with rows ``[a, b]``."""
    wanted = [(a, b)]
    for layer in reversed(spec.layers[first + 1 : last + 1]):
        lo, hi = layer_input_rows(layer, np.array([wanted[0][0]]), np.array([wanted[0][1]]))
        wanted.insert(0, (int(lo[0]), int(hi[0])))
    return wanted


def warm_split_part(
    model: TorchModel,
    first: int,
    last: int,
    x: torch.Tensor,
    x_lo: int,
    a: int,
    b: int,
    seconds: float = 0.0,
) -> None:
    """Warm the host up for a split-part: compute one output row of its first layer, drop
    it, and repeat until ``seconds`` of this thread's CPU time have passed (at least once).

    The arguments before ``seconds`` are ``run_split_part``'s. A part timed right after it
    does not pay for the state other processes left this core in while the worker slept
    (``spatial.execution.WARM_S`` says why and how much).
    """
    la, _ = _wanted_rows(model.spec, first, last, a, b)[0]
    layer, modules = model.spec.layers[first], model.modules_of(first)
    end = time.thread_time() + seconds
    _layer_rows(layer, modules, x, x_lo, la, la)
    while time.thread_time() < end:
        _layer_rows(layer, modules, x, x_lo, la, la)


def run_strategy(
    model: TorchModel,
    boundaries: Sequence[int],
    splits: Sequence[Sequence[int]],
    image: torch.Tensor,
) -> torch.Tensor:
    """Run every split-part on only its rows, stitch each volume's output, then the tail.

    ``boundaries`` are ``0 = b_0 < ... < b_L = num_layers``; ``splits[l]`` the sorted split
    decisions of volume ``l`` in ``[0, H]``. Empty split-parts are skipped.
    """
    x = image
    for volume, cuts in enumerate(splits):
        first, last = boundaries[volume], boundaries[volume + 1] - 1
        height = model.spec.layers[last].h_out
        starts, ends = cuts_to_intervals(np.asarray(cuts, dtype=np.int64), height)
        rows = volume_rows(model.spec.layers[first : last + 1], starts, ends)
        in_lo, in_hi = rows[-1]
        parts = []
        for k in range(len(starts)):
            if ends[k] < starts[k]:
                continue
            piece = x[:, :, int(in_lo[k]) : int(in_hi[k]) + 1]  # what device k receives
            parts.append(
                run_split_part(
                    model, first, last, piece, int(in_lo[k]), int(starts[k]), int(ends[k])
                )
            )
        x = torch.cat(parts, dim=2)
    return model.head(x)
