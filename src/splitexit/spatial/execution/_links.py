"""The link charges of one image, the simulator's (``geometry._simulator``) to the letter.

A transfer of ``bits`` from ``i`` to ``j`` that starts at ``t`` is delivered at
``t + bits / min(B_i, B_j) + overhead`` and keeps ``i``'s link busy until
``t + bits / B_i + overhead``; a sender's transfers leave one after another in device order.
The executor does not shape the loopback pipe: it stamps each message with its delivery
time and the receiver waits until then (``wait_until``) before using the rows. A worker's
split-part starts on the emulated clock at the stamp, whenever the host actually woke it
up, so a transfer between providers costs exactly the simulator's time. Only the requester
reads the wall clock: the last delivery to it is used ``pipe_s`` late (transit and wake-up,
measured in place under the current load, ``ExecutionPool.measure_pipe``); that much of its
overhead is paid for real, so its stamp charges only the rest, ``max(overhead - pipe_s,
0)``. (Before, every transfer's stamp was shortened so, although only the last one's
lateness is paid: the emulated image ran ``pipe_s`` faster per transfer on its critical
path than the simulator's.)

>>> links = Links((100e6, 50e6), 400e6, 0.002, 8.0, (16.0,), 16.0)
>>> round(links.transfer(0, 1, 1e6)[0], 4)
0.022
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.spatial.geometry._problem import Problem

__all__ = ["REQUESTER", "Links", "links_of", "wait_until"]

REQUESTER = -1


@returned_type
@dataclass(frozen=True)
class Links:
    """Bandwidths (bit/s), overhead (s) and the bits of a row of every map (picklable)."""

    bandwidth: tuple[float, ...]
    requester_bandwidth: float
    overhead_s: float
    in_row_bits: float
    out_row_bits: tuple[float, ...]
    result_bits: float
    pipe_s: float = 0.0

    def _bw(self, device: int) -> float:
        return self.requester_bandwidth if device == REQUESTER else self.bandwidth[device]

    def transfer(self, src: int, dst: int, bits: float) -> tuple[float, float]:
        """(seconds until delivered, seconds the sender's link is busy) of one transfer."""
        rate = min(self._bw(src), self._bw(dst))
        paid = self.pipe_s if dst == REQUESTER else 0.0  # see the module docstring
        stamp = max(self.overhead_s - paid, 0.0)
        return bits / rate + stamp, bits / self._bw(src) + self.overhead_s

    def row_bits(self, layer: int) -> float:
        """Bits of one row of layer ``layer``'s input (``len`` layers: the last output)."""
        return self.in_row_bits if layer == 0 else self.out_row_bits[layer - 1]


@validate_params({"problem": [InstanceOf(Problem)], "pipe_s": [Interval(float, 0, None)]})
def links_of(problem: Problem, pipe_s: float = 0.0) -> Links:
    """The link constants the simulator uses for ``problem``."""
    return Links(
        tuple(float(b) for b in problem.bandwidth),
        float(problem.cluster.requester_bandwidth),
        float(problem.cluster.overhead_s),
        float(problem.in_row_bits),
        tuple(float(b) for b in problem.out_row_bits),
        float(problem.result_bits),
        pipe_s,
    )


def wait_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline`` (shared by all processes)."""
    delay = deadline - time.monotonic()
    if delay > 0:
        time.sleep(delay)
