"""One training run: sum of the exits' cross-entropy losses, SGD, resumable per epoch.

With one exit this is ordinary training (the paper's separate training of branch i); with an
exit after every block it is the joint training of the full configuration (seed 000, 2.2:
"we optimize the sum of losses from all exit branches"; survey 002, eq. 8 with lambda_j = 1).

The learning rate warms up linearly for ``warmup`` of the steps, then follows a half cosine
to zero (a one-cycle schedule, good for short budgets). It is a pure function of the step,
and batch order and augmentation are seeded by (seed, epoch), so a run resumed from an epoch
checkpoint follows the same path as one never interrupted.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import Tensor, nn

from splitexit._validation import InstanceOf, Interval, PathLike, returned_type, validate_params
from splitexit.datasets import DatasetSplits, Split
from splitexit.errors import InputError
from splitexit.nets import MultiExitNet
from splitexit.training._checkpoint import load_checkpoint, save_checkpoint
from splitexit.training._evaluate import accuracies

__all__ = ["PRECISIONS", "EpochRecord", "TrainConfig", "default_precision", "train_network"]

PRECISIONS = ("fp32", "bf16")


@validate_params({"device": [InstanceOf(str)]})
def default_precision(device: str) -> str:
    """bf16 where the hardware runs it natively (CPU: AVX-512 BF16 / AMX), else fp32."""
    if device.startswith("cuda"):
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"


@validate_params(
    {
        "epochs": [Interval(int, None, None)],
        "batch_size": [Interval(int, None, None)],
        "lr": [Interval(float, None, None)],
        "momentum": [Interval(float, 0, 1)],
        "weight_decay": [Interval(float, 0, None)],
        "warmup": [Interval(float, None, None)],
        "augment": [InstanceOf(bool)],
        "precision": [InstanceOf(str)],
        "seed": [Interval(int, 0, None)],
    }
)
@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (SGD with Nesterov momentum, one-cycle LR)."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1  # peak learning rate
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup: float = 0.15  # fraction of the steps spent warming up
    augment: bool = True  # random crop (pad 2) and, where labels allow, horizontal flip
    precision: str = "fp32"  # or "bf16": autocast of the forward pass (weights stay fp32)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"batch size must be >= 1, got {self.batch_size}")
        if not self.lr > 0:
            raise InputError(f"learning rate must be > 0, got {self.lr}")
        if not 0 <= self.warmup < 1:
            raise InputError(f"warmup must be in [0, 1), got {self.warmup}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision must be 'fp32' or 'bf16', got {self.precision!r}")

    def lr_at(self, step: int, total: int) -> float:
        """The learning rate of optimizer step ``step`` out of ``total``."""
        warm = max(1, round(self.warmup * total))
        if step < warm:
            return self.lr * (0.04 + 0.96 * step / warm)
        progress = (step - warm) / max(1, total - warm)
        return self.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


@returned_type
@dataclass(frozen=True)
class EpochRecord:
    """What one epoch achieved: mean training loss, and accuracy per exit on the eval split."""

    epoch: int
    loss: float
    eval_accuracy: tuple[float, ...]
    seconds: float


def _augment(x: Tensor, *, flip: bool, generator: torch.Generator) -> Tensor:
    """Random crop after zero padding by 2 pixels, and a random horizontal flip if ``flip``."""
    batch, _, height, width = x.shape
    padded = nn.functional.pad(x, (2, 2, 2, 2)).permute(0, 2, 3, 1)  # (B, H+4, W+4, C)
    dy = torch.randint(0, 5, (batch,), generator=generator)
    dx = torch.randint(0, 5, (batch,), generator=generator)
    rows = (dy[:, None] + torch.arange(height))[:, :, None]  # (B, H, 1)
    cols = (dx[:, None] + torch.arange(width))[:, None, :]  # (B, 1, W)
    out = padded[torch.arange(batch)[:, None, None], rows, cols].permute(0, 3, 1, 2)
    if flip:
        mirror = torch.rand(batch, generator=generator) < 0.5
        out = torch.where(mirror[:, None, None, None], out.flip(-1), out)
    return out.contiguous()


@validate_params(
    {
        "net": [InstanceOf(MultiExitNet)],
        "data": [InstanceOf(DatasetSplits)],
        "config": [InstanceOf(TrainConfig)],
        "checkpoint": [PathLike(), None],
        "fingerprint": [InstanceOf(dict)],
        "label": [InstanceOf(str)],
        "device": [InstanceOf(str)],
        "console": [InstanceOf(Console), None],
        "eval_split": [InstanceOf(Split), None],
    }
)
def train_network(
    net: MultiExitNet,
    data: DatasetSplits,
    config: TrainConfig,
    *,
    checkpoint: Path | None,
    fingerprint: dict[str, Any],
    label: str,
    device: str = "cpu",
    console: Console | None = None,
    eval_split: Split | None = None,
) -> list[EpochRecord]:
    """Train ``net`` in place for ``config.epochs``; resume from / save to ``checkpoint``.

    ``fingerprint`` (model, dataset, exits, ...) is stored with the checkpoint and must match
    on resume. Prints a progress bar and one line per epoch on ``console`` (none: silent).
    Returns the history of every epoch, resumed ones included.
    """
    full_print = {**fingerprint, "config": dataclasses.asdict(config)}
    # On the device before the optimizer state loads, so that its buffers land there too;
    # channels-last convolutions run faster on CPU (oneDNN), and the saved weights are the same.
    net.to(device)
    net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    optimizer = torch.optim.SGD(
        net.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        nesterov=True,
        weight_decay=config.weight_decay,
    )
    history: list[EpochRecord] = []
    start = 0
    state = None if checkpoint is None else load_checkpoint(checkpoint, fingerprint=full_print)
    if state is not None:
        try:
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:
            raise InputError(f"{checkpoint}: checkpoint does not fit the network ({exc})") from None
        history = [EpochRecord(**record) for record in state["history"]]
        start = int(state["epoch"])
    low = torch.bfloat16 if config.precision == "bf16" else torch.float32
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    train = data.train
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    total = steps_per_epoch * config.epochs
    if console is not None and start >= config.epochs:
        console.print(f"{label}: trained already ({checkpoint}), skipping", soft_wrap=True)
    for epoch in range(start, config.epochs):
        began = time.perf_counter()
        net.train()
        order = np.random.default_rng([config.seed, epoch]).permutation(len(train))
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        loss_sum = 0.0
        with _progress(console) as progress:
            task = progress.add_task(
                f"{label} epoch {epoch + 1}/{config.epochs}", total=total, info=""
            )
            progress.update(task, completed=epoch * steps_per_epoch)
            for b in range(steps_per_epoch):
                index = order[b * config.batch_size : (b + 1) * config.batch_size]
                x = torch.from_numpy(train.images[index])
                if config.augment:
                    x = _augment(x, flip=data.flip, generator=generator)
                y = torch.from_numpy(train.labels[index]).to(device)
                for group in optimizer.param_groups:
                    group["lr"] = config.lr_at(epoch * steps_per_epoch + b, total)
                x = x.to(device).contiguous(memory_format=torch.channels_last)
                with torch.autocast(device_type, dtype=low, enabled=config.precision == "bf16"):
                    outputs = net(x)
                losses = [nn.functional.cross_entropy(out.float(), y) for out in outputs]
                loss = torch.stack(losses).sum()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()  # type: ignore[no-untyped-call]
                optimizer.step()
                loss_sum += loss.item()
                hits = float((outputs[-1].argmax(1) == y).float().mean())
                progress.update(task, advance=1, info=f"loss {loss.item():.3f} acc {hits:.3f}")
        evaluated = accuracies(net, eval_split, device=device) if eval_split is not None else []
        record = EpochRecord(
            epoch=epoch + 1,
            loss=loss_sum / steps_per_epoch,
            eval_accuracy=tuple(evaluated),
            seconds=time.perf_counter() - began,
        )
        history.append(record)
        if checkpoint is not None:
            save_checkpoint(
                checkpoint,
                {
                    "fingerprint": full_print,
                    "epoch": epoch + 1,
                    "model": net.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "history": [dataclasses.asdict(r) for r in history],
                },
            )
        if console is not None:
            shown = " ".join(f"{a:.3f}" for a in record.eval_accuracy)
            console.print(
                f"{label} epoch {record.epoch}/{config.epochs}: loss {record.loss:.4f}, "
                f"eval accuracy per exit [{shown}], {record.seconds:.0f} s",
                soft_wrap=True,
            )
    net.to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    net.eval()
    return history


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=console,
        disable=console is None or not console.is_terminal,
        transient=True,
    )
