"""End-to-end latency of a strategy, one image at a time (seed 003, section V-A).

The timing, layer-volume by layer-volume (challenge 4 of section III-C, the dependency):

1. The requester sends each provider the image rows its first split-part needs, in device
   order. A send of ``bits`` from ``i`` to ``j`` occupies ``i``'s link for
   ``bits / B_i + overhead`` (sends share the sender's link) and arrives
   ``bits / min(B_i, B_j) + overhead`` after it starts (the slower link sets the pace).
2. A provider starts a split-part when it has finished its previous one and every row the
   part needs has arrived; the rows it computed itself are already there.
3. When it finishes, it sends each provider of the next volume the rows of its output that the
   next part needs (its sends share its link; it may compute while it sends: the paper runs
   computation, receiving and sending in three threads).
4. After the last volume, the fully-connected tail runs on the provider with the largest share
   of the last volume (the others send it their rows) and the result returns to the requester;
   a model without a tail returns every provider's rows to the requester.

:class:`Run` performs this one volume per :meth:`Run.step`, which is what the DDPG environment
(the MDP of Eq. 6-9) and the fast optimizer call; :func:`simulate` runs a whole strategy.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.spatial.geometry._geometry import (
    FloatArray,
    IntArray,
    cuts_to_intervals,
    volume_rows,
)
from splitexit.spatial.geometry._problem import Problem, Strategy

__all__ = ["Run", "SimResult", "simulate"]


@returned_type
@dataclass(frozen=True, eq=False)
class SimResult:
    """Latency of one image and where the time went (per provider)."""

    latency_s: float
    compute_s: FloatArray  # total computing seconds of each provider
    send_s: FloatArray  # total seconds each provider spent sending (overhead included)
    requester_send_s: float
    tail_device: int | None

    @property
    def ips(self) -> float:
        """Images per second: one image at a time, so ``1 / latency``."""
        return 1.0 / self.latency_s


@validate_params({"problem": [InstanceOf(Problem)], "boundaries": [InstanceOf(tuple, list)]})
class Run:
    """A simulation in progress: call :meth:`step` once per layer-volume, then :meth:`finish`.

    ``compute_free`` after a step is the paper's ``T_l``: when each provider has finished its
    split-parts so far (the accumulated latencies of Eq. 7).
    """

    def __init__(self, problem: Problem, boundaries: Sequence[int]):
        self.problem = problem
        self.boundaries = tuple(boundaries)
        d = problem.num_devices
        bw = problem.bandwidth.tolist()
        req = problem.cluster.requester_bandwidth
        self._bw = bw
        self._req_bw = req
        self._rate = [[min(bi, bj) for bj in bw] for bi in bw]
        self._req_rate = [min(bi, req) for bi in bw]
        self._overhead = problem.cluster.overhead_s
        self._devices = np.arange(d)
        self.volume = 0
        self.compute_free = np.zeros(d)
        self.link_free = [0.0] * d
        self.ready = [0.0] * d  # when each provider's rows of the previous volume are done
        self.requester_link_free = 0.0
        self.compute_s = np.zeros(d)
        self.send_s = np.zeros(d)
        self.requester_send_s = 0.0
        self._held: tuple[IntArray, IntArray] | None = None  # rows of the previous volume

    def copy(self) -> Run:
        """An independent copy of the state (to try several next steps from one prefix)."""
        other = copy.copy(self)
        other.compute_free = self.compute_free.copy()
        other.link_free = list(self.link_free)
        other.ready = list(self.ready)
        other.compute_s = self.compute_s.copy()
        other.send_s = self.send_s.copy()
        return other

    @property
    def done(self) -> bool:
        return self.volume == len(self.boundaries) - 1

    def step(self, cuts: Sequence[int] | IntArray) -> FloatArray:
        """Split the next layer-volume at ``cuts``; return every provider's finish time."""
        p = self.problem
        first, last = self.boundaries[self.volume], self.boundaries[self.volume + 1] - 1
        a, b = cuts_to_intervals(np.asarray(cuts, dtype=np.int64), p.height(last))
        rows = volume_rows(p.model.layers[first : last + 1], a, b)
        comp = np.zeros(len(a))
        for table, (lo, hi) in zip(p.volume_tables(first, last), rows[:-1], strict=True):
            comp += table[self._devices, np.maximum(hi - lo + 1, 0)]
        in_lo, in_hi = rows[-1][0].tolist(), rows[-1][1].tolist()
        needs = (b >= a).tolist()
        arrival = self._deliver(in_lo, in_hi, needs, p.input_row_bits(first))
        for k, busy in enumerate(needs):
            if busy:
                start = max(float(self.compute_free[k]), arrival[k])
                self.compute_free[k] = start + comp[k]
                self.compute_s[k] += comp[k]
        self.ready = self.compute_free.tolist()
        self._held = (a, b)
        self.volume += 1
        return self.compute_free.copy()

    def _deliver(
        self, in_lo: list[int], in_hi: list[int], needs: list[bool], row_bits: float
    ) -> list[float]:
        """Send every part its input rows; return when each part has all of them."""
        arrival = [0.0] * len(needs)
        ov = self._overhead
        if self._held is None:  # the first volume: the image comes from the requester
            t = self.requester_link_free
            for k, busy in enumerate(needs):
                if busy:
                    bits = (in_hi[k] - in_lo[k] + 1) * row_bits
                    dt = bits / self._req_rate[k] + ov
                    arrival[k] = t + dt
                    t += bits / self._req_bw + ov
                    self.requester_send_s += dt
            self.requester_link_free = t
            return arrival
        held_lo, held_hi = self._held[0].tolist(), self._held[1].tolist()
        for j in range(len(needs)):
            if held_hi[j] < held_lo[j]:
                continue
            t = max(self.link_free[j], self.ready[j])
            for k, busy in enumerate(needs):
                if k == j or not busy:
                    continue
                overlap = min(in_hi[k], held_hi[j]) - max(in_lo[k], held_lo[j]) + 1
                if overlap > 0:
                    dt = overlap * row_bits / self._rate[j][k] + ov
                    arrival[k] = max(arrival[k], t + dt)
                    t += overlap * row_bits / self._bw[j] + ov
                    self.send_s[j] += dt
            self.link_free[j] = t
        return arrival

    def finish(self) -> SimResult:
        """Gather the last volume, run the tail, return the result to the requester."""
        assert self.done and self._held is not None
        p = self.problem
        lo, hi = self._held
        counts = np.maximum(hi - lo + 1, 0).tolist()
        row_bits = float(p.out_row_bits[-1])
        tail_device: int | None = None
        if p.model.tail_pool != "none":
            m = int(np.argmax(counts))
            tail_device = m
            gathered = self.ready[m]
            for j, count in enumerate(counts):
                if j != m and count > 0:
                    dt = count * row_bits / self._rate[j][m] + self._overhead
                    t = max(self.link_free[j], self.ready[j])
                    self.link_free[j] = t + count * row_bits / self._bw[j] + self._overhead
                    self.send_s[j] += dt
                    gathered = max(gathered, t + dt)
            end = max(gathered, float(self.compute_free[m])) + float(p.tail_s[m])
            self.compute_s[m] += float(p.tail_s[m])
            dt = p.result_bits / self._req_rate[m] + self._overhead
            latency = max(self.link_free[m], end) + dt
            self.send_s[m] += dt
        else:
            latency = 0.0
            for j, count in enumerate(counts):
                if count > 0:
                    dt = count * row_bits / self._req_rate[j] + self._overhead
                    latency = max(latency, max(self.link_free[j], self.ready[j]) + dt)
                    self.send_s[j] += dt
        return SimResult(
            latency, self.compute_s.copy(), self.send_s.copy(), self.requester_send_s, tail_device
        )


@validate_params({"problem": [InstanceOf(Problem)], "strategy": [InstanceOf(Strategy)]})
def simulate(problem: Problem, strategy: Strategy) -> SimResult:
    """Latency and images per second of ``strategy`` (trusted; see ``check_strategy``)."""
    run = Run(problem, strategy.boundaries)
    for cuts in strategy.splits:
        run.step(cuts)
    return run.finish()
