"""Clean interrupts, probed on real processes (docs/reliability.md, "Fault cases"): Ctrl-C
(SIGINT) and SIGTERM of `testbed run` and `run` print one line, exit 130 / 143 and leave
nothing behind (no worker, no temporary export, no staging folder); the workers of a
SIGKILLed driver stop within about a second (the parent watch)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from splitexit.profile import random_profile, save_profile

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals and /proc"),
]

GONE_WITHIN_S = 2.0
"""What the tests allow for workers to stop once the driver is gone: the parent watch polls
every 0.2 s and grants 0.1 s (about 0.6 s measured), with room for a loaded 2-core machine."""


SLOW_TOPOLOGY = """
name: slow-mobile
tiers:
  - {name: smartwatch, compute_ratio: 500}
  - {name: smartphone, compute_ratio: 10}
  - {name: edge, compute_ratio: 2.5}
  - {name: cloud, compute_ratio: 1}
links:
  - {bandwidth: 500kbps, latency: 300ms}
  - {bandwidth: 10Mbps, latency: 300ms}
  - {bandwidth: 500Mbps, latency: 300ms}
source: smartwatch
destination: smartwatch
"""


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left


def _wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _listening(pid: int) -> bool:
    """Whether ``pid`` holds a listening TCP socket (a worker that is serving)."""
    try:
        inodes = {
            os.readlink(fd).removeprefix("socket:[").removesuffix("]")
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if os.readlink(fd).startswith("socket:[")
        }
        rows = [
            row
            for table in ("tcp", "tcp6")  # gRPC binds 127.0.0.1 as an IPv4-mapped address
            for row in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        ]
    except OSError:
        return False
    return any(row.split()[3] == "0A" and row.split()[9] in inodes for row in rows)


def _gone_after(pids: list[int]) -> float:
    """Seconds until every process of ``pids`` has ended (at most 30)."""
    start = time.monotonic()
    _wait_for(lambda: not any(_alive(p) for p in pids), 30, "the workers to stop")
    return time.monotonic() - start


def _default_sigint() -> None:
    # a shell starts a background job with SIGINT ignored, and an ignored SIGINT stays
    # ignored in its children (Python then installs no KeyboardInterrupt handler): give the
    # command under test the disposition of a foreground terminal
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _splitexit(args: list[str], cwd: Path, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env}
    return subprocess.Popen(
        [sys.executable, "-m", "splitexit", *args], cwd=cwd, env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
        preexec_fn=_default_sigint,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tiny_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profile") / "resnet8-digits.json"
    save_profile(dataclasses.replace(random_profile(4), model="resnet8", dataset="digits"), path)
    return path


def _streaming_driver(
    deployable, tiny_profile: Path, cwd: Path
) -> tuple[subprocess.Popen[str], list[int]]:  # type: ignore[no-untyped-def]
    """A `testbed run` streaming many samples, and its three worker processes once up."""
    (cwd / "slow.yaml").write_text(SLOW_TOPOLOGY)  # seconds per sample: still streaming
    driver = _splitexit(
        ["testbed", "run", "--profile", str(tiny_profile), "--export", str(deployable.folder),
         "--topology", "slow.yaml", "--samples", "1000", "--quiet"],
        cwd,
    )  # fmt: skip

    def serving() -> bool:
        workers = _children(driver.pid)
        return len(workers) >= 3 and all(_listening(w) for w in workers)

    _wait_for(lambda: serving() or driver.poll() is not None, 180, "the workers to serve")
    assert driver.poll() is None, driver.communicate()
    workers = _children(driver.pid)
    time.sleep(2.0)  # deployed and streaming by now
    return driver, workers


@pytest.mark.parametrize(("sig", "code", "line"), [
    (signal.SIGINT, 130, "error: interrupted; stopped"),
    (signal.SIGTERM, 143, "error: terminated (SIGTERM); stopped"),
])  # fmt: skip
def test_testbed_run_interrupted_one_line_and_no_worker_left(  # type: ignore[no-untyped-def]
    deployable, tiny_profile: Path, tmp_path: Path, sig: int, code: int, line: str
) -> None:
    driver, workers = _streaming_driver(deployable, tiny_profile, tmp_path)
    driver.send_signal(sig)  # the driver only (a terminal's Ctrl-C would reach the workers too)
    _, err = driver.communicate(timeout=60)
    gone_s = _gone_after(workers)
    assert driver.returncode == code, err
    assert err.strip().splitlines() == [line]
    assert gone_s < GONE_WITHIN_S, f"workers still up {gone_s:.2f} s after the driver ended"


def test_killed_driver_workers_stop_within_a_second(  # type: ignore[no-untyped-def]
    deployable, tiny_profile: Path, tmp_path: Path
) -> None:
    driver, workers = _streaming_driver(deployable, tiny_profile, tmp_path)
    driver.kill()
    driver.wait(timeout=30)
    gone_s = _gone_after(workers)
    print(f"workers of a SIGKILLed driver gone after {gone_s:.2f} s")
    assert gone_s < GONE_WITHIN_S


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_testbed_run_temporary_export_removed_on_interrupt(
    tmp_path: Path, sig: int, code: int
) -> None:
    pytest.importorskip("torch")
    temp = tmp_path / "tmp"
    temp.mkdir()
    driver = _splitexit(["testbed", "run", "--samples", "5", "--quiet"], tmp_path, TMPDIR=str(temp))
    exports = lambda: list(temp.glob("splitexit-export-*"))  # noqa: E731
    _wait_for(lambda: bool(exports()) or driver.poll() is not None, 300, "the export to start")
    assert driver.poll() is None, driver.communicate()
    driver.send_signal(sig)
    _, err = driver.communicate(timeout=60)
    assert driver.returncode == code, err
    assert len(err.strip().splitlines()) == 1, err
    assert exports() == []


def test_run_interrupted_leaves_no_report_and_no_staging_folder(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tests.experiment.test_run import TINY

    (tmp_path / "tiny.yaml").write_text(TINY)
    driver = _splitexit(["run", "tiny.yaml", "--out", "report", "--quiet"], tmp_path)
    staging = lambda: list(tmp_path.glob(".report.*"))  # noqa: E731
    _wait_for(lambda: bool(staging()) or driver.poll() is not None, 600, "the report to start")
    assert driver.poll() is None, driver.communicate()
    time.sleep(0.5)
    driver.send_signal(signal.SIGINT)
    _, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err
    assert err.strip().splitlines() == ["error: interrupted; stopped"]
    assert staging() == [] and not (tmp_path / "report").exists()


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_study_interrupted_one_line_no_worker_no_folder_no_temporary(
    tmp_path: Path, sig: int, code: int
) -> None:
    import numpy as np
    import yaml

    from tests.study.test_executor import tiny_model

    tiny_model(tmp_path / "tiny.onnx")
    x = np.random.default_rng(1).normal(size=(6, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "samples.npz", input=x, labels=np.arange(6) % 3)
    study = {
        "schema": "splitexit.study/1",
        "subjects": [{"name": "tiny", "onnx": "tiny.onnx", "data": "samples.npz"}],
        "operators": ["I"],
        "strategies": [{"operator": "I", "tiers": ["M", "E", "C"]}],
        "samples": {"count": 3},
        "repetitions": 5,
        "warmup": 1,
        "inferences": 100000,  # still measuring when the signal comes
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    temp = tmp_path / "tmp"
    temp.mkdir()
    driver = _splitexit(["study", "study.yaml", "--out", "out"], tmp_path, TMPDIR=str(temp))

    def serving() -> bool:
        workers = _children(driver.pid)
        return bool(workers) and all(_listening(w) for w in workers)

    _wait_for(lambda: serving() or driver.poll() is not None, 300, "the study's workers")
    assert driver.poll() is None, driver.communicate()
    workers = _children(driver.pid)
    time.sleep(2.0)
    driver.send_signal(sig)
    _, err = driver.communicate(timeout=120)
    gone_s = _gone_after(workers)
    assert driver.returncode == code, err
    assert len(err.strip().splitlines()) == 1, err
    assert gone_s < GONE_WITHIN_S
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "samples.npz", "study.yaml", "tiny.onnx", "tmp",
    ]  # fmt: skip
    assert list(temp.glob("splitexit-*")) == []  # the study's working folder (a library
    # outside splitexit leaves a 51-byte `.ses` session file in TMPDIR; not ours)
