"""The CPU-quota stretch: quota arithmetic and the cgroup files it writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from splitexit.errors import InputError, SplitexitError
from splitexit.runtime import CpuQuota, confine, quota_for, release
from splitexit.runtime._cgroup import CgroupCpu, CpuLimits, clean_stale_groups, detect_cpu_cgroup
from splitexit.runtime._cpu_calibration import calibrate_quota

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: makes real cgroups")


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


def _fake_v2(tmp_path: Path, name: str = "cgroup2") -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("\n")
    (root / "cgroup.procs").write_text("")
    return root


def test_detect_finds_v2_v1_hybrid_or_says_what_is_missing(tmp_path: Path) -> None:
    v2 = _fake_v2(tmp_path)
    assert detect_cpu_cgroup(v2) == CgroupCpu(2, v2)
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert detect_cpu_cgroup(v1) == CgroupCpu(1, v1 / "cpu")
    hybrid = tmp_path / "hybrid"
    hybrid.mkdir()
    _fake_v2(tmp_path, "v2b").rename(hybrid / "unified")
    assert detect_cpu_cgroup(hybrid) == CgroupCpu(2, hybrid / "unified")
    with pytest.raises(SplitexitError, match="no CPU controller"):
        detect_cpu_cgroup(tmp_path / "nothing")


def test_cpu_limits_write_cpu_max_in_the_v2_format(tmp_path: Path) -> None:
    root = _fake_v2(tmp_path)
    with CpuLimits("r1", cgroup=CgroupCpu(2, root), state_dir=tmp_path / "state") as limits:
        group = limits.confine(4242, "edge", quota_for(4))
        assert group == root / "splitexit-r1-edge"
        assert (root / "cgroup.subtree_control").read_text() == "+cpu\n"
        assert (group / "cpu.max").read_text() == "1000 4000\n"  # "quota period", microseconds
        assert (group / "cgroup.procs").read_text() == "4242\n"
        for name in ("cpu.max", "cgroup.procs"):
            (group / name).unlink()  # a real cgroup folder empties itself; a plain one cannot
    assert not group.exists()


def test_legacy_confine_writes_cpu_max_under_v2(tmp_path: Path) -> None:
    root = _fake_v2(tmp_path)
    group = confine(7, "edge-7", quota_for(2), root=root)
    assert (group / "cpu.max").read_text() == "1000 2000\n"
    assert (root / "splitexit" / "cgroup.subtree_control").read_text() == "+cpu\n"


def test_stale_groups_of_dead_owners_are_removed_live_ones_kept(tmp_path: Path) -> None:
    root, state = _fake_v2(tmp_path), tmp_path / "state"
    state.mkdir()
    (state / "dead1-cgroup.owner").write_text("999999999 1\n")
    for name in ("splitexit-dead1-edge", "splitexit-orphan-cloud", "unrelated"):
        (root / name).mkdir()
    with CpuLimits("live1", cgroup=CgroupCpu(2, root), state_dir=state) as live:
        (root / "splitexit-live1-edge").mkdir()
        removed = clean_stale_groups(live.cgroup, state_dir=state)
        assert removed == []  # the context's own start already removed the dead ones
        assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [
            "splitexit-live1-edge",
            "unrelated",
        ]
        assert not (state / "dead1-cgroup.owner").exists()


def test_confine_outside_the_context_is_refused(tmp_path: Path) -> None:
    limits = CpuLimits("r2", cgroup=CgroupCpu(2, _fake_v2(tmp_path)), state_dir=tmp_path)
    with pytest.raises(SplitexitError, match="needs the limits entered"):
        limits.confine(1, "edge", quota_for(2))
    with pytest.raises(InputError, match="cgroup tier name"):
        limits.group("a/b")


def _busy(n: int = 400_000) -> int:
    total = 0
    for i in range(n):
        total += i
    return total


@needs_root
@pytest.mark.xdist_group("netns")  # real CPU groups: with the netns tests, on one worker
def test_calibrate_quota_stretch_follows_the_ratio() -> None:
    # target: within 5% of the ratio; the test allows 15%, because the 2-core CI VM shared by
    # other jobs adds waiting for a CPU on top of the quota. Ratio 8 (an 8 ms period, 1 ms
    # quota) stays below a fair share of the loaded VM, where contention alone stretched the
    # same work about 3x (so an unapplied quota fails); work of about 10 ms of CPU per call.
    try:
        cgroup = detect_cpu_cgroup()
    except SplitexitError as error:
        pytest.skip(str(error))
    with CpuLimits(cgroup=cgroup) as limits:
        result = calibrate_quota(_busy, 8, limits=limits, calls=6)
        group = limits.group("calibration")
        assert group.is_dir()
    assert result.quota == CpuQuota(period_us=8000, quota_us=1000)
    assert result.stretch == pytest.approx(8, rel=0.15)
    assert not group.exists()
