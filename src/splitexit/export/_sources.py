"""Where an export's inputs come from: the configuration (a plan's recommendation or a file)
and the weights (the joint checkpoint that ``splitexit profile`` leaves in its work dir).
"""

from __future__ import annotations

import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitexit._boundary import read_mapping
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.nets import MultiExitNet
    from splitexit.topology import Topology

__all__ = ["ExportConfig", "config_from_file", "input_shape_from_bits", "load_joint_net"]


@dataclass(frozen=True)
class ExportConfig:
    """(T, P, A) as export takes it: 0-based last blocks, tier names."""

    threshold: float | None
    partition: tuple[int, ...]
    placement: tuple[str, ...]


def config_from_file(path: Path, topology: Topology, *, num_blocks: int) -> ExportConfig:
    """Read a configuration: ``splitexit plan --json`` output (its ``best``) or one point
    ``{"threshold": 0.4, "partition": [2, 10], "placement": ["edge", "cloud"]}`` (1-based)."""
    data: dict[str, Any] = read_mapping(path, kind="configuration")
    point = data.get("best", data)
    where = f"{path}: best" if "best" in data else str(path)
    if not isinstance(point, dict):
        raise InputError(f"{where} must be a mapping with threshold, partition and placement")
    for key in ("threshold", "partition", "placement"):
        if key not in point:
            raise InputError(f"{where}.{key} is required but missing")
    partition, placement, threshold = point["partition"], point["placement"], point["threshold"]
    if (
        not isinstance(partition, list)
        or not partition
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in partition)
        or partition != sorted(set(partition))
        or partition[0] < 1
        or partition[-1] > num_blocks
    ):
        raise InputError(
            f"{where}.partition must be increasing 1-based blocks in 1..{num_blocks}, "
            f"got {partition!r}"
        )
    names = [tier.name for tier in topology.tiers]
    if not isinstance(placement, list) or any(a not in names for a in placement):
        raise InputError(f"{where}.placement must be tier names of {names}, got {placement!r}")
    if len(placement) != len(partition):
        raise InputError(
            f"{where}.placement must name one tier per partition ({len(partition)}), "
            f"got {len(placement)}"
        )
    if isinstance(threshold, list):
        raise InputError(f"{where}.threshold: per-exit thresholds cannot be exported yet")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not 0.0 < threshold <= 1.0
    ):
        raise InputError(f"{where}.threshold must be in (0, 1] or null, got {threshold!r}")
    if threshold is None and len(partition) > 1:
        raise InputError(f"{where}.threshold is needed with {len(partition)} partitions")
    return ExportConfig(
        threshold=None if threshold is None else float(threshold),
        partition=tuple(p - 1 for p in partition),
        placement=tuple(placement),
    )


def input_shape_from_bits(input_bits: float, in_channels: int) -> tuple[int, int, int]:
    """(C, H, W) of a square image of 8-bit pixels from the profile's O_0 (bits)."""
    pixels = input_bits / 8 / in_channels
    side = math.isqrt(round(pixels))
    if side < 1 or side * side != pixels:
        raise InputError(
            f"the profile's input size ({input_bits:g} bits) is not a square image of 8-bit "
            f"pixels with {in_channels} channel(s)"
        )
    return in_channels, side, side


def load_joint_net(path: Path, *, model: str, dataset: str, num_classes: int) -> MultiExitNet:
    """The jointly trained full configuration from its checkpoint (``joint.pt``).

    Width and input channels are read off the checkpoint; a checkpoint of another model or
    dataset, or of a training that has not finished, is an :class:`InputError`.
    """
    import torch

    from splitexit.nets import build_network

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such checkpoint") from None
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: corrupt checkpoint ({reason})") from None
    if not isinstance(state, dict) or not {"fingerprint", "model", "epoch"} <= set(state):
        raise InputError(f"{path}: not a splitexit checkpoint")
    fingerprint = state["fingerprint"]
    for key, expected in (("kind", "joint"), ("model", model), ("dataset", dataset)):
        if fingerprint.get(key) != expected:
            raise InputError(
                f"{path}: fingerprint.{key} must be {expected!r}, got {fingerprint.get(key)!r}"
            )
    epochs = fingerprint.get("config", {}).get("epochs")
    if epochs is not None and int(state["epoch"]) < int(epochs):
        raise InputError(
            f"{path}: training stopped at epoch {state['epoch']} of {epochs}; run `splitexit "
            "profile` again to finish it"
        )
    weights = state["model"]
    first = next((w for w in weights.values() if getattr(w, "ndim", 0) == 4), None)
    if first is None:
        raise InputError(f"{path}: no convolution weights in the checkpoint")
    net = build_network(
        model,
        in_channels=int(first.shape[1]),
        num_classes=num_classes,
        width=float(fingerprint.get("width", 1.0)),
    )
    try:
        net.load_state_dict(weights)
    except RuntimeError as exc:
        raise InputError(
            f"{path}: checkpoint does not fit {model} ({str(exc).splitlines()[0]})"
        ) from None
    return net.eval()
