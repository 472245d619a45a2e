"""Executors: the same seeds give the same checkpoints in process, in a process pool and on
Ray (CPU); progress says how many tasks are done and running."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch
from rich.console import Console

from splitexit import InputError
from splitexit.training import ExecutorSettings, TrainConfig, TrainTask, _executor, run_tasks
from splitexit.training._executor import train_task


def _tasks(work_dir: Path) -> list[TrainTask]:
    config = TrainConfig(epochs=1, batch_size=64, lr=0.05)
    return [
        TrainTask(
            kind="final",
            model="resnet8",
            dataset="digits",
            exits=exits,
            config=config,
            work_dir=work_dir,
            width=0.25,
        )
        for exits in ((0, 1), (1, 3))
    ]


def _weights(paths: list[str]) -> list[dict[str, torch.Tensor]]:
    return [torch.load(p, weights_only=False)["model"] for p in paths]


def _assert_same_weights(a_paths: list[str], b_paths: list[str]) -> None:
    assert [Path(p).name for p in a_paths] == [Path(p).name for p in b_paths]
    for a, b in zip(_weights(a_paths), _weights(b_paths), strict=True):
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_executor_settings_refuse_unknown_executor() -> None:
    with pytest.raises(InputError, match="executor must be 'local' or 'ray'"):
        ExecutorSettings(executor="dask")


@pytest.mark.slow  # starts a Ray cluster and trains twice
def test_run_tasks_ray_gives_the_local_checkpoints(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    local = run_tasks(_tasks(tmp_path / "local"), ExecutorSettings(workers=1))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_tasks(_tasks(tmp_path / "ray"), ExecutorSettings(executor="ray"))
    finally:
        ray.shutdown()
    _assert_same_weights(local, remote)


def _digests(paths: list[str]) -> list[str]:
    """SHA-256 of each checkpoint's weights (names and bytes, in order)."""
    digests = []
    for weights in _weights(paths):
        sha = hashlib.sha256()
        for name, tensor in weights.items():
            sha.update(name.encode())
            sha.update(tensor.detach().contiguous().numpy().tobytes())
        digests.append(sha.hexdigest())
    return digests


def test_local_is_a_pool_of_one_process_per_cpu_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_executor, "usable_cpus", lambda: 8)
    default = ExecutorSettings()
    assert default.executor == "local" and default.workers is None
    assert default.local_workers(tasks=3) == 3  # at most one process per task
    assert default.local_workers(tasks=20) == 8  # one per CPU
    assert default.local_workers(tasks=20, threads=4) == 2  # 2 x 4 torch threads = 8 CPUs
    assert default.local_workers(tasks=20, threads=16) == 1 and default.in_process(20, 16)
    assert not default.in_process(tasks=2)
    assert ExecutorSettings(workers=1).in_process(tasks=20)  # --workers 1: in this process
    assert ExecutorSettings(workers=4).local_workers(tasks=2) == 2
    assert not ExecutorSettings(executor="ray", workers=1).in_process(tasks=1)
    monkeypatch.setattr(_executor, "usable_cpus", lambda: 1)
    assert ExecutorSettings().in_process(tasks=5)  # one CPU: no pool to pay for


@pytest.mark.slow
def test_run_tasks_process_pool_gives_the_in_process_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = run_tasks(_tasks(tmp_path / "local"), ExecutorSettings(workers=1))
    console = Console(record=True, width=100, force_terminal=False)
    monkeypatch.chdir(tmp_path)  # relative work folders are the caller's, also in the pool
    tasks = _tasks(Path("pool"))
    pooled = run_tasks(tasks, ExecutorSettings(workers=2), console=console, what="final models")
    assert all(Path(p).is_absolute() and Path(p).is_relative_to(tmp_path) for p in pooled)
    _assert_same_weights(local, pooled)
    lines = console.export_text().splitlines()
    assert "final models: 1/2 done, 1 running" in lines
    assert "final models: 2/2 done, 0 running" in lines
    # the default local executor: a pool sized by the CPUs (here 2 processes for 2 tasks)
    monkeypatch.setattr(_executor, "usable_cpus", lambda: 2)
    default = run_tasks(_tasks(Path("default")), ExecutorSettings(), what="final models")
    assert _digests(default) == _digests(pooled) == _digests(local)


def test_train_task_reads_relative_paths_from_the_callers_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (task,) = _tasks(Path("runs"))[:1]
    assert task.cwd == tmp_path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # as a Ray worker of a cluster started in another folder
    done = Path(train_task(task))
    assert done.parent == tmp_path / "runs" and Path.cwd() == elsewhere


class _FakeRay:
    """Ray's calls as run_tasks makes them, recorded (tasks run here, in order)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.connected = False

    def is_initialized(self) -> bool:
        return self.connected

    def init(self, address: str | None = None, **_: object) -> None:
        self.calls.append(("init", address))
        self.connected = True

    def shutdown(self) -> None:
        self.calls.append(("shutdown", None))
        self.connected = False

    def cluster_resources(self) -> dict[str, float]:
        return {"CPU": 1.0}

    def remote(self, num_cpus: float, num_gpus: float) -> object:
        self.calls.append(("resources", (num_cpus, num_gpus)))

        def wrap(function: object) -> object:
            class Remote:
                @staticmethod
                def remote(task: TrainTask) -> str:
                    return f"done {task.exits}"

            return Remote

        return wrap

    def wait(self, pending: list[str], num_returns: int) -> tuple[list[str], list[str]]:
        return pending[:num_returns], pending[num_returns:]

    def get(self, refs: list[str]) -> list[str]:
        return refs


def test_run_tasks_ray_connects_to_the_given_address_with_the_tasks_resources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = _FakeRay()
    monkeypatch.setitem(sys.modules, "ray", fake)
    console = Console(record=True, width=100, force_terminal=False)
    settings = ExecutorSettings(executor="ray", ray_address="10.0.0.7:6379", gpus_per_task=0.5)
    done = run_tasks(_tasks(tmp_path), settings, console=console, what="final models")
    assert done == ["done (0, 1)", "done (1, 3)"]
    assert fake.calls == [("init", "10.0.0.7:6379"), ("resources", (1.0, 0.5)), ("shutdown", None)]
    lines = console.export_text().splitlines()
    assert lines == ["final models: 1/2 done, 1 running", "final models: 2/2 done, 0 running"]
