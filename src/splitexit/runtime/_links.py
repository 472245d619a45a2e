"""Link emulation on the transfer path: propagation plus bits over bandwidth, serialized.

A transfer of ``b`` bits from tier ``i`` to tier ``j`` crosses the links between them one
after the other (store and forward). On each link it waits until the link is free (transfers
on one link leave in FIFO order: a token bucket filled at the link's rate with room for one
transfer), occupies it for ``b / bandwidth`` and then travels ``latency`` seconds. Alone on
its path it therefore arrives ``PL[i, j] + b * IB[i, j]`` after it left, which is what the
topology's path costs charge. Links are full duplex: each direction is its own queue.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from splitexit._validation import Callable_, InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.topology import Topology

__all__ = ["LinkEmulator", "LinkHop", "path_links"]


@validate_params(
    {
        "name": [InstanceOf(str)],
        "bandwidth_bps": [Interval(float, None, None)],
        "latency_s": [Interval(float, None, None)],
    }
)
@dataclass(frozen=True)
class LinkHop:
    """One direction of one link: its queue's name, rate (bit/s) and propagation delay (s)."""

    name: str
    bandwidth_bps: float
    latency_s: float

    def __post_init__(self) -> None:
        if not self.bandwidth_bps > 0 or not self.latency_s >= 0:
            raise InputError(
                f"link {self.name}: bandwidth must be > 0 and latency >= 0, got "
                f"{self.bandwidth_bps} bit/s and {self.latency_s} s"
            )


@validate_params(
    {
        "topology": [InstanceOf(Topology)],
        "a": [Interval(int, 0, None)],
        "b": [Interval(int, 0, None)],
    }
)
def path_links(topology: Topology, a: int, b: int) -> list[LinkHop]:
    """The links crossed from tier ``a`` to tier ``b`` (0-based) in the order crossed.

    >>> from splitexit.topology import load_topology
    >>> [hop.name for hop in path_links(load_topology("mobile"), 2, 0)]
    ['edge->smartphone', 'smartphone->smartwatch']
    """
    step = 1 if b >= a else -1
    hops = []
    for here in range(a, b, step):
        there = here + step
        link = topology.links[min(here, there)]
        name = f"{topology.tiers[here].name}->{topology.tiers[there].name}"
        hops.append(LinkHop(name, link.bandwidth, link.latency))
    return hops


@validate_params({"clock": [Callable_()]})
class LinkEmulator:
    """The links' queues as one process sees them; thread-safe.

    ``arrival(links, bits, now)`` reserves the links for a transfer that leaves at ``now``
    (seconds on ``clock``) and returns when it arrives; ``send(links, bits)`` sleeps until
    then and returns the delay it charged.

    >>> emu = LinkEmulator()
    >>> hop = LinkHop("a->b", 1e6, 0.01)
    >>> round(emu.arrival([hop], 1e4, now=0.0), 6), round(emu.arrival([hop], 1e4, now=0.0), 6)
    (0.02, 0.03)
    """

    def __init__(self, clock: object = time.monotonic) -> None:
        self._free_at: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def arrival(self, links: Sequence[LinkHop], bits: float, now: float) -> float:
        if bits < 0:
            raise InputError(f"a transfer carries >= 0 bits, got {bits}")
        t = now
        with self._lock:
            for hop in links:
                start = max(t, self._free_at.get(hop.name, t))
                done = start + bits / hop.bandwidth_bps
                self._free_at[hop.name] = done
                t = done + hop.latency_s
        return t

    def send(self, links: Sequence[LinkHop], bits: float) -> float:
        """Sleep until a transfer of ``bits`` that leaves now has crossed ``links``."""
        if not links:
            return 0.0
        now = time.monotonic()
        until = self.arrival(links, bits, now)
        sleep_until(until)
        return until - now


@validate_params({"deadline": [Interval(float, None, None)]})
def sleep_until(deadline: float) -> None:
    """Sleep until ``time.monotonic()`` reaches ``deadline`` (coarse sleep, then a short spin)."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(left - 2e-4 if left > 1e-3 else 0)
