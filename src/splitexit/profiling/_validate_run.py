"""``splitexit validate``: train K final models and score every estimator against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from splitexit._validation import InstanceOf, Interval, PathLike, validate_params
from splitexit.datasets import DatasetSplits, Preprocessing, load_dataset
from splitexit.errors import InputError
from splitexit.profile import load_profile, load_profile_trace
from splitexit.profiling._validate import (
    ValidationResult,
    choose_partitions,
    measure_final,
    predict,
    validation_result,
)
from splitexit.training import (
    ExecutorSettings,
    TrainConfig,
    TrainTask,
    check_device,
    checkpoint_name,
    default_precision,
    profile_run_dir,
    run_tasks,
    train_final,
    train_joint,
)

__all__ = ["ValidationSettings", "validate"]


@validate_params(
    {
        "profile": [PathLike()],
        "work_dir": [PathLike(), None],
        "joint": [InstanceOf(TrainConfig), None],
        "final": [InstanceOf(TrainConfig)],
        "init": [InstanceOf(str)],
        "k": [Interval(int, None, None)],
        "max_parts": [Interval(int, None, None)],
        "seed": [Interval(int, 0, None)],
        "width": [Interval(float, 0, None, closed="neither")],
        "data_dir": [PathLike(), None],
        "device": [InstanceOf(str)],
        "cache": [PathLike(), None],
        "executor": [InstanceOf(ExecutorSettings)],
    }
)
@dataclass(frozen=True)
class ValidationSettings:
    """What ``splitexit validate`` decides. ``joint`` must be the profile run's joint
    configuration: its checkpoint in ``work_dir`` is reused, never retrained."""

    profile: Path
    work_dir: Path | None = None  # None: the profile run's cache folder (its cache key)
    # None: the profile's recorded joint configuration (else the CLI's old defaults)
    joint: TrainConfig | None = None
    final: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1, lr=0.02))
    init: str = "joint"  # final models start from the joint weights, or "scratch"
    k: int = 3
    max_parts: int = 4
    seed: int = 0
    width: float = 1.0
    data_dir: Path | None = None
    device: str = "cpu"
    cache: Path | None = None
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)

    def __post_init__(self) -> None:
        if self.init not in ("joint", "scratch"):
            raise InputError(f"init must be 'joint' or 'scratch', got {self.init!r}")
        check_device(self.device)


@validate_params(
    {
        "settings": [InstanceOf(ValidationSettings)],
        "console": [InstanceOf(Console), None],
        "data": [InstanceOf(DatasetSplits), None],
    }
)
def validate(
    settings: ValidationSettings,
    *,
    console: Console | None = None,
    data: DatasetSplits | None = None,
) -> ValidationResult:
    """Train (or load) K final models, measure them on the test split, score the estimators."""
    profile = load_profile(settings.profile)
    trace = load_profile_trace(profile, settings.profile)
    partitions = choose_partitions(
        profile.num_blocks, settings.k, max_parts=settings.max_parts, seed=settings.seed
    )
    recorded = profile.training or {}
    preprocessing = Preprocessing.from_record(profile.preprocessing)
    if data is None:
        data = load_dataset(
            profile.dataset, data_dir=settings.data_dir, preprocessing=preprocessing
        )
    joint_config = settings.joint or _recorded_joint(recorded)
    width = float(recorded.get("width", settings.width))
    device = settings.device
    work_dir = settings.work_dir
    if work_dir is None:
        if "cache_key" not in recorded:
            raise InputError(
                f"{settings.profile}: the profile records no cache key (made before "
                "training records); give --work-dir, the folder of its checkpoints"
            )
        try:
            work_dir = profile_run_dir(profile, settings.cache)
        except InputError as exc:
            raise InputError(f"{settings.profile}: {exc}") from None
        assert work_dir is not None  # the key is recorded
    final_dir = work_dir / f"validate-{settings.init}"
    init = None
    if settings.init == "joint":
        init = train_joint(
            profile.model,
            data,
            joint_config,
            work_dir=work_dir,
            width=width,
            device=device,
            console=console,
        )
    missing = [p for p in partitions if not (final_dir / checkpoint_name("final", p)).exists()]
    threads = torch.get_num_threads()  # a task trains with the caller's threads, anywhere
    if not settings.executor.in_process(len(missing), threads):
        tasks = [
            TrainTask(
                kind="final",
                model=profile.model,
                dataset=profile.dataset,
                exits=parts,
                config=settings.final,
                work_dir=final_dir,
                joint_config=joint_config if init is not None else None,
                joint_dir=work_dir,
                width=width,
                device=device,
                data_dir=settings.data_dir,
                preprocessing=preprocessing.to_record(),
                threads=threads,
            )
            for parts in missing
        ]
        run_tasks(tasks, settings.executor, console=console, what="final models")
    measured = []
    for parts in partitions:
        final = train_final(
            profile.model,
            data,
            settings.final,
            exits=parts,
            work_dir=final_dir,
            init=init,
            width=width,
            device=device,
            console=console,
        )
        measured.append(
            measure_final(final.net, data.test, profile.thresholds, device=settings.device)
        )
    predicted = predict(profile, trace, partitions)
    return validation_result(profile.thresholds, partitions, measured, predicted)


def _recorded_joint(recorded: dict[str, Any]) -> TrainConfig:
    """The profile's joint configuration; profiles without one get the old CLI defaults."""
    joint = recorded.get("joint")
    if not isinstance(joint, dict):
        return TrainConfig(epochs=8, precision=default_precision("cpu"))
    try:
        return TrainConfig(**joint)
    except TypeError as exc:
        raise InputError(f"profile training.joint is not a training configuration: {exc}") from None
