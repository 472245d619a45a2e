"""The final model of one configuration: trained with only its exits, for ``splitexit export``.

Seed 000, 3.2 measures deployments on such a "final model" (only the selected exits, the sum
of their losses). It is trained by ``train_final``, as ``splitexit validate`` trains its final
models, and cached the same way: a fingerprinted checkpoint
``WORK_DIR/final-<init>/final-<P_1>-...-<P_L>.pt`` that makes a second export instant.
The joint run it starts from is anything shaped like export's ``JointCheckpoint``
(:class:`JointStart`), so that training never imports export.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from splitexit._validation import InstanceOf, Interval, Options, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.training._device import check_device

if TYPE_CHECKING:
    from rich.console import Console

    from splitexit.datasets import DatasetSplits
    from splitexit.training._runs import TrainedNet
    from splitexit.training._train import TrainConfig

__all__ = ["FINAL_INITS", "FinalSettings", "JointStart", "final_work_dir", "train_final_net"]


@runtime_checkable
class JointStart(Protocol):
    """The joint run a final model starts from (export's ``JointCheckpoint`` is one)."""

    @property
    def path(self) -> Path: ...

    @property
    def width(self) -> float: ...

    def train_config(self) -> TrainConfig: ...

    def as_trained(self) -> TrainedNet: ...


FINAL_INITS = ("joint", "scratch")


@validate_params(
    {
        "init": [InstanceOf(str)],
        "epochs": [Interval(int, None, None)],
        "lr": [Interval(float, None, None)],
        "precision": [InstanceOf(str)],
        "width": [Interval(float, None, None), None],
        "data_dir": [PathLike(), None],
        "device": [InstanceOf(str)],
    }
)
@dataclass(frozen=True)
class FinalSettings:
    """How the final model trains; the defaults are ``splitexit validate``'s.

    Batch size, seed, momentum, weight decay, warm-up and augmentation are the joint run's
    (read off its checkpoint); ``epochs``, ``lr`` and ``precision`` replace them. ``width``
    only matters from scratch without a joint checkpoint (default 1.0); fine-tuned final
    models keep the joint model's width.
    """

    init: str = "joint"  # start from the joint weights, or "scratch"
    epochs: int = 1
    lr: float = 0.02
    precision: str = "fp32"
    width: float | None = None
    data_dir: Path | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.init not in FINAL_INITS:
            raise InputError(f"init must be 'joint' or 'scratch', got {self.init!r}")
        if self.width is not None and not self.width > 0:
            raise InputError(f"width must be > 0, got {self.width}")
        check_device(self.device)


@validate_params({"work_dir": [PathLike()], "init": [Options(FINAL_INITS)]})
def final_work_dir(work_dir: Path, init: str) -> Path:
    """Where the final models of ``init`` are cached: ``WORK_DIR/final-<init>``."""
    return work_dir / f"final-{init}"


@validate_params(
    {
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "partition": [InstanceOf(list, tuple)],
        "work_dir": [PathLike()],
        "joint": [InstanceOf(JointStart), None],
        "settings": [InstanceOf(FinalSettings)],
        "console": [InstanceOf("rich.console:Console"), None],
        "data": [InstanceOf("splitexit.datasets:DatasetSplits"), None],
    }
)
def train_final_net(
    *,
    model: str,
    dataset: str,
    partition: Sequence[int],
    work_dir: Path,
    joint: JointStart | None,
    settings: FinalSettings,
    console: Console | None = None,
    data: DatasetSplits | None = None,
) -> TrainedNet:
    """Train (or load from the cache) the final model of ``partition`` (0-based last blocks).

    ``joint`` is the profile run's joint checkpoint: the starting weights with ``init="joint"``
    (required then) and, either way, the hyperparameters and width. The returned network is
    on the CPU in eval mode, ready for ``export_partitions``.

    >>> final = train_final_net(  # doctest: +SKIP
    ...     model="resnet8", dataset="digits", partition=[0, 3], joint=joint,
    ...     work_dir=Path("runs/resnet8-digits"), settings=FinalSettings())
    >>> final.net.exits  # doctest: +SKIP
    (0, 3)
    """
    from splitexit.datasets import load_dataset
    from splitexit.training._runs import train_final
    from splitexit.training._train import TrainConfig

    if settings.init == "joint" and joint is None:
        raise InputError("a final model fine-tuned from the joint weights needs joint.pt")
    width = settings.width
    if joint is not None:
        if width is not None and width != joint.width:
            raise InputError(
                f"width {width:g} differs from the joint checkpoint's {joint.width:g} "
                f"({joint.path}); final models keep the joint model's width"
            )
        width = joint.width
    base = TrainConfig() if joint is None else joint.train_config()
    config = dataclasses.replace(
        base, epochs=settings.epochs, lr=settings.lr, precision=settings.precision
    )
    if data is None:
        data = load_dataset(dataset, data_dir=settings.data_dir)
    final = train_final(
        model,
        data,
        config,
        exits=[int(p) for p in partition],
        work_dir=final_work_dir(work_dir, settings.init),
        width=1.0 if width is None else width,
        device=settings.device,
        console=console,
        init=joint.as_trained() if settings.init == "joint" and joint is not None else None,
    )
    final.net.cpu().eval()
    return final
