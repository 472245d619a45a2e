"""CPU-quota stretch: a worker process confined to 1/R of a core by the cgroup v1 ``cpu``
controller (CFS bandwidth control), instead of the default sleep-based stretch.

The kernel lets the group run ``quota`` microseconds in every ``period``. That is faithful to
a tier R times slower on average over many periods; a call much shorter than the period
runs at full speed until the group's budget is spent and then waits for the next period, so
per-call latency is bursty (docs/runtime.md). Needs root and a cgroup v1 ``cpu`` hierarchy.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from splitexit.errors import InputError

__all__ = ["CGROUP_CPU_ROOT", "CpuQuota", "confine", "quota_for", "release"]

CGROUP_CPU_ROOT = Path("/sys/fs/cgroup/cpu")
_MIN_QUOTA_US = 1_000  # the kernel refuses a smaller quota
_MAX_PERIOD_US = 1_000_000


@dataclass(frozen=True)
class CpuQuota:
    """``quota_us`` of CPU time in every ``period_us``: a 1 / ratio share of one core."""

    period_us: int
    quota_us: int


def quota_for(ratio: float, *, period_us: int = 100_000) -> CpuQuota:
    """The CFS quota that makes a process ``ratio`` times slower than one free core.

    The period grows when ``period_us / ratio`` would fall below the kernel's 1 ms minimum.

    >>> quota_for(4), quota_for(500)
    (CpuQuota(period_us=100000, quota_us=25000), CpuQuota(period_us=500000, quota_us=1000))
    """
    if not ratio >= 1:
        raise InputError(
            f"the CPU-quota stretch slows a tier down; its compute ratio must be >= 1 (this "
            f"machine is the reference), got {ratio:g}"
        )
    period = max(period_us, round(_MIN_QUOTA_US * ratio))
    if period > _MAX_PERIOD_US:
        raise InputError(
            f"compute ratio {ratio:g} needs a CFS period above 1 s; use the sleep stretch"
        )
    return CpuQuota(period_us=period, quota_us=max(_MIN_QUOTA_US, round(period / ratio)))


def confine(pid: int, name: str, quota: CpuQuota, *, root: Path = CGROUP_CPU_ROOT) -> Path:
    """Create ``root/splitexit/name`` with ``quota`` and move process ``pid`` into it."""
    group = root / "splitexit" / name
    try:
        group.mkdir(parents=True, exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(f"{quota.period_us}\n")
        (group / "cpu.cfs_quota_us").write_text(f"{quota.quota_us}\n")
        (group / "cgroup.procs").write_text(f"{pid}\n")
    except OSError as error:
        raise InputError(
            f"{group}: cannot set a CPU quota ({error.strerror}); the cpu-quota stretch needs "
            f"root and the cgroup v1 cpu controller at {root}"
        ) from None
    return group


def release(group: Path, *, root: Path = CGROUP_CPU_ROOT) -> None:
    """Remove a group made by :func:`confine` (its processes, if any, go back to ``root``)."""
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            (root / "cgroup.procs").write_text(f"{pid}\n")
    with contextlib.suppress(OSError):
        group.rmdir()
