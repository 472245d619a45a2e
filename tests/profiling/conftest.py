"""A tiny trained profile shared by the profiling tests.

torch runs single-threaded in tests: small models gain nothing from threads, and on a shared
machine competing OpenMP thread pools slow every process down.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from splitexit.profile import Profile, Trace
from splitexit.profiling import ProfileSettings, profile_model
from splitexit.training import TrainConfig

torch.set_num_threads(1)

JOINT = TrainConfig(epochs=10, batch_size=64, lr=0.05, augment=False)
SEPARATE = TrainConfig(epochs=3, batch_size=64, lr=0.02, augment=False)


def tiny_settings(work_dir: Path) -> ProfileSettings:
    """ResNet-8 at half width on digits: trains and profiles in a few seconds."""
    return ProfileSettings(
        model="resnet8",
        dataset="digits",
        work_dir=work_dir,
        width=0.5,
        timing_samples=20,
        warmup=2,
        joint=JOINT,
        separate=SEPARATE,
    )


@pytest.fixture(scope="session")
def tiny_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Profile, Trace, Path]:
    """A profile, its trace and the work dir holding the checkpoints, computed once."""
    work_dir = tmp_path_factory.mktemp("tiny-profile")
    profile, trace = profile_model(tiny_settings(work_dir))
    return profile, trace, work_dir
