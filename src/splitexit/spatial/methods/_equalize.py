"""Equal-finish splitting of one layer-volume, for any model of a provider's finish time.

Providers take the rows of a volume in order (provider ``k`` gets ``[x_k, x_{k+1})``, Eq. 6).
For a target time ``t`` a greedy pass gives each provider in turn as many rows as it can finish
by ``t``; bisection finds the smallest ``t`` for which the pass covers all ``H`` rows, so the
busy providers finish together. The finish-time model is pluggable:

- :class:`LinearFinish`, the linear models of CoEdge and AOFL (operations over a capability,
  bits over a bandwidth, nothing else), and
- ``ExactFinish`` in ``_fast.py``, the simulator's own timing on the non-linear tables.

A model may depend on the rows already given to earlier providers (senders' links are shared
in device order), hence ``reset`` and ``commit``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.spatial.geometry._geometry import FloatArray, IntArray, Layer, volume_rows

__all__ = ["FinishModel", "LinearFinish", "equal_finish_cuts"]


@runtime_checkable
class FinishModel(Protocol):
    """Predicted finish time of provider ``k`` computing rows ``[start, stop)``."""

    def reset(self) -> None: ...

    def finish(self, k: int, start: int, stops: IntArray) -> FloatArray:
        """One time per candidate ``stop`` (``stop == start`` is an empty part)."""
        ...

    def commit(self, k: int, start: int, stop: int) -> None: ...


def _greedy(model: FinishModel, height: int, devices: int, t: float) -> tuple[list[int], bool]:
    model.reset()
    cuts, start = [], 0
    for k in range(devices - 1):
        stops = np.arange(start, height + 1, dtype=np.int64)
        ok = np.flatnonzero(model.finish(k, start, stops) <= t)
        stop = int(stops[ok[-1]]) if ok.size else start
        model.commit(k, start, stop)
        cuts.append(stop)
        start = stop
    if start == height:
        return cuts, True
    last = model.finish(devices - 1, start, np.array([height], dtype=np.int64))
    return cuts, bool(last[0] <= t)


@validate_params(
    {
        "model": [InstanceOf(FinishModel)],
        "height": [Interval(int, 0, None)],
        "devices": [Interval(int, 1, None)],
        "iterations": [Interval(int, 1, None)],
    }
)
def equal_finish_cuts(
    model: FinishModel, height: int, devices: int, *, iterations: int = 40
) -> tuple[int, ...]:
    """Split decisions making the providers finish together under ``model``."""
    if devices == 1:
        return ()
    everything = np.array([height], dtype=np.int64)
    model.reset()
    alone = [float(model.finish(k, 0, everything)[0]) for k in range(devices)]
    lo = 0.0
    # One provider alone bounds the answer; the slowest bound is always feasible (provider 0
    # takes every row), the fastest usually is and saves bisection steps.
    finite = [t for t in alone if np.isfinite(t)]
    for hi in (min(finite) * (1 + 1e-9), max(finite) * (1 + 1e-9)):
        best, feasible = _greedy(model, height, devices, hi)
        if feasible:
            break
    if not feasible:  # a non-monotone model: fall back to the best single provider
        k = int(np.argmin(alone))
        return tuple([0] * k + [height] * (devices - 1 - k))
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        cuts, ok = _greedy(model, height, devices, mid)
        if ok:
            hi, best = mid, cuts
        else:
            lo = mid
        if hi - lo <= 1e-7 * hi:
            break
    return tuple(best)


@validate_params(
    {
        "layers": [InstanceOf(tuple, list)],
        "capability": [InstanceOf(np.ndarray)],
        "bandwidth": [InstanceOf(np.ndarray)],
        "in_row_bits": [Interval(float, 0, None)],
    }
)
class LinearFinish:
    """The baselines' linear model: ``ops / capability_k + input_bits / bandwidth_k``.

    No I/O overhead, no waiting for earlier volumes, no shared links: what CoEdge [64] and
    AOFL [71] assume, per seed 003, section II-B.
    """

    def __init__(
        self,
        layers: tuple[Layer, ...],
        capability: FloatArray,
        bandwidth: FloatArray,
        in_row_bits: float,
    ):
        self.layers = layers
        self.capability = capability
        self.bandwidth = bandwidth
        self.in_row_bits = in_row_bits
        self._table: tuple[FloatArray, IntArray] | None = None

    def reset(self) -> None:
        pass

    def commit(self, k: int, start: int, stop: int) -> None:
        pass

    def _matrices(self) -> tuple[FloatArray, IntArray]:
        # Operations and input rows of every part [c, x), all at once (upper triangle used).
        if self._table is None:
            height = self.layers[-1].h_out
            grid = np.arange(height + 1, dtype=np.int64)
            a = np.broadcast_to(grid[:, None], (height + 1, height + 1))
            b = np.broadcast_to(grid[None, :] - 1, (height + 1, height + 1))
            rows = volume_rows(self.layers, a, b)
            flops = np.zeros(a.shape)
            for layer, (lo, hi) in zip(self.layers, rows[:-1], strict=True):
                flops += layer.flops(lo, hi)
            self._table = (flops, np.maximum(rows[-1][1] - rows[-1][0] + 1, 0))
        return self._table

    def finish(self, k: int, start: int, stops: IntArray) -> FloatArray:
        flops, in_rows = self._matrices()
        times: FloatArray = (
            flops[start, stops] / self.capability[k]
            + in_rows[start, stops] * self.in_row_bits / self.bandwidth[k]
        )
        return np.where(stops > start, times, 0.0)
