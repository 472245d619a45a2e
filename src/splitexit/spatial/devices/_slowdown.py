"""Emulating a slower device on this machine: CPU-time scaling.

A device ``slowdown`` times slower than this machine spends, on a piece of work,
``slowdown * c`` seconds, ``c`` being the CPU seconds its thread spent on it
(``time.thread_time``; torch runs on one thread in a worker). CPU time, not wall time: on
this shared 2-core machine a convolution's CPU time stayed 0.66 ms with four copies running
at once while its wall time stretched to 0.8-3.4 ms; wall time would put the other jobs'
interference into the emulated device (multiplied by ``slowdown``). When the machine cannot
keep up (the wall time exceeds ``slowdown * c``), the lateness is real: whoever waits for
the device's rows waits for them. The shape of latency against height stays the machine's
own (no staircase, unlike a CPU quota with a long period). ``slowdown = 1`` is the wall time.

:func:`timed` returns the emulated seconds without sleeping: the profile
(``measure_device(..., slowdown=R)``) records them, and an executing worker
(``distredge run``) is ready that long after it began, sleeping only when it next waits
(one wake-up per layer-volume; each wake-up on this loaded machine is late by about
0.7 ms in the median, 2 ms on average). :func:`slowed` sleeps them out at once.

>>> timed(lambda: 3, 1.0)[0]
3
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from splitexit._validation import Callable_, Interval, validate_params

__all__ = ["emulated_clock", "keep_heap", "no_gc", "slowed", "timed"]

T = TypeVar("T")


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """Python's garbage collector off inside the block (restored as it was)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# glibc's mallopt parameters (malloc.h) and the values keep_heap sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 32 << 20  # glibc's largest on 64-bit: HEAP_MAX_SIZE / 2
TRIM_THRESHOLD_BYTES = 1 << 30


def keep_heap() -> bool:
    """Keep the memory this process frees for its own next allocations (glibc's malloc).

    By default glibc serves a large block (from 128 KiB, a threshold it raises as such
    blocks are freed) with a fresh ``mmap`` and gives it back on ``free``, and trims the top
    of its heap: the next activation of the same size is fresh pages again, and the kernel
    zeroes each one on its first touch, a minor page fault charged to the thread's CPU time.
    The channel-reduced VGG-16's layers took 666 of them per executed chain on this machine
    and 1,935 per profile pass of one-layer parts (how many depends on what the process
    allocated before), and the profile charged a layer 4-11% more CPU time than the chain
    paid, 1-4% once the heap was kept (``benchmarks/bench_chain_context.py``).
    A board running a fixed network reuses its buffers; the zeroing is this host's, not the
    emulated device's. Sets the mmap threshold to 32 MiB and the trim threshold to 1 GiB
    (``mallopt``; a one-off for the process, which then holds on to what it freed);
    ``False`` where there is no glibc ``mallopt`` (another C library, or not Linux), and
    nothing is changed.
    """
    if not sys.platform.startswith("linux"):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def emulated_clock(slowdown: float) -> tuple[Callable[[], float], float]:
    """The clock :func:`timed` reads for ``slowdown`` and the factor on its seconds: the
    thread's CPU clock times ``slowdown``, or the wall clock (``slowdown <= 1``).

    >>> emulated_clock(8.0)[1]
    8.0
    """
    if slowdown <= 1.0:
        return time.perf_counter, 1.0
    return time.thread_time, slowdown


@validate_params({"work": [Callable_()], "slowdown": [Interval(float, 0, None, closed="neither")]})
def timed(work: Callable[[], T], slowdown: float) -> tuple[T, float]:
    """Run ``work``; its result and the seconds it takes on the emulated device.

    Python's garbage collector is off while ``work`` runs: a collection triggered by the
    worker's own bookkeeping (unpickled messages) is the host's, not the device's.
    """
    clock, factor = emulated_clock(slowdown)
    with no_gc():
        started = clock()
        result = work()
        seconds = clock() - started
    return result, factor * seconds


@validate_params({"work": [Callable_()], "slowdown": [Interval(float, 0, None, closed="neither")]})
def slowed(work: Callable[[], T], slowdown: float) -> T:
    """Run ``work``; return when the emulated device would have finished it."""
    started = time.perf_counter()
    result, seconds = timed(work, slowdown)
    remaining = started + seconds - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)
    return result
