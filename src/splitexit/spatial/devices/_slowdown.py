"""Emulating a slower device on this machine: CPU-time scaling by sleeping.

A device ``slowdown`` times slower than this machine runs a piece of work, measures the
seconds ``c`` it took, then sleeps ``(slowdown - 1) * c``: the work costs ``slowdown * c`` of
wall-clock time, and the shape of latency against height stays the machine's own (no
staircase, unlike a CPU quota with a long period). The same function times profiling
(``measure_device(..., slowdown=R)``) and execution (``distredge run``), so a device is
profiled with the mechanism it runs under.

>>> slowed(lambda: 3, 1.0)
3
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["slowed"]

T = TypeVar("T")


def slowed(work: Callable[[], T], slowdown: float) -> T:
    """Run ``work`` and then sleep ``(slowdown - 1)`` times the seconds it took."""
    if slowdown <= 1.0:
        return work()
    started = time.perf_counter()
    result = work()
    time.sleep((slowdown - 1.0) * (time.perf_counter() - started))
    return result
