"""Run many independent trainings (separate models, final models) locally or on Ray.

A task is plain data (:class:`TrainTask`): it reloads the dataset, rebuilds the network from
the seed, fine-tunes from the joint checkpoint when asked, and leaves its checkpoint in the
run folder. The caller then loads every checkpoint as before (a finished checkpoint makes
training a no-op), so the executor decides only *where* trainings run, never what they
compute: the same seeds give the same checkpoints on ``local`` and ``ray`` (CPU).

``local`` runs the tasks in a process pool (spawned processes) of
min(tasks, CPUs // torch threads per task) workers by default, each task setting its torch
threads, so that the workers together use the CPUs without oversubscribing them; ``workers=1``
(``--workers 1``) trains in this process. ``ray`` submits one Ray task per training with its
CPU (and GPU) resources; Ray is an optional extra (``pip install 'splitexit[scale]'``). A
task's torch threads are the caller's, whatever the executor: the thread count may change a
CPU result's last bits, so it is part of what the task computes, not of where it runs.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from splitexit._validation import InstanceOf, Interval, Options, PathLike, validate_params
from splitexit.errors import InputError

__all__ = ["EXECUTORS", "ExecutorSettings", "TrainTask", "run_tasks", "usable_cpus"]

EXECUTORS = ("local", "ray")


@validate_params(
    {
        "executor": [InstanceOf(str)],
        "workers": [Interval(int, None, None), None],
        "ray_address": [InstanceOf(str), None],
        "cpus_per_task": [Interval(float, None, None)],
        "gpus_per_task": [Interval(float, None, None)],
    }
)
@dataclass(frozen=True)
class ExecutorSettings:
    """Where trainings run: ``local`` (a pool of ``workers`` processes, ``None``: as many as
    the CPUs allow, see :meth:`local_workers`; 1 = in this process) or ``ray`` (at
    ``ray_address``, e.g. ``"auto"``; ``None`` starts a local Ray)."""

    executor: str = "local"
    workers: int | None = None
    ray_address: str | None = None
    cpus_per_task: float = 1.0
    gpus_per_task: float = 0.0

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise InputError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        workers = 1 if self.workers is None else self.workers
        if workers < 1 or self.cpus_per_task <= 0 or self.gpus_per_task < 0:
            raise InputError(
                f"workers must be >= 1, CPUs per task > 0 and GPUs >= 0, got {self.workers}, "
                f"{self.cpus_per_task:g}, {self.gpus_per_task:g}"
            )

    def local_workers(self, tasks: int, threads: int = 1) -> int:
        """Processes of the ``local`` pool for ``tasks`` tasks of ``threads`` torch threads
        each: ``workers`` when given, else min(tasks, CPUs // threads); never more than the
        tasks, at least 1 (1: in this process, no pool).

        >>> ExecutorSettings(workers=1).local_workers(tasks=4)
        1
        >>> ExecutorSettings().local_workers(tasks=1)
        1
        """
        if self.workers is not None:
            return max(1, min(self.workers, tasks))
        return max(1, min(tasks, usable_cpus() // max(1, threads)))

    def in_process(self, tasks: int, threads: int = 1) -> bool:
        """Whether ``tasks`` tasks run in this process (``local`` with one worker)."""
        return self.executor == "local" and self.local_workers(tasks, threads) == 1


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity where the OS tells it, else the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@validate_params(
    {
        "kind": [Options(("separate", "final"))],
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "exits": [InstanceOf(tuple, list)],
        "config": [InstanceOf("splitexit.training._train:TrainConfig")],
        "work_dir": [PathLike()],
        "joint_config": [InstanceOf("splitexit.training._train:TrainConfig"), None],
        "joint_dir": [PathLike(), None],
        "width": [Interval(float, 0, None, closed="neither")],
        "device": [InstanceOf(str)],
        "data_dir": [PathLike(), None],
        "preprocessing": [InstanceOf(dict), None],
        "threads": [Interval(int, 1, None)],
        "cwd": [PathLike(), None],
    }
)
@dataclass(frozen=True)
class TrainTask:
    """One training as data: what :func:`train_task` needs to redo it anywhere."""

    kind: str  # "separate" or "final"
    model: str
    dataset: str
    exits: tuple[int, ...]
    config: Any  # TrainConfig
    work_dir: Path
    joint_config: Any | None = None  # fine-tune from the joint run of this config, or scratch
    joint_dir: Path | None = None
    width: float = 1.0
    device: str = "cpu"
    data_dir: Path | None = None
    preprocessing: dict[str, Any] | None = field(default=None)
    threads: int = 1
    # relative model and data paths are read from here: a Ray cluster started elsewhere
    # (``ray start``) runs its workers in its own folder, not the caller's
    cwd: Path = field(default_factory=Path.cwd)


def train_task(task: TrainTask) -> str:
    """Run one task in this process (in the caller's folder, ``task.cwd``, when it exists
    here); returns its checkpoint path."""
    folder = task.cwd if task.cwd.is_dir() else Path.cwd()
    with contextlib.chdir(folder):
        return _train_task(task)


def _train_task(task: TrainTask) -> str:
    import torch

    from splitexit.datasets import Preprocessing, load_dataset
    from splitexit.training._runs import train_final, train_joint, train_separate

    torch.set_num_threads(task.threads)
    data = load_dataset(
        task.dataset,
        data_dir=task.data_dir,
        preprocessing=Preprocessing.from_record(task.preprocessing),
    )
    init = None
    if task.joint_config is not None:
        init = train_joint(
            task.model,
            data,
            task.joint_config,
            work_dir=task.joint_dir or task.work_dir,
            width=task.width,
            device=task.device,
        )
    if task.kind == "separate":
        (i,) = task.exits
        done = train_separate(
            task.model,
            data,
            task.config,
            work_dir=task.work_dir,
            num_blocks=i + 1,
            width=task.width,
            device=task.device,
            init=init,
            only=i,
        )[0]
    else:
        done = train_final(
            task.model,
            data,
            task.config,
            exits=task.exits,
            work_dir=task.work_dir,
            width=task.width,
            device=task.device,
            init=init,
        )
    return str(Path(done.checkpoint).resolve())


def _progress(console: Console | None, total: int, what: str) -> Any:
    """A bar of tasks done and running on a terminal (lines in a log: :func:`_update`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[running]} running"),
        console=console,
        disable=console is None or not console.is_terminal,  # a log gets lines instead
    )
    return progress


def _update(
    progress: Any, bar: Any, console: Console | None, what: str, done: int, total: int, running: int
) -> None:
    progress.update(bar, completed=done, running=running)
    if console is not None and not console.is_terminal:  # a log: one line per finished task
        console.print(f"{what}: {done}/{total} done, {running} running", highlight=False)


@validate_params(
    {
        "tasks": [InstanceOf(list, tuple)],
        "settings": [InstanceOf(ExecutorSettings)],
        "console": [InstanceOf(Console), None],
        "what": [InstanceOf(str)],
    }
)
def run_tasks(
    tasks: Sequence[TrainTask],
    settings: ExecutorSettings,
    *,
    console: Console | None = None,
    what: str = "trainings",
) -> list[str]:
    """Run ``tasks`` where ``settings`` says; returns their checkpoint paths, in order."""
    if not tasks:
        return []
    if settings.executor == "ray":
        return _run_ray(tasks, settings, console, what)
    workers = settings.local_workers(len(tasks), max(t.threads for t in tasks))
    if workers == 1:
        return [train_task(t) for t in tasks]
    context = multiprocessing.get_context("spawn")  # torch and fork do not mix
    with (
        concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool,
        _progress(console, len(tasks), what) as progress,
    ):
        bar = progress.add_task(what, total=len(tasks), running=min(len(tasks), workers))
        futures = [pool.submit(train_task, t) for t in tasks]
        for done, _ in enumerate(concurrent.futures.as_completed(futures), start=1):
            running = min(len(tasks) - done, workers)
            _update(progress, bar, console, what, done, len(tasks), running)
        return [f.result() for f in futures]


def _ray_slots(resources: dict[str, float], settings: ExecutorSettings) -> int:
    """How many tasks the cluster runs at once (the rest wait in its queue).

    >>> _ray_slots({"CPU": 2.0}, ExecutorSettings(executor="ray"))
    2
    """
    slots = resources.get("CPU", 0.0) // settings.cpus_per_task
    if settings.gpus_per_task > 0:
        slots = min(slots, resources.get("GPU", 0.0) // settings.gpus_per_task)
    return max(1, int(slots))


def _run_ray(
    tasks: Sequence[TrainTask], settings: ExecutorSettings, console: Console | None, what: str
) -> list[str]:
    try:
        import ray
    except ImportError:
        raise InputError(
            "--executor ray needs Ray: pip install 'splitexit[scale]' (or ray)"
        ) from None
    started = False
    if not ray.is_initialized():
        ray.init(address=settings.ray_address, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        remote = ray.remote(num_cpus=settings.cpus_per_task, num_gpus=settings.gpus_per_task)(
            train_task
        )
        refs = [remote.remote(t) for t in tasks]
        pending = list(refs)
        slots = _ray_slots(ray.cluster_resources(), settings)  # type: ignore[no-untyped-call]
        with _progress(console, len(tasks), what) as progress:
            bar = progress.add_task(what, total=len(tasks), running=min(slots, len(tasks)))
            while pending:
                _, pending = ray.wait(pending, num_returns=1)
                done, running = len(tasks) - len(pending), min(slots, len(pending))
                _update(progress, bar, console, what, done, len(tasks), running)
        return [str(p) for p in ray.get(refs)]
    finally:
        if started:
            ray.shutdown()
