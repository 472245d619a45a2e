"""How a link's bandwidth becomes a kernel ``tbf`` qdisc on one veth end.

The topology's bandwidth is the rate at which a transfer's payload crosses the link (the
model charges ``bits / bandwidth`` for the payload's bits). ``tbf`` counts whole Ethernet
frames, and a bulk TCP segment on a 1500-byte MTU carries 1448 payload bytes in a 1514-byte
frame (20 IP + 32 TCP with timestamps + 14 Ethernet), so the qdisc's rate is the bandwidth
times 1514 / 1448 (``WIRE_PER_PAYLOAD``). Small messages pay their headers on top, as on a
real network.

The bucket (``burst``) must hold at least one frame, and whatever it holds leaves at veth
speed when the link has been idle: a token bucket spaces frames at the rate but does not
delay the first ones, so a message of w wire bytes that finds the bucket full arrives after
(w - burst) / rate, not w / rate (measured: 800 bytes over 500 kbit/s in 0.1 ms, where a
real link takes 12.8 ms). ``burst_bytes`` is therefore as small as works: one frame where a
frame takes at least 0.5 ms at the wire rate (up to 23 Mbit/s), else four frames or 0.5 ms,
the larger (6 KB up to 97 Mbit/s, 13 KB at 200 Mbit/s; smaller buckets lost throughput at
50 Mbit/s and above). What the bucket still skips, ``ReceiveCharge`` adds back at the
receiver, as the propagation is: min(w, burst) / rate per link crossed (``bucket_credit_s``),
exact for a message that finds the bucket full (one sample in flight: every link is idle
when a message starts) and up to burst / rate too much for one that queued behind another.
The queue holds ``queue_s`` = 100 ms at the wire rate (at least 16 frames); beyond it the
kernel drops, as a router would.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from splitexit.errors import InputError

__all__ = [
    "FRAME_BYTES",
    "MESSAGE_FRAMING_BYTES",
    "WIRE_PER_PAYLOAD",
    "LinkShape",
    "ReceiveCharge",
    "bucket_credit_s",
    "burst_bytes",
    "tbf_args",
    "wire_bytes",
]

FRAME_BYTES = 1514  # Ethernet header + 1500-byte MTU
_PAYLOAD_BYTES = 1448  # MTU - 20 (IPv4) - 32 (TCP with timestamps)
WIRE_PER_PAYLOAD = FRAME_BYTES / _PAYLOAD_BYTES
# what a message carries beyond its protobuf body, about: gRPC's 5-byte prefix, an HTTP/2
# DATA frame header (9) and the call's HPACK-compressed HEADERS frame (~50 after the first)
MESSAGE_FRAMING_BYTES = 64


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
    """The token bucket's size: one frame where a frame takes at least 0.5 ms at the wire
    rate, else four frames or 0.5 ms at the wire rate, the larger.

    >>> burst_bytes(524e3), burst_bytes(10e6), burst_bytes(50e6), burst_bytes(200e6)
    (1514, 1514, 6056, 12500)
    """
    if FRAME_BYTES * 8 / wire_rate_bps >= 5e-4:
        return FRAME_BYTES
    return max(4 * FRAME_BYTES, round(wire_rate_bps / 8 * 5e-4))


def wire_bytes(payload_bytes: int) -> int:
    """Bytes on the wire for a TCP payload of ``payload_bytes``: 66 of headers per frame.

    >>> wire_bytes(800), wire_bytes(1448), wire_bytes(1449)
    (866, 1514, 1581)
    """
    frames = max(1, math.ceil(payload_bytes / _PAYLOAD_BYTES))
    return payload_bytes + frames * (FRAME_BYTES - _PAYLOAD_BYTES)


def bucket_credit_s(wire_rate_bps: float, burst: int, payload_bytes: int) -> float:
    """What a full bucket of ``burst`` bytes lets a message skip on one link (s): its first
    min(wire bytes, burst) bytes leave at once instead of at the wire rate.

    >>> round(bucket_credit_s(524e3, 1514, 800) * 1e3, 2)  # all of it: a sub-frame message
    13.22
    >>> round(bucket_credit_s(524e3, 1514, 30_000) * 1e3, 2)  # one frame of a long one
    23.11
    """
    return min(wire_bytes(payload_bytes), burst) * 8 / wire_rate_bps


@dataclass(frozen=True)
class ReceiveCharge:
    """What the receiver of a message adds on kernel-shaped links, from its arrival: the
    propagation of the links crossed (no netem here) and each link's bucket credit.

    ``buckets`` holds (wire rate bit/s, burst bytes) per link crossed.

    >>> charge = ReceiveCharge(0.006, ((524e3, 1514),))
    >>> round(charge.seconds(800 - MESSAGE_FRAMING_BYTES) * 1e3, 2)
    19.22
    """

    delay_s: float = 0.0
    buckets: tuple[tuple[float, int], ...] = ()

    def __post_init__(self) -> None:
        if not self.delay_s >= 0 or not all(r > 0 and b > 0 for r, b in self.buckets):
            raise InputError(
                f"a receive charge needs a delay >= 0 s and buckets of rate > 0 and burst > 0, "
                f"got {self.delay_s!r} s and {self.buckets!r}"
            )

    @classmethod
    def of_path(cls, shapes: Sequence[LinkShape]) -> ReceiveCharge:
        """The charge of a path crossing ``shapes`` (its propagation and its buckets)."""
        return cls(
            sum(s.latency_s for s in shapes),
            tuple((s.wire_rate_bps, burst_bytes(s.wire_rate_bps)) for s in shapes),
        )

    def seconds(self, body_bytes: int) -> float:
        """The charge of a message whose protobuf body is ``body_bytes`` long (s)."""
        payload = body_bytes + MESSAGE_FRAMING_BYTES
        return self.delay_s + sum(bucket_credit_s(r, b, payload) for r, b in self.buckets)

    def to_env(self) -> str:
        """``delay;rate:burst,rate:burst`` (``from_env`` reads it back)."""
        return f"{self.delay_s!r};" + ",".join(f"{r!r}:{b}" for r, b in self.buckets)

    @classmethod
    def from_env(cls, raw: str) -> ReceiveCharge:
        """Read ``to_env``'s text; a bare number is a delay without buckets.

        >>> ReceiveCharge.from_env(ReceiveCharge(0.01, ((1e6, 1514),)).to_env())
        ReceiveCharge(delay_s=0.01, buckets=((1000000.0, 1514),))
        """
        delay, _, buckets = raw.partition(";")
        try:
            pairs = [item.split(":") for item in buckets.split(",") if item.strip()]
            return cls(
                float(delay) if delay.strip() else 0.0,
                tuple((float(r), int(b)) for r, b in pairs),
            )
        except ValueError:
            raise InputError(
                f"a receive charge must read 'delay;rate:burst,...' (seconds, bit/s, bytes), "
                f"got {raw!r}"
            ) from None


def tbf_args(shape: LinkShape) -> list[str]:
    """The ``tc qdisc add dev X root ...`` arguments that shape one direction of ``shape``.

    >>> tbf_args(LinkShape("l", 10e6, 0.0))
    ['tbf', 'rate', '10455801bit', 'burst', '1514', 'limit', '132212']
    """
    rate = shape.wire_rate_bps
    burst = burst_bytes(rate)
    limit = max(16 * FRAME_BYTES, round(rate / 8 * shape.queue_s)) + burst
    return ["tbf", "rate", f"{round(rate)}bit", "burst", str(burst), "limit", str(limit)]
