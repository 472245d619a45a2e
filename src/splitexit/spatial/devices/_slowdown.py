"""Emulating a slower device on this machine: CPU-time scaling by sleeping.

A device ``slowdown`` times slower than this machine runs a piece of work, measures the
CPU seconds ``c`` its thread spent on it (``time.thread_time``; torch runs on one thread in
a worker), then sleeps until ``slowdown * c`` of wall-clock time have passed since the work
began. The work costs ``slowdown * c`` whatever else runs on the machine, as long as the
contention stretches it by less than ``slowdown`` (on this shared 2-core machine, wall time
would multiply the other jobs' interference by ``slowdown``), and the shape of latency
against height stays the machine's own (no staircase, unlike a CPU quota with a long
period). ``slowdown = 1`` runs the work as it is. The same function times profiling
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
    """Run ``work``; then sleep until ``slowdown`` times its CPU seconds have passed."""
    if slowdown <= 1.0:
        return work()
    started, cpu = time.perf_counter(), time.thread_time()
    result = work()
    remaining = slowdown * (time.thread_time() - cpu) - (time.perf_counter() - started)
    if remaining > 0:
        time.sleep(remaining)
    return result
