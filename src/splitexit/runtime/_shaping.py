"""How a link's bandwidth becomes a kernel ``tbf`` qdisc on one veth end.

The topology's bandwidth is the rate at which a transfer's payload crosses the link (the
model charges ``bits / bandwidth`` for the payload's bits). ``tbf`` counts whole Ethernet
frames, and a bulk TCP segment on a 1500-byte MTU carries 1448 payload bytes in a 1514-byte
frame (20 IP + 32 TCP with timestamps + 14 Ethernet), so the qdisc's rate is the bandwidth
times 1514 / 1448 (``WIRE_PER_PAYLOAD``). Small messages pay their headers on top, as on a
real network.

The bucket (``burst``) must hold at least one frame; a larger one lets the first ``burst``
bytes of a transfer leave at once, which makes a 1 MB transfer look faster by burst / 1 MB.
``burst_bytes`` takes four frames or 0.5 ms at the wire rate, whichever is larger: 6 KB up
to 97 Mbit/s (0.6% of 1 MB), 13 KB at 200 Mbit/s (1.3%). The queue holds ``queue_s`` = 100 ms
at the wire rate (at least 16 frames); beyond it the kernel drops, as a router would.
"""

from __future__ import annotations

from dataclasses import dataclass

from splitexit.errors import InputError

__all__ = ["FRAME_BYTES", "WIRE_PER_PAYLOAD", "LinkShape", "burst_bytes", "tbf_args"]

FRAME_BYTES = 1514  # Ethernet header + 1500-byte MTU
_PAYLOAD_BYTES = 1448  # MTU - 20 (IPv4) - 32 (TCP with timestamps)
WIRE_PER_PAYLOAD = FRAME_BYTES / _PAYLOAD_BYTES


@dataclass(frozen=True)
class LinkShape:
    """One link: its name, payload rate (bit/s), propagation delay (s) and queue length (s)."""

    name: str
    bandwidth_bps: float
    latency_s: float
    queue_s: float = 0.1

    def __post_init__(self) -> None:
        if not self.bandwidth_bps >= 8_000 or not self.latency_s >= 0 or not self.queue_s > 0:
            raise InputError(
                f"{self.name}: bandwidth must be >= 8 kbit/s, latency >= 0 s and queue > 0 s, "
                f"got {self.bandwidth_bps:g} bit/s, {self.latency_s:g} s and {self.queue_s:g} s"
            )

    @property
    def wire_rate_bps(self) -> float:
        """The rate the kernel enforces on whole frames (bit/s)."""
        return self.bandwidth_bps * WIRE_PER_PAYLOAD


def burst_bytes(wire_rate_bps: float) -> int:
    """The token bucket's size: four frames or 0.5 ms at the wire rate, the larger.

    >>> burst_bytes(10e6), burst_bytes(200e6)
    (6056, 12500)
    """
    return max(4 * FRAME_BYTES, round(wire_rate_bps / 8 * 5e-4))


def tbf_args(shape: LinkShape) -> list[str]:
    """The ``tc qdisc add dev X root ...`` arguments that shape one direction of ``shape``.

    >>> tbf_args(LinkShape("l", 10e6, 0.0))
    ['tbf', 'rate', '10455801bit', 'burst', '6056', 'limit', '136754']
    """
    rate = shape.wire_rate_bps
    burst = burst_bytes(rate)
    limit = max(16 * FRAME_BYTES, round(rate / 8 * shape.queue_s)) + burst
    return ["tbf", "rate", f"{round(rate)}bit", "burst", str(burst), "limit", str(limit)]
