"""A tiny jointly trained model (ResNet-8 at quarter width on digits) exported once, and the
final model of the same partitioning fine-tuned from it, exported once too.

torch runs single-threaded, as in the profiling tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import torch

from splitexit.export import Manifest, export_partitions, load_joint
from splitexit.nets import MultiExitNet
from splitexit.training import (
    DatasetSplits,
    FinalSettings,
    TrainConfig,
    TrainedNet,
    load_dataset,
    train_final_net,
    train_joint,
)
from tests.helpers import share_onnx_registry

torch.set_num_threads(1)

PARTITION = (0, 2, 3)  # 0-based last blocks: P = [1, 3, 4]
PLACEMENT = ("smartphone", "edge", "cloud")
ATOL = 1e-4  # ONNX Runtime against PyTorch, float32 probabilities and entropies


def torch_exits(
    net: MultiExitNet, images: npt.NDArray[np.float32], partition: tuple[int, ...] = PARTITION
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """PyTorch's probabilities (n, L, C) and normalized entropies (n, L) at P's exits."""
    net = net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(images))
    chosen = [logits[net.exits.index(p)] for p in partition]
    log_p = torch.stack([torch.log_softmax(z.double(), dim=1) for z in chosen], dim=1)
    entropy = -(log_p.exp() * log_p).sum(dim=2) / np.log(log_p.shape[2])
    return log_p.exp().float().numpy(), entropy.float().numpy()


def clear_threshold(entropy: npt.NDArray[np.float32], low: float = 0.2, high: float = 0.8) -> float:
    """A threshold in [low, high] in the middle of the widest gap between the entropies:
    decisions are exact wherever no entropy lies within the tolerance of T."""
    values = entropy.ravel()
    inside = np.sort(np.concatenate([[low, high], values[(values > low) & (values < high)]]))
    gaps = np.diff(inside)
    widest = int(np.argmax(gaps))
    assert gaps[widest] > 4 * ATOL
    return float(inside[widest] + gaps[widest] / 2)


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
    share_onnx_registry()
    work_dir = tmp_path_factory.mktemp("export-work")
    data = load_dataset("digits")
    config = TrainConfig(epochs=1, batch_size=16, lr=0.1, augment=False)
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


@dataclass(frozen=True, eq=False)
class FinalExported:
    final: TrainedNet
    manifest: Manifest
    out_dir: Path


FINAL_SETTINGS = FinalSettings(epochs=1, lr=0.02, precision="fp32")


@pytest.fixture(scope="session")
def final_exported(exported: Exported, tmp_path_factory: pytest.TempPathFactory) -> FinalExported:
    """The final model of P = [1, 3, 4] (one epoch from the joint weights), exported."""
    share_onnx_registry()
    joint = load_joint(
        exported.work_dir / "joint.pt", model="resnet8", dataset="digits", num_classes=10
    )
    final = train_final_net(
        model="resnet8",
        dataset="digits",
        partition=PARTITION,
        work_dir=exported.work_dir,
        joint=joint,
        settings=FINAL_SETTINGS,
        data=exported.data,
    )
    out_dir = tmp_path_factory.mktemp("export-final")
    manifest = export_partitions(
        final.net,
        partition=PARTITION,
        placement=PLACEMENT,
        threshold=0.5,
        destination="cloud",
        model="resnet8",
        dataset="digits",
        input_shape=exported.data.train.images.shape[1:],
        out_dir=out_dir,
    )
    return FinalExported(final, manifest, out_dir)
