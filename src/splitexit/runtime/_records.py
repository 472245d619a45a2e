"""What a run produces and how its clients run: records that never go missing.

``run_clients`` gives every sample exactly one record, delivered or failed with the reason,
also when a sample raises or a client thread stops.

>>> def one(i):
...     if i == 1:
...         raise ValueError("bad sample")
...     return SampleRecord(i, 0, "delivered")
>>> out = run_clients(3, 2, one, lambda i, why: SampleRecord(i, 0, "failed", reason=why))
>>> [(r.index, r.status, r.reason) for r in out]  # doctest: +NORMALIZE_WHITESPACE
[(0, 'delivered', None), (1, 'failed', 'client error: ValueError: bad sample'),
 (2, 'delivered', None)]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from splitexit._validation import returned_type
from splitexit.errors import InputError

__all__ = [
    "COMPUTE_MODES",
    "TRANSPORTS",
    "PartitionInfo",
    "SampleRecord",
    "check_run_settings",
    "run_clients",
]

# sleep: the worker sleeps to compute_ratio x its reference time; cpu-quota: the testbed
# confines the worker to 1 / compute_ratio of a core (the worker itself does not sleep);
# none: this machine's speed everywhere.
COMPUTE_MODES = ("sleep", "cpu-quota", "none")
# how samples travel between the driver, the workers and the sink: gRPC calls, or the same
# messages as frames on persistent TCP connections (runtime/_frames.py)
TRANSPORTS = ("grpc", "tcp")


@returned_type
@dataclass(frozen=True)
class PartitionInfo:
    """What a worker reported when it took its partition."""

    index: int  # 1-based
    tier: str
    address: str
    compute_ratio: float
    reference_s: float
    activation_bits: float | None
    result_bits: float


@returned_type
@dataclass
class SampleRecord:
    """One sample's fate: delivered with its exit and timings, or failed with the reason."""

    index: int
    label: int
    status: str  # delivered | failed
    reason: str | None = None
    prediction: int | None = None
    exit: int | None = None  # 1-based partition
    latency_s: float | None = None
    input_link_s: float = 0.0
    hops: list[dict[str, Any]] = field(default_factory=list)
    client: int | None = None  # 1-based client (thread) that sent it (run_clients)
    # when it left the driver and its result reached the destination: monotonic seconds in
    # the driver; the testbed's measurement counts them from the stream's first send
    sent_s: float | None = None
    received_s: float | None = None
    request_id: int = 0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("request_id")
        return out


def run_clients(
    count: int,
    clients: int,
    one: Callable[[int], SampleRecord],
    failed: Callable[[int, str], SampleRecord],
    progress: Callable[[], None] | None = None,
) -> list[SampleRecord]:
    """Samples ``0..count-1`` shared round-robin by ``clients`` threads, each one at a time.

    One record per sample, in order: ``one(i)``, or ``failed(i, reason)`` when ``one``
    raises (the client goes on) or the client's thread stops (its samples left fail). Each
    record's ``client`` is the 1-based client that had it (sample i: client i % clients + 1).
    Threads, not processes: a client mostly waits on its call (the GIL is released), and the
    sink that receives every result lives in this process."""
    if clients < 1:
        raise InputError(f"clients must be >= 1, got {clients}")
    shares = [list(range(c, count, clients)) for c in range(clients)]
    records: list[SampleRecord | None] = [None] * count
    stopped = [""] * clients

    def client(c: int) -> None:
        try:
            for i in shares[c]:
                try:
                    record = one(i)
                except Exception as error:  # a bug or a broken input: this sample fails
                    record = failed(i, f"client error: {_why(error)}")
                record.client = c + 1
                records[i] = record
                if progress is not None:
                    progress()
        except BaseException as error:  # the thread stops; its samples left fail below
            stopped[c] = _why(error)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out = []
    for i, record in enumerate(records):
        if record is None:
            c = i % clients
            why = stopped[c] or "the client thread ended early"
            record = failed(i, f"client {c + 1} stopped: {why}")
            record.client = c + 1
        out.append(record)
    return out


def _why(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def check_run_settings(
    compute_mode: str, transport: str, deadline_s: float, ready_timeout_s: float = 30.0
) -> None:
    """The settings a chain and the testbed share, checked once for both."""
    if compute_mode not in COMPUTE_MODES:
        raise InputError(
            f"compute mode must be one of {', '.join(COMPUTE_MODES)}, got {compute_mode!r}"
        )
    if transport not in TRANSPORTS:
        raise InputError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
    if deadline_s <= 0:
        raise InputError(f"the deadline must be > 0 s, got {deadline_s:g}")
    if not ready_timeout_s > 0:
        raise InputError(f"the readiness timeout must be > 0 s, got {ready_timeout_s:g}")
