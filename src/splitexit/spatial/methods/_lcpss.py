"""LC-PSS: Layer-Configuration based Partition Scheme Search (seed 003, Algorithm 1, Eq. 3-4).

The score of a partition scheme ``R_p`` is

    C_p = alpha * T / T_0 + (1 - alpha) * O / O_0                                   (Eq. 3)

averaged over ``|R_s^r|`` random split decisions (Eq. 4), where ``O`` counts the operations
of all split-parts (halo rows computed twice count twice) and ``T`` the bits the providers
receive (the image rows from the requester, the rows exchanged between layer-volumes, the
gathering of the last volume). The paper does not say how the two are brought to one scale.
We scale each to [0, 1] between the two extreme schemes, which is where each term is smallest
and largest: ``O`` runs from layer-by-layer (no halo is computed twice) to a single volume,
``T`` from a single volume (nothing is exchanged) to layer-by-layer. So
``O / O_0`` above stands for ``(O - O_lbl) / (O_one - O_lbl)`` and likewise for ``T``.

The greedy search starts from one volume; in every loop it looks, inside each current volume,
for the partition location that lowers the score most, adds the improving ones, and stops when
a loop adds none. Random decisions are drawn once per layer (common random numbers), so a
volume's terms depend only on where it starts and ends and are cached.
"""

from __future__ import annotations

import itertools

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.spatial.geometry._geometry import (
    FloatArray,
    IntArray,
    cuts_to_intervals,
    volume_rows,
)
from splitexit.spatial.geometry._problem import Problem

__all__ = ["PartitionScorer", "check_alpha", "lcpss"]


def check_alpha(alpha: object) -> float:
    """``alpha`` of Eq. 3 if it is a number in [0, 1], else :class:`InputError` naming it."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise InputError(f"alpha must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def _overlap(lo: IntArray, hi: IntArray, held_lo: IntArray, held_hi: IntArray) -> IntArray:
    """Rows of ``[lo, hi]`` (samples, D) held by each other provider: (samples, D, D)."""
    rows = np.minimum(hi[:, :, None], held_hi[:, None, :]) - np.maximum(
        lo[:, :, None], held_lo[:, None, :]
    )
    rows = np.maximum(rows + 1, 0)
    d = lo.shape[1]
    rows[:, np.arange(d), np.arange(d)] = 0  # a provider's own rows are not transferred
    return np.asarray(rows, dtype=np.int64)


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "alpha": [Interval(float, None, None)],
        "samples": [Interval(int, None, None)],
        "seed": [Interval(int, 0, None)],
    }
)
class PartitionScorer:
    """``C_p`` of Eq. 3 for any partition, averaged over fixed random split decisions."""

    def __init__(self, problem: Problem, *, alpha: float, samples: int, seed: int):
        check_alpha(alpha)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise InputError(f"samples must be an integer >= 1, got {samples!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputError(f"seed must be an integer, got {seed!r}")
        self.problem = problem
        self.alpha = alpha
        rng = np.random.default_rng(seed)
        d = problem.num_devices
        self._parts: list[tuple[IntArray, IntArray]] = []
        for layer in problem.model.layers:
            fractions = np.sort(rng.random((samples, d - 1)), axis=-1)
            cuts = np.rint(fractions * layer.h_out).astype(np.int64)
            self._parts.append(cuts_to_intervals(cuts, layer.h_out))
        self._cache: dict[tuple[int, int], tuple[FloatArray, FloatArray]] = {}
        self._gather = self._gather_bits()
        n = problem.num_layers
        o_one, t_one = self.terms((0, n))
        o_lbl, t_lbl = self.terms(tuple(range(n + 1)))
        self._o = (o_lbl, max(o_one - o_lbl, 1e-12))
        self._t = (t_one, max(t_lbl - t_one, 1e-12))

    def _gather_bits(self) -> FloatArray:
        a, b = self._parts[-1]
        rows = np.maximum(b - a + 1, 0)
        bits = rows * float(self.problem.out_row_bits[-1])
        if self.problem.model.tail_pool == "none":
            return np.asarray(bits.sum(axis=1), dtype=np.float64)
        keeper = np.argmax(rows, axis=1)
        kept = bits[np.arange(len(bits)), keeper]
        return np.asarray(bits.sum(axis=1) - kept + self.problem.result_bits, dtype=np.float64)

    def volume_terms(self, start: int, end: int) -> tuple[FloatArray, FloatArray]:
        """Operations and received bits of volume ``[start, end)``, per random decision."""
        key = (start, end)
        if key not in self._cache:
            layers = self.problem.model.layers[start:end]
            a, b = self._parts[end - 1]
            rows = volume_rows(layers, a, b)
            ops = np.zeros(a.shape[0])
            for layer, (lo, hi) in zip(layers, rows[:-1], strict=True):
                ops += layer.flops(lo, hi).sum(axis=1)
            in_lo, in_hi = rows[-1]
            row_bits = self.problem.input_row_bits(start)
            if start == 0:
                received = np.maximum(in_hi - in_lo + 1, 0).sum(axis=1) * row_bits
            else:
                held_lo, held_hi = self._parts[start - 1]
                received = _overlap(in_lo, in_hi, held_lo, held_hi).sum(axis=(1, 2)) * row_bits
            self._cache[key] = (ops, np.asarray(received, dtype=np.float64))
        return self._cache[key]

    def terms(self, boundaries: list[int] | tuple[int, ...]) -> tuple[float, float]:
        """Mean operations ``O`` and received bits ``T`` of a partition (unscaled)."""
        ops = np.zeros_like(self._gather)
        bits = self._gather.copy()
        for start, end in itertools.pairwise(boundaries):
            o, t = self.volume_terms(start, end)
            ops += o
            bits += t
        return float(ops.mean()), float(bits.mean())

    def score(self, boundaries: list[int] | tuple[int, ...]) -> float:
        """Mean ``C_p`` (Eq. 3-4) of a partition ``0 = b_0 < ... < b_L = num_layers``."""
        ops, bits = self.terms(boundaries)
        scaled_t = (bits - self._t[0]) / self._t[1]
        scaled_o = (ops - self._o[0]) / self._o[1]
        return self.alpha * scaled_t + (1 - self.alpha) * scaled_o


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "alpha": [Interval(float, None, None)],
        "samples": [Interval(int, None, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def lcpss(
    problem: Problem, *, alpha: float = 0.75, samples: int = 100, seed: int = 0
) -> tuple[int, ...]:
    """The partition scheme of Algorithm 1, as boundaries ``(0, ..., num_layers)``."""
    scorer = PartitionScorer(problem, alpha=alpha, samples=samples, seed=seed)
    scheme = [0, problem.num_layers]
    while True:
        base = scorer.score(scheme)
        added = set(scheme)
        for start, end in itertools.pairwise(scheme):
            if end - start < 2:
                continue
            options = list(range(start + 1, end))
            scores = [scorer.score(sorted([*scheme, j])) for j in options]
            best = int(np.argmin(scores))
            if scores[best] < base:
                added.add(options[best])
        if len(added) == len(scheme):
            return tuple(scheme)
        scheme = sorted(added)
