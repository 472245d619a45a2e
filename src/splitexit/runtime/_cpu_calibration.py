"""How much slower a piece of work really runs under a CPU quota, against the target ratio.

:func:`calibrate_quota` forks a child that runs ``work`` first freely (the reference: CPU
time per call, which another process's load on this machine does not inflate), then, moved by
the parent into a cgroup with the quota for ``ratio``, as many times again (wall time per
call). The effective slowdown is the mean confined wall time over the mean reference CPU
time; a faithful quota makes it ``ratio``. Calls back to back (``gap_s = 0``) see the
long-run share; with idle gaps each call starts with a full period's budget, so short calls
come out faster than ``ratio`` by up to one quota.

Build what ``work`` needs (an ONNX Runtime session, say) lazily inside it, so that it is
created in the child after the fork.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from splitexit.errors import InputError, SplitexitError
from splitexit.runtime._cgroup import DEFAULT_PERIOD_US, CpuLimits, CpuQuota, quota_for

__all__ = ["QuotaCalibration", "calibrate_quota", "effective_slowdowns"]


@dataclass(frozen=True)
class QuotaCalibration:
    """The effective slowdown of ``calls`` calls under ``quota`` against the target ``ratio``."""

    ratio: float
    quota: CpuQuota
    calls: int
    reference_s: float  # mean CPU time of a free call
    reference_wall_s: float  # mean wall time of a free call
    confined_s: float  # mean wall time of a confined call
    confined_cpu_s: float  # mean CPU time of a confined call
    confined_p50_s: float
    confined_max_s: float

    @property
    def slowdown(self) -> float:
        """Mean confined wall time over mean free CPU time."""
        return self.confined_s / self.reference_s

    @property
    def stretch(self) -> float:
        """Mean confined wall time over mean confined CPU time: the quota's own effect on the
        same calls, less sensitive than :attr:`slowdown` to CPU-time noise between phases."""
        return self.confined_s / self.confined_cpu_s

    @property
    def error(self) -> float:
        """Relative error of the slowdown against ``ratio`` (0.03 is 3% too slow)."""
        return self.slowdown / self.ratio - 1


def _timed(work: Callable[[], object], calls: int, gap_s: float) -> tuple[list[float], list[float]]:
    cpu, wall = [], []
    for _ in range(calls):
        if gap_s:
            time.sleep(gap_s)
        c0, w0 = time.process_time(), time.perf_counter()
        work()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return cpu, wall


def _child(
    work: Callable[[], object], calls: int, warmup: int, gap_s: float, io: tuple[int, ...]
) -> None:
    ready_w, go_r, out_w = io
    _timed(work, warmup, 0.0)
    ref_cpu, ref_wall = _timed(work, calls, gap_s)
    os.write(ready_w, b"r")
    os.read(go_r, 1)  # the parent has moved this process into the group
    cpu, wall = _timed(work, calls, gap_s)
    os.write(out_w, json.dumps([ref_cpu, ref_wall, cpu, wall], allow_nan=False).encode())


def calibrate_quota(
    work: Callable[[], object],
    ratio: float,
    *,
    limits: CpuLimits,
    tier: str = "calibration",
    period_us: int = DEFAULT_PERIOD_US,
    calls: int = 10,
    warmup: int = 2,
    gap_s: float = 0.0,
) -> QuotaCalibration:
    """Run ``work`` ``calls`` times free, then under the quota for ``ratio``; compare.

    >>> with CpuLimits() as limits:  # doctest: +SKIP
    ...     result = calibrate_quota(lambda: sum(range(300_000)), 4, limits=limits)
    ...     print(f"{result.slowdown:.2f}x against 4x")
    """
    if calls < 1 or warmup < 0 or gap_s < 0:
        raise InputError(
            f"calls must be >= 1, warmup >= 0 and gap_s >= 0, got {calls}, {warmup}, {gap_s}"
        )
    quota = quota_for(ratio, period_us=period_us)
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into the caller's stack, never run its exit hooks
        code = 0
        try:
            _child(work, calls, warmup, gap_s, (ready_w, go_r, out_w))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    for fd in (ready_w, go_r, out_w):
        os.close(fd)
    try:
        if os.read(ready_r, 1) != b"r":
            raise SplitexitError("calibrate_quota: the work failed in the child before confinement")
        limits.confine(pid, tier, quota)
        os.write(go_w, b"g")
        chunks = []
        while chunk := os.read(out_r, 1 << 16):
            chunks.append(chunk)
    finally:
        for fd in (ready_r, go_w, out_r):
            os.close(fd)
        _, status = os.waitpid(pid, 0)
    if not chunks or os.waitstatus_to_exitcode(status) != 0:
        raise SplitexitError("calibrate_quota: the work failed in the child under the quota")
    ref_cpu, ref_wall, cpu, wall = json.loads(b"".join(chunks))
    return QuotaCalibration(
        ratio=ratio,
        quota=quota,
        calls=calls,
        reference_s=statistics.fmean(ref_cpu),
        reference_wall_s=statistics.fmean(ref_wall),
        confined_s=statistics.fmean(wall),
        confined_cpu_s=statistics.fmean(cpu),
        confined_p50_s=statistics.median(wall),
        confined_max_s=max(wall),
    )


def effective_slowdowns(
    partitions: Sequence[Mapping[str, Any]], samples: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each partition's effective slowdown in a testbed run, against its ``compute_ratio``.

    ``partitions`` and ``samples`` are a ``splitexit.measurement/1`` mapping's lists. The
    slowdown is the mean time a partition held its tier per sample (``busy_s``: the compute
    under the quota, or stretched by the sleep) over its unconfined ``reference_s`` (timed at
    deploy, before any quota); ``error`` is relative to the ratio (0.03: 3% too slow).

    >>> parts = [{"index": 1, "tier": "pi", "compute_ratio": 4.0, "reference_s": 0.01}]
    >>> rows = [{"hops": [{"partition": 1, "busy_s": 0.041}]}]
    >>> [round(r["slowdown"], 2) for r in effective_slowdowns(parts, rows)]
    [4.1]
    """
    report = []
    for part in partitions:
        busy = [
            float(hop["busy_s"])
            for row in samples
            for hop in row.get("hops") or []
            if int(hop["partition"]) == int(part["index"])
        ]
        reference = float(part["reference_s"])
        ratio = float(part["compute_ratio"])
        slowdown = statistics.fmean(busy) / reference if busy and reference > 0 else None
        report.append(
            {
                "partition": int(part["index"]),
                "tier": part["tier"],
                "compute_ratio": ratio,
                "reference_s": reference,
                "samples": len(busy),
                "mean_busy_s": statistics.fmean(busy) if busy else None,
                "slowdown": slowdown,
                "error": None if slowdown is None else slowdown / max(ratio, 1.0) - 1,
            }
        )
    return report
