"""CPU-quota stretch: a worker confined to 1/R of a core by CFS bandwidth control.

The kernel lets a group run ``quota`` microseconds in every ``period``. Over many periods that
is a tier R times slower; a call much shorter than the period runs at full speed until the
budget is spent and then waits for the next period, so with the kernel's default 100 ms
period per-call latency is a staircase. The default here is a 2 ms period
(``DEFAULT_PERIOD_US``), longer only where the quota would fall below the kernel's 1 ms
minimum (R = 4 gets 4 ms, R = 8 gets 8 ms).

Both cgroup versions are supported, detected from the files the kernel shows
(:func:`detect_cpu_cgroup`): v2 (``/sys/fs/cgroup`` mounted as ``cgroup2``, one ``cpu.max``
file holding "quota period") and v1 (the ``cpu`` hierarchy at ``/sys/fs/cgroup/cpu``,
``cpu.cfs_quota_us`` and ``cpu.cfs_period_us``). :class:`CpuLimits` names its groups
``splitexit-<run_id>-<tier>``, removes them on exit, SIGTERM or at interpreter exit, and
removes a crashed run's groups on the next start. Needs root.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from splitexit._validation import InstanceOf, Interval, PathLike, validate_params
from splitexit.errors import InputError, SplitexitError
from splitexit.runtime._owner import (
    PREFIX,
    STATE_DIR,
    ExitGuard,
    check_run_id,
    claim,
    new_run_id,
    owner_alive,
    run_id_of,
    unclaim,
)

__all__ = [
    "CGROUP_CPU_ROOT",
    "DEFAULT_PERIOD_US",
    "CgroupCpu",
    "CpuLimits",
    "CpuQuota",
    "clean_stale_groups",
    "confine",
    "detect_cpu_cgroup",
    "quota_for",
    "release",
    "write_quota",
]

CGROUP_BASE = Path("/sys/fs/cgroup")
CGROUP_CPU_ROOT = CGROUP_BASE / "cpu"  # the v1 cpu hierarchy
DEFAULT_PERIOD_US = 2_000
_MIN_QUOTA_US = 1_000  # the kernel refuses a smaller quota (and a smaller period)
_MAX_PERIOD_US = 1_000_000
_KIND = "cgroup"


@validate_params(
    {
        "period_us": [Interval(int, _MIN_QUOTA_US, _MAX_PERIOD_US)],
        "quota_us": [Interval(int, _MIN_QUOTA_US, None)],
    }
)
@dataclass(frozen=True)
class CpuQuota:
    """``quota_us`` of CPU time in every ``period_us``: a 1 / ratio share of one core."""

    period_us: int
    quota_us: int


@validate_params(
    {
        "ratio": [Interval(float, None, None)],
        "period_us": [Interval(int, _MIN_QUOTA_US, _MAX_PERIOD_US)],
    }
)
def quota_for(ratio: float, *, period_us: int = DEFAULT_PERIOD_US) -> CpuQuota:
    """The CFS quota that makes a process ``ratio`` times slower than one free core.

    The period grows when ``period_us / ratio`` would fall below the kernel's 1 ms minimum.

    >>> quota_for(2), quota_for(8), quota_for(4, period_us=100_000)
    (CpuQuota(period_us=2000, quota_us=1000), CpuQuota(period_us=8000, quota_us=1000), \
CpuQuota(period_us=100000, quota_us=25000))
    """
    if not ratio >= 1:
        raise InputError(
            f"the CPU-quota stretch slows a tier down; its compute ratio must be >= 1 (this "
            f"machine is the reference), got {ratio:g}"
        )
    period = max(period_us, _MIN_QUOTA_US, round(_MIN_QUOTA_US * ratio))
    if period > _MAX_PERIOD_US:
        raise InputError(
            f"compute ratio {ratio:g} needs a CFS period above 1 s; use the sleep stretch"
        )
    return CpuQuota(period_us=period, quota_us=max(_MIN_QUOTA_US, round(period / ratio)))


@dataclass(frozen=True)
class CgroupCpu:
    """Where CPU groups are made (``root``) and which interface it has (``version``)."""

    version: Literal[1, 2]
    root: Path


def _has_cpu_v2(folder: Path) -> bool:
    with contextlib.suppress(OSError):
        return "cpu" in (folder / "cgroup.controllers").read_text().split()
    return False


def detect_cpu_cgroup(base: Path = CGROUP_BASE) -> CgroupCpu:
    """The CPU controller under ``base``: v2 if ``base`` is a cgroup2 mount offering ``cpu``,
    v1 if ``base/cpu`` is the v1 ``cpu`` hierarchy, else v2 at ``base/unified`` (hybrid).

    Only a cgroup2 mount has ``cgroup.controllers``; only v1's ``cpu`` has ``cpu.cfs_quota_us``.
    """
    if _has_cpu_v2(base):
        return CgroupCpu(2, base)
    if (base / "cpu" / "cpu.cfs_quota_us").exists():
        return CgroupCpu(1, base / "cpu")
    if _has_cpu_v2(base / "unified"):
        return CgroupCpu(2, base / "unified")
    raise SplitexitError(
        f"{base}: no CPU controller (neither cgroup v2 `cpu.max` nor v1 "
        f"`cpu/cpu.cfs_quota_us`); CPU quotas need root and a mounted cgroup cpu controller"
    )


def write_quota(group: Path, quota: CpuQuota, version: Literal[1, 2]) -> None:
    """Write ``quota`` into ``group`` in the format of cgroup ``version``."""
    if version == 2:
        (group / "cpu.max").write_text(f"{quota.quota_us} {quota.period_us}\n")
    else:
        (group / "cpu.cfs_period_us").write_text(f"{quota.period_us}\n")
        (group / "cpu.cfs_quota_us").write_text(f"{quota.quota_us}\n")


def _enable_cpu_v2(root: Path) -> None:
    control = root / "cgroup.subtree_control"
    if not control.exists() or "cpu" not in control.read_text().split():
        control.write_text("+cpu\n")


def _make_group(root: Path, group: Path, quota: CpuQuota, version: Literal[1, 2]) -> None:
    if version == 2:  # v2 hands the cpu controller down one level at a time
        for step in reversed(group.relative_to(root).parents):
            (root / step).mkdir(exist_ok=True)
            _enable_cpu_v2(root / step)
    group.mkdir(parents=True, exist_ok=True)
    write_quota(group, quota, version)


@validate_params(
    {
        "pid": [Interval(int, 1, None)],
        "name": [InstanceOf(str)],
        "quota": [InstanceOf(CpuQuota)],
        "root": [PathLike()],
    }
)
def confine(pid: int, name: str, quota: CpuQuota, *, root: Path = CGROUP_CPU_ROOT) -> Path:
    """Create ``root/splitexit/name`` with ``quota`` and move process ``pid`` into it.

    ``root`` is a v1 ``cpu`` hierarchy, or a v2 cgroup if it has ``cgroup.controllers``.
    """
    group = root / "splitexit" / name
    version: Literal[1, 2] = 2 if (root / "cgroup.controllers").exists() else 1
    try:
        _make_group(root, group, quota, version)
        (group / "cgroup.procs").write_text(f"{pid}\n")
    except OSError as error:
        raise InputError(
            f"{group}: cannot set a CPU quota ({error.strerror}); the cpu-quota stretch needs "
            f"root and the cgroup v1 cpu controller at {root} (or cgroup v2 with cpu enabled)"
        ) from None
    return group


@validate_params({"group": [PathLike()], "root": [PathLike()]})
def release(group: Path, *, root: Path = CGROUP_CPU_ROOT) -> None:
    """Remove a group made by :func:`confine` (its processes, if any, go back to ``root``)."""
    with contextlib.suppress(OSError):
        for pid in (group / "cgroup.procs").read_text().split():
            (root / "cgroup.procs").write_text(f"{pid}\n")
    with contextlib.suppress(OSError):
        group.rmdir()


def clean_stale_groups(cgroup: CgroupCpu, *, state_dir: Path = STATE_DIR) -> list[Path]:
    """Remove every ``splitexit-<run_id>-*`` group under ``cgroup.root`` whose owner is gone."""
    removed = []
    with contextlib.suppress(OSError):
        for group in sorted(cgroup.root.iterdir()):
            run_id = run_id_of(group.name)
            if group.is_dir() and run_id and not owner_alive(run_id, _KIND, state_dir=state_dir):
                release(group, root=cgroup.root)
                unclaim(run_id, _KIND, state_dir=state_dir)
                removed.append(group)
    return removed


class CpuLimits:
    """CPU groups of one run, ``splitexit-<run_id>-<tier>``, removed when the run ends.

    >>> with CpuLimits() as limits:  # doctest: +SKIP
    ...     limits.confine(worker.pid, "edge", quota_for(4))
    """

    def __init__(
        self,
        run_id: str | None = None,
        *,
        cgroup: CgroupCpu | None = None,
        state_dir: Path = STATE_DIR,
    ) -> None:
        self.run_id = check_run_id(run_id) if run_id is not None else new_run_id()
        self._cgroup = cgroup
        self._state_dir = state_dir
        self._groups: list[Path] = []
        self._guard: ExitGuard | None = None

    @property
    def cgroup(self) -> CgroupCpu:
        if self._cgroup is None:
            self._cgroup = detect_cpu_cgroup()
        return self._cgroup

    def __enter__(self) -> CpuLimits:
        clean_stale_groups(self.cgroup, state_dir=self._state_dir)
        claim(self.run_id, _KIND, state_dir=self._state_dir)
        self._guard = ExitGuard(self._teardown)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def group(self, tier: str) -> Path:
        """The folder of ``tier``'s group (``splitexit-<run_id>-<tier>``)."""
        if not re.fullmatch(r"[A-Za-z0-9_.]{1,64}", tier):
            raise InputError(f"a cgroup tier name must be 1-64 of [A-Za-z0-9_.], got {tier!r}")
        return self.cgroup.root / f"{PREFIX}{self.run_id}-{tier}"

    def confine(self, pid: int, tier: str, quota: CpuQuota) -> Path:
        """Make ``tier``'s group with ``quota`` (or update it) and move process ``pid`` in."""
        if self._guard is None:
            raise SplitexitError("CpuLimits.confine needs the limits entered (`with CpuLimits()`)")
        group = self.group(tier)
        try:
            _make_group(self.cgroup.root, group, quota, self.cgroup.version)
            if group not in self._groups:
                self._groups.append(group)
            (group / "cgroup.procs").write_text(f"{pid}\n")
        except OSError as error:
            raise SplitexitError(
                f"{group}: cannot set a CPU quota ({error.strerror}); CPU quotas need root and "
                f"a cgroup v{self.cgroup.version} cpu controller at {self.cgroup.root}"
            ) from None
        return group

    def close(self) -> None:
        """Remove every group of this run (idempotent)."""
        if self._guard is not None:
            self._guard.disarm()
            self._guard = None

    def _teardown(self) -> None:
        for group in reversed(self._groups):
            release(group, root=self.cgroup.root)
        self._groups.clear()
        unclaim(self.run_id, _KIND, state_dir=self._state_dir)
