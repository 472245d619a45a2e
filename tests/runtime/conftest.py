"""A tiny exported chain (ResNet-8 at quarter width, seeded random weights, digits-sized input)
and workers on loopback: processes (``workers``) or servers in this process (``served``).
Random weights are enough here: the runtime must reproduce whatever the partitions compute,
and the exit rule, exactly."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from splitexit.export import Manifest, export_partitions
from splitexit.nets import build_network
from splitexit.profiling import normalized_entropy
from splitexit.topology import Topology, load_topology
from splitexit.training import DatasetSplits, load_dataset
from tests.helpers import share_onnx_registry

torch.set_num_threads(1)

PARTITION = (0, 2, 3)  # P = [1, 3, 4]
PLACEMENT = ("smartphone", "edge", "cloud")


@dataclass(frozen=True, eq=False)
class Deployable:
    manifest: Manifest
    folder: Path
    data: DatasetSplits
    topology: Topology
    threshold: float


@pytest.fixture(scope="session")
def deployable(tmp_path_factory: pytest.TempPathFactory) -> Deployable:
    share_onnx_registry()
    torch.manual_seed(0)
    data = load_dataset("digits")
    net = build_network("resnet8", in_channels=1, num_classes=10, width=0.25).eval()
    folder = tmp_path_factory.mktemp("runtime-export")
    # a threshold that splits the samples between exits, away from every entropy: PyTorch's
    # entropies at the first exit (ONNX Runtime's differ by ~1e-7; the gap is > 1e-4)
    with torch.no_grad():
        logits = net(torch.from_numpy(data.profile.images[:64]))[net.exits.index(PARTITION[0])]
    values = np.sort(normalized_entropy(logits.numpy()))
    gaps = np.diff(values)
    middle = len(values) // 2
    i = middle + int(np.argmax(gaps[middle:] > 1e-4))  # the first clear gap above the median
    threshold = float((values[i] + values[i + 1]) / 2)
    manifest = export_partitions(
        net, partition=PARTITION, placement=PLACEMENT, threshold=threshold,
        destination="smartwatch", model="resnet8", dataset="digits",
        input_shape=data.train.images.shape[1:], out_dir=folder / "chain",
    )  # fmt: skip
    return Deployable(manifest, folder / "chain", data, load_topology("mobile"), threshold)


@pytest.fixture
def workers(deployable: Deployable) -> Iterator[object]:
    """Worker processes (``splitexit worker``), for the tests where processes are the point."""
    from splitexit.runtime import LocalWorkers

    tiers = [p.tier for p in deployable.manifest.partitions]
    # frames on too (loopback), so a test can stream over either transport
    with LocalWorkers(tiers, extra_args=["--transport", "tcp"]) as started:
        yield started


@dataclass
class InProcessWorkers:
    """One ``WorkerServer`` per tier in this process (as ``LocalWorkers`` has processes)."""

    token: str
    addresses: dict[str, str]
    servers: dict[str, object]

    def kill(self, tier: str) -> None:
        self.servers[tier].stop(0)  # type: ignore[attr-defined]


@contextmanager
def in_process_workers(tiers: list[str], **options: object) -> Iterator[InProcessWorkers]:
    """Start a worker server per tier in this process; stop them all on the way out."""
    from splitexit.runtime import WorkerOptions, WorkerServer
    from splitexit.runtime._logs import LOGGER, configure_logging

    # the workers' log lines go to a buffer, as a separate process's would stay out of the
    # output of the command under test; the logger is restored afterwards
    logger = logging.getLogger(LOGGER)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    configure_logging("info", "text", stream=io.StringIO())
    token = secrets.token_hex(8)
    servers = {t: WorkerServer(t, token, options=WorkerOptions(**options)) for t in tiers}  # type: ignore[arg-type]
    try:
        addresses = {t: f"127.0.0.1:{s.start()}" for t, s in servers.items()}
        yield InProcessWorkers(token, addresses, servers)  # type: ignore[arg-type]
    finally:
        for server in servers.values():
            server.stop(0)
        logger.handlers[:], logger.level, logger.propagate = saved


@pytest.fixture
def served(deployable: Deployable) -> Iterator[InProcessWorkers]:
    """The chain's tiers served in this process: for tests where processes are not the point."""
    tiers = [p.tier for p in deployable.manifest.partitions]
    with in_process_workers(tiers, transport="tcp") as started:  # frames on too (loopback)
        yield started
