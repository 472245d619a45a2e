"""The trainings the profiler and the validator need, each with its checkpoint in a work dir.

- joint: the full configuration, an exit after every block, trained once on the sum of losses;
- separate: one model per branch i, blocks 1..i plus exit i, trained end to end (seed 000, 2.2);
- final: a model with only the exits of a partitioning P, as deployed (seed 000, 3.2).

Checkpoints are ``joint.pt``, ``separate-<i>.pt`` and ``final-<P_1>-...-<P_L>.pt`` (1-based,
as the paper numbers blocks); a finished checkpoint makes the training a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from rich.console import Console

from splitexit._validation import (
    InstanceOf,
    Interval,
    Options,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.datasets import DatasetSplits
from splitexit.errors import InputError
from splitexit.nets import MultiExitNet, build_network
from splitexit.training._train import EpochRecord, TrainConfig, train_network

__all__ = ["TrainedNet", "checkpoint_name", "train_final", "train_joint", "train_separate"]


@returned_type
@dataclass(frozen=True, eq=False)
class TrainedNet:
    """A trained network and its per-epoch history."""

    net: MultiExitNet
    history: list[EpochRecord]
    checkpoint: Path


@validate_params(
    {"kind": [Options(("joint", "separate", "final"))], "exits": [InstanceOf(list, tuple)]}
)
def checkpoint_name(kind: str, exits: Sequence[int]) -> str:
    """File name of a training's checkpoint; ``exits`` are 0-based."""
    if kind == "joint":
        return "joint.pt"
    if kind == "separate":
        return f"separate-{exits[0] + 1:02d}.pt"
    return "final-" + "-".join(str(i + 1) for i in exits) + ".pt"


def _train(
    kind: str,
    model: str,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    exits: Sequence[int] | None,
    work_dir: Path,
    width: float,
    device: str,
    console: Console | None,
    label: str,
    init: TrainedNet | None = None,
) -> TrainedNet:
    torch.manual_seed(config.seed)  # the same initial weights on every run
    net = build_network(
        model,
        in_channels=data.in_channels,
        num_classes=data.num_classes,
        exits=exits,
        width=width,
        image_size=data.image_size,
    )
    if init is not None:
        _copy_weights(init.net, net)
    path = work_dir / checkpoint_name(kind, net.exits)
    fingerprint = {
        "kind": kind,
        "model": model,
        "width": width,
        "dataset": data.name,
        "train_samples": len(data.train),
        "exits": list(net.exits),
        "init": "scratch" if init is None else _describe(init),
    }
    history = train_network(
        net,
        data,
        config,
        checkpoint=path,
        fingerprint=fingerprint,
        label=label,
        device=device,
        console=console,
        eval_split=data.profile,
    )
    return TrainedNet(net=net, history=history, checkpoint=path)


@validate_params(
    {
        "model": [InstanceOf(str)],
        "data": [InstanceOf(DatasetSplits)],
        "config": [InstanceOf(TrainConfig)],
        "work_dir": [PathLike()],
        "width": [Interval(float, 0, None, closed="neither")],
        "device": [InstanceOf(str)],
        "console": [InstanceOf(Console), None],
    }
)
def train_joint(
    model: str,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    work_dir: Path,
    width: float = 1.0,
    device: str = "cpu",
    console: Console | None = None,
) -> TrainedNet:
    """Train (or load) the full configuration: one exit after every block, sum of losses."""
    return _train(
        "joint",
        model,
        data,
        config,
        exits=None,
        work_dir=work_dir,
        width=width,
        device=device,
        console=console,
        label="joint",
    )


@validate_params(
    {
        "model": [InstanceOf(str)],
        "data": [InstanceOf(DatasetSplits)],
        "config": [InstanceOf(TrainConfig)],
        "work_dir": [PathLike()],
        "num_blocks": [Interval(int, 1, None)],
        "width": [Interval(float, 0, None, closed="neither")],
        "device": [InstanceOf(str)],
        "console": [InstanceOf(Console), None],
        "init": [InstanceOf(TrainedNet), None],
        "only": [Interval(int, 0, None), None],
    }
)
def train_separate(
    model: str,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    work_dir: Path,
    num_blocks: int,
    width: float = 1.0,
    device: str = "cpu",
    console: Console | None = None,
    init: TrainedNet | None = None,
    only: int | None = None,
) -> list[TrainedNet]:
    """Train (or load) one model per branch i = 1..N: blocks 1..i plus exit i, end to end
    (with ``only``, branch ``only`` alone: an executor's task).

    From scratch (``init=None``, seed 000's separate training), or starting from the weights
    of blocks 1..i and head i of ``init`` (the joint model): fine-tuning converges in a
    fraction of the epochs, which is what lets N models fit the profiling budget.
    """
    return [
        _train(
            "separate",
            model,
            data,
            config,
            exits=(i,),
            work_dir=work_dir,
            width=width,
            device=device,
            console=console,
            label=f"separate {i + 1}/{num_blocks}",
            init=init,
        )
        for i in (range(num_blocks) if only is None else [only])
    ]


def _describe(init: TrainedNet) -> str:
    last = init.history[-1]
    return f"{init.checkpoint.name}: epoch {last.epoch}, loss {last.loss:.6g}"


def _copy_weights(source: MultiExitNet, target: MultiExitNet) -> None:
    """Blocks 1..P and, exit by exit, the heads of ``source`` into ``target``."""
    for i, block in enumerate(target.blocks):
        block.load_state_dict(source.blocks[i].state_dict())
    for head, i in zip(target.heads, target.exits, strict=True):
        head.load_state_dict(source.heads[source.exits.index(i)].state_dict())


@validate_params(
    {
        "model": [InstanceOf(str)],
        "data": [InstanceOf(DatasetSplits)],
        "config": [InstanceOf(TrainConfig)],
        "exits": [InstanceOf(list, tuple)],
        "work_dir": [PathLike()],
        "width": [Interval(float, 0, None, closed="neither")],
        "device": [InstanceOf(str)],
        "console": [InstanceOf(Console), None],
        "init": [InstanceOf(TrainedNet), None],
    }
)
def train_final(
    model: str,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    exits: Sequence[int],
    work_dir: Path,
    width: float = 1.0,
    device: str = "cpu",
    console: Console | None = None,
    init: TrainedNet | None = None,
) -> TrainedNet:
    """Train (or load) the final model of partitioning ``exits`` (0-based last blocks).

    Only the selected exits exist and the loss sums theirs (seed 000, 3.2); from scratch, or
    starting from ``init``'s weights (blocks, and the heads at the same blocks).
    """
    if not exits:
        raise InputError("a final model needs at least one exit")
    shown = ",".join(str(i + 1) for i in exits)
    return _train(
        "final",
        model,
        data,
        config,
        exits=exits,
        work_dir=work_dir,
        width=width,
        device=device,
        console=console,
        label=f"final P=[{shown}]",
        init=init,
    )
