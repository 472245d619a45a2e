"""The CPU-quota stretch: quota arithmetic and the cgroup files it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitexit.errors import InputError
from splitexit.runtime import CpuQuota, confine, quota_for, release


@pytest.mark.parametrize("ratio", [1, 2.5, 10, 100, 500, 1000])
def test_the_quota_gives_one_over_ratio_of_a_core(ratio: float) -> None:
    quota = quota_for(ratio)
    assert quota.quota_us >= 1000 and quota.period_us <= 1_000_000
    assert quota.quota_us / quota.period_us == pytest.approx(1 / ratio, rel=1e-3)


def test_ratios_below_one_or_too_high_are_refused() -> None:
    with pytest.raises(InputError, match="must be >= 1"):
        quota_for(0.5)
    with pytest.raises(InputError, match="above 1 s"):
        quota_for(5000)


def test_confine_writes_the_group_and_release_removes_it(tmp_path: Path) -> None:
    (tmp_path / "cgroup.procs").write_text("")
    group = confine(4242, "edge-4242", CpuQuota(period_us=200_000, quota_us=50_000), root=tmp_path)
    assert group == tmp_path / "splitexit" / "edge-4242"
    assert (group / "cpu.cfs_period_us").read_text() == "200000\n"
    assert (group / "cpu.cfs_quota_us").read_text() == "50000\n"
    assert (group / "cgroup.procs").read_text() == "4242\n"
    for name in ("cpu.cfs_period_us", "cpu.cfs_quota_us", "cgroup.procs"):
        (group / name).unlink()  # a real cgroup folder empties itself; a plain one cannot
    release(group, root=tmp_path)
    assert not group.exists()


def test_a_missing_controller_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(InputError, match="needs root and the cgroup v1 cpu controller"):
        confine(1, "x", quota_for(2), root=blocker)
