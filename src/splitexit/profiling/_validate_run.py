"""``splitexit validate``: train K final models and score every estimator against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from splitexit.datasets import DatasetSplits, load_dataset
from splitexit.errors import InputError
from splitexit.profile import load_profile, load_profile_trace
from splitexit.profiling._validate import (
    ValidationResult,
    choose_partitions,
    measure_final,
    predict,
    validation_result,
)
from splitexit.training import TrainConfig, train_final, train_joint

__all__ = ["ValidationSettings", "validate"]


@dataclass(frozen=True)
class ValidationSettings:
    """What ``splitexit validate`` decides. ``joint`` must be the profile run's joint
    configuration: its checkpoint in ``work_dir`` is reused, never retrained."""

    profile: Path
    work_dir: Path
    joint: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8))
    final: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1, lr=0.02))
    init: str = "joint"  # final models start from the joint weights, or "scratch"
    k: int = 3
    max_parts: int = 4
    seed: int = 0
    width: float = 1.0
    data_dir: Path | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.init not in ("joint", "scratch"):
            raise InputError(f"init must be 'joint' or 'scratch', got {self.init!r}")


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
    if data is None:
        data = load_dataset(profile.dataset, data_dir=settings.data_dir)
    width, device = settings.width, settings.device
    init = None
    if settings.init == "joint":
        init = train_joint(
            profile.model,
            data,
            settings.joint,
            work_dir=settings.work_dir,
            width=width,
            device=device,
            console=console,
        )
    measured = []
    for parts in partitions:
        final = train_final(
            profile.model,
            data,
            settings.final,
            exits=parts,
            work_dir=settings.work_dir / f"validate-{settings.init}",
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
