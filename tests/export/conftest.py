"""A tiny jointly trained model (ResNet-8 at quarter width on digits) exported once.

torch runs single-threaded, as in the profiling tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from splitexit.export import Manifest, export_partitions
from splitexit.training import DatasetSplits, TrainConfig, TrainedNet, load_dataset, train_joint

torch.set_num_threads(1)

PARTITION = (0, 2, 3)  # 0-based last blocks: P = [1, 3, 4]
PLACEMENT = ("smartphone", "edge", "cloud")


@dataclass(frozen=True, eq=False)
class Exported:
    joint: TrainedNet
    data: DatasetSplits
    manifest: Manifest
    out_dir: Path
    work_dir: Path


@pytest.fixture(scope="session")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    """Train one epoch, export three partitions with T = 0.5; computed once per session."""
    work_dir = tmp_path_factory.mktemp("export-work")
    data = load_dataset("digits")
    config = TrainConfig(epochs=1, batch_size=64, lr=0.05, augment=False)
    joint = train_joint("resnet8", data, config, work_dir=work_dir, width=0.25)
    out_dir = tmp_path_factory.mktemp("export-out")
    manifest = export_partitions(
        joint.net,
        partition=PARTITION,
        placement=PLACEMENT,
        threshold=0.5,
        destination="cloud",
        model="resnet8",
        dataset="digits",
        input_shape=data.train.images.shape[1:],
        out_dir=out_dir,
    )
    return Exported(joint, data, manifest, out_dir, work_dir)
