"""Measuring a device table on this machine with PyTorch (imports torch).

For every layer and every height ``h`` in ``granularity, 2*granularity, ..., H`` (``H``
always included) the layer computes output rows ``[0, h)`` from exactly the input rows the
Vertical-Splitting Law gives, batch size 1, with the same split-part code as the geometry
proof; the median of ``repeats`` runs after ``warmup`` runs is kept. The FC tail is timed
whole. The paper profiles with granularity 1 on TensorRT; a coarser granularity is read back
with linear interpolation (or k-nearest-neighbours).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np
import torch

from splitexit.errors import InputError
from splitexit.spatial.devices._devices import TableDevice
from splitexit.spatial.devices._slowdown import timed
from splitexit.spatial.geometry._geometry import ModelSpec, layer_input_rows
from splitexit.spatial.geometry._torch import TorchModel, run_split_part

__all__ = ["measure_device"]


def _median_seconds(
    run: Callable[[], object],
    warmup: int,
    repeats: int,
    slowdown: float = 1.0,
    flush: np.ndarray | None = None,
) -> float:
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        if flush is not None:  # evict the layer's weights and rows, as a chained run does
            flush += 1.0
        times.append(timed(run, slowdown)[1])
    return statistics.median(times)


def measure_device(
    model: ModelSpec,
    *,
    name: str,
    granularity: int = 8,
    repeats: int = 3,
    warmup: int = 1,
    threads: int = 1,
    progress: Callable[[str], None] | None = None,
    slowdown: float = 1.0,
    seed: int = 0,
    flush_bytes: int = 0,
) -> TableDevice:
    """Time every layer of ``model`` at several heights on this machine.

    ``slowdown`` emulates a slower device the way ``distredge run`` does (see ``timed``);
    ``flush_bytes`` > 0 writes a buffer that large before each timed run, so that a layer is
    not timed with its weights and input still in cache from the previous repetition (in a
    chained run the other layers have evicted them; without it the per-layer times of a
    channel-reduced VGG-16 summed to 5-25% less than the whole model's run here).
    """
    flush = np.zeros(flush_bytes // 8) if flush_bytes > 0 else None
    for option, value, low in (("granularity", granularity, 1), ("repeats", repeats, 1),
                               ("warmup", warmup, 0), ("threads", threads, 1)):  # fmt: skip
        if value < low:
            raise InputError(f"{option} must be >= {low}, got {value}")
    torch.set_num_threads(threads)
    net = TorchModel(model, seed=seed).eval()
    heights_all, seconds_all = [], []
    with torch.inference_mode():
        x = torch.randn(1, model.c_in, model.h_in, model.w_in)
        for index, layer in enumerate(model.layers):
            heights = sorted({*range(granularity, layer.h_out, granularity), layer.h_out})
            seconds = []
            for h in heights:
                lo, hi = layer_input_rows(layer, np.array([0]), np.array([h - 1]))
                piece = x[:, :, int(lo[0]) : int(hi[0]) + 1].contiguous()

                def run(
                    piece: torch.Tensor = piece, start: int = int(lo[0]), h: int = h, i: int = index
                ) -> object:
                    return run_split_part(net, i, i, piece, start, 0, h - 1)

                seconds.append(_median_seconds(run, warmup, repeats, slowdown, flush))
            heights_all.append(tuple(heights))
            seconds_all.append(tuple(seconds))
            if progress is not None:
                whole = seconds[-1] * 1e3
                progress(f"{layer.name}: {len(heights)} heights, whole layer {whole:.2f} ms")
            x = run_split_part(net, index, index, x, 0, 0, layer.h_out - 1)
        tail = (
            _median_seconds(lambda: net.head(x), warmup, repeats, slowdown, flush)
            if model.tail_fc
            else 0.0
        )
    return TableDevice(
        name=name,
        model_name=model.name,
        layer_names=tuple(layer.name for layer in model.layers),
        heights=tuple(heights_all),
        seconds=tuple(seconds_all),
        tail_s=tail,
        source=f"measured {name}",
    )
