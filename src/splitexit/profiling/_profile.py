"""From a model name and a dataset to a ``splitexit.profile/1`` file and its trace.

Seed 000, section 2.2: train the full configuration jointly and one model per branch
separately; on the profiling split take alpha_i(T) for 20 thresholds from the joint model's
normalized entropies, acc_i from the separate models and ``accuracy_joint`` from the joint
one; time CK_i and CB_i at batch size 1 (a percentile over training samples, after warm-up);
read O_i and the result size off the real tensors. Every sample's entropy and correctness at
every branch, for both trainings, goes to the trace written beside the profile.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from splitexit._transaction import Outputs
from splitexit._validation import InstanceOf, Interval, PathLike, validate_params
from splitexit.datasets import DatasetSplits, Preprocessing, load_dataset
from splitexit.errors import InputError
from splitexit.profile import Profile, Trace, exit_rates_from_entropy, save_profile, save_trace
from splitexit.profiling._measure import normalized_entropy, tensor_bits, time_blocks
from splitexit.profiling._retime import RetimeSettings, engine_name, onnx_times, timing_note
from splitexit.training import (
    ExecutorSettings,
    TrainConfig,
    TrainTask,
    cache_key,
    cache_root,
    check_device,
    checkpoint_name,
    predict_logits,
    run_dir,
    run_tasks,
    train_joint,
    train_separate,
    training_record,
)

__all__ = ["ProfileSettings", "profile_model", "trace_path_for", "write_profile"]


@validate_params(
    {
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "work_dir": [PathLike(), None],
        "joint": [InstanceOf(TrainConfig)],
        "separate": [InstanceOf(TrainConfig)],
        "separate_init": [InstanceOf(str)],
        "width": [Interval(float, 0, None, closed="neither")],
        "data_dir": [PathLike(), None],
        "device": [InstanceOf(str)],
        "num_thresholds": [Interval(int, None, None)],
        "percentile": [Interval(float, None, None)],
        "timing_samples": [Interval(int, None, None)],
        "warmup": [Interval(int, None, None)],
        "preprocessing": [InstanceOf(Preprocessing)],
        "cache": [PathLike(), None],
        "executor": [InstanceOf(ExecutorSettings)],
        "onnx": [InstanceOf(RetimeSettings), None],
    }
)
@dataclass(frozen=True)
class ProfileSettings:
    """Everything ``splitexit profile`` decides.

    The defaults are the CLI's, except precision: ``TrainConfig`` defaults to fp32 and the CLI
    picks bf16 where the hardware runs it natively (``default_precision``).
    """

    model: str  # a built-in name, or a user factory FILE.py:NAME / MODULE:NAME
    dataset: str  # a built-in name, or an .npz file / image folder
    work_dir: Path | None = None  # None: the cache's run folder of these inputs (run_dir)
    joint: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8))
    separate: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1, lr=0.02))
    separate_init: str = "joint"  # separate models start from the joint weights, or "scratch"
    width: float = 1.0
    data_dir: Path | None = None
    device: str = "cpu"
    num_thresholds: int = 20
    percentile: float = 99.0
    timing_samples: int = 500
    warmup: int = 50
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    cache: Path | None = None  # cache root (else $SPLITEXIT_CACHE, else ~/.cache/splitexit)
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)
    onnx: RetimeSettings | None = field(default_factory=RetimeSettings)  # None: PyTorch only

    def hyperparameters(self) -> dict[str, Any]:
        """What the checkpoints depend on besides model source and data (the cache key's)."""
        return training_record(
            joint=self.joint,
            separate=self.separate,
            separate_init=self.separate_init,
            width=self.width,
            preprocessing=self.preprocessing.to_record(),
        )

    def key(self) -> str:
        """The cache key of these trainings."""
        return cache_key(self.model, self.dataset, self.hyperparameters())

    def run_folder(self) -> Path:
        """``work_dir``, or the cache's folder for :meth:`key`."""
        if self.work_dir is not None:
            return self.work_dir
        return run_dir(cache_root(self.cache), self.model, self.dataset, self.key())

    def __post_init__(self) -> None:
        if self.separate_init not in ("joint", "scratch"):
            raise InputError(
                f"separate init must be 'joint' or 'scratch', got {self.separate_init!r}"
            )
        if self.num_thresholds < 1:
            raise InputError(f"thresholds must be >= 1, got {self.num_thresholds}")
        if not 0.0 < self.percentile <= 100.0:
            raise InputError(f"percentile must be in (0, 100], got {self.percentile}")
        if self.timing_samples < 1 or self.warmup < 0:
            raise InputError(
                f"timing samples must be >= 1 and warm-up >= 0, got {self.timing_samples} "
                f"and {self.warmup}"
            )
        check_device(self.device)


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(torch.device(device))} (torch {torch.__version__})"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch threads (torch {torch.__version__})"


def _branch_outputs(logits: list[np.ndarray], labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    entropy = np.stack([normalized_entropy(out) for out in logits], axis=1)
    correct = np.stack([out.argmax(axis=1) == labels for out in logits], axis=1)
    return entropy, correct


@validate_params(
    {
        "settings": [InstanceOf(ProfileSettings)],
        "console": [InstanceOf(Console), None],
        "data": [InstanceOf(DatasetSplits), None],
    }
)
def profile_model(
    settings: ProfileSettings,
    *,
    console: Console | None = None,
    data: DatasetSplits | None = None,
) -> tuple[Profile, Trace]:
    """Train (or load from ``settings.work_dir``) and profile; returns the profile and trace."""
    if data is None:
        data = load_dataset(
            settings.dataset, data_dir=settings.data_dir, preprocessing=settings.preprocessing
        )
    work_dir, width, device = settings.run_folder(), settings.width, settings.device
    joint = train_joint(
        settings.model,
        data,
        settings.joint,
        work_dir=work_dir,
        width=width,
        device=device,
        console=console,
    )
    init = settings.separate_init == "joint"
    tasks = [
        TrainTask(
            kind="separate",
            model=settings.model,
            dataset=settings.dataset,
            exits=(i,),
            config=settings.separate,
            work_dir=work_dir,
            joint_config=settings.joint if init else None,
            width=width,
            device=device,
            data_dir=settings.data_dir,
            preprocessing=settings.preprocessing.to_record(),
            threads=torch.get_num_threads(),
        )
        for i in range(joint.net.num_blocks)
        if not _finished(work_dir, i)
    ]
    if not settings.executor.in_process(len(tasks), torch.get_num_threads()):
        run_tasks(tasks, settings.executor, console=console, what="separate models")
    separate = train_separate(
        settings.model,
        data,
        settings.separate,
        num_blocks=joint.net.num_blocks,
        work_dir=work_dir,
        width=width,
        device=device,
        console=console,
        init=joint if settings.separate_init == "joint" else None,
    )
    split = data.profile
    if console is not None:
        console.print(f"profiling on {len(split)} samples of the profiling split", soft_wrap=True)
    joint_logits = predict_logits(joint.net, split.images, device=settings.device)
    separate_logits = [
        predict_logits(s.net, split.images, device=settings.device)[0] for s in separate
    ]
    entropy_joint, correct_joint = _branch_outputs(joint_logits, split.labels)
    entropy_separate, correct_separate = _branch_outputs(separate_logits, split.labels)
    trace = Trace(
        model=settings.model,
        dataset=data.name,
        split="profile",
        labels=split.labels,
        entropy_joint=entropy_joint,
        correct_joint=correct_joint,
        entropy_separate=entropy_separate,
        correct_separate=correct_separate,
    )

    timing_images = data.train.images[: settings.timing_samples]
    block_s, branch_s = time_blocks(
        joint.net,
        timing_images,
        warmup=settings.warmup,
        percentile=settings.percentile,
        device=settings.device,
    )
    output_bits, result_bits = tensor_bits(joint.net, data.train.images[0])
    timings = {"pytorch": (block_s, branch_s)}
    engine, timed_by = "pytorch", f"torch {torch.__version__}"
    if settings.onnx is not None:
        onnx = onnx_times(joint.net, data.train.images[:1], settings.onnx)
        timings["onnxruntime"] = onnx
        block_s, branch_s = onnx
        engine, timed_by = "onnxruntime", engine_name(settings.onnx)
    thresholds = np.arange(1, settings.num_thresholds + 1) / settings.num_thresholds
    epochs = (
        f"joint {settings.joint.epochs} epochs, separate {settings.separate.epochs} epochs "
        f"from {'the joint weights' if settings.separate_init == 'joint' else 'scratch'}"
    )
    profile = Profile(
        model=settings.model,
        dataset=data.name,
        num_classes=data.num_classes,
        input_bits=data.input_bits,
        result_bits=result_bits,
        thresholds=thresholds,
        block_names=joint.net.block_names,
        output_bits=np.array(output_bits),
        block_compute_s=block_s,
        branch_compute_s=branch_s,
        accuracy=correct_separate.mean(axis=0).astype(np.float64),
        accuracy_joint=correct_joint.mean(axis=0).astype(np.float64),
        exit_rates=exit_rates_from_entropy(entropy_joint.astype(np.float64), thresholds),
        reference_device=f"{timed_by} on {_device_name(settings.device)}",
        notes=(
            f"measured by `splitexit profile` ({epochs}; width {settings.width:g}); accuracies "
            f"and exit rates on the {len(split)}-sample profiling split; PyTorch compute times "
            f"are the p{settings.percentile:g} of {len(timing_images)} batch-1 runs after "
            f"{settings.warmup} warm-up runs"
            + (
                ""
                if settings.onnx is None
                else f"; ONNX Runtime ones (used) the {timing_note(settings.onnx)}"
            )
            + "; O_0 is 8-bit pixels, O_i float32 activations"
        ),
        timing_engine=engine,
        timings=timings,
        preprocessing=data.preprocessing().to_record(),
        training={**settings.hyperparameters(), "cache_key": settings.key()},
    )
    return profile, trace


def _finished(work_dir: Path, i: int) -> bool:
    return (work_dir / checkpoint_name("separate", (i,))).exists()


@validate_params({"profile_path": [PathLike()]})
def trace_path_for(profile_path: Path) -> Path:
    """Where the trace of ``profile_path`` goes: ``NAME.json`` -> ``NAME.trace.npz``."""
    return profile_path.with_name(profile_path.stem + ".trace.npz")


@validate_params(
    {"profile": [InstanceOf(Profile)], "trace": [InstanceOf(Trace)], "out": [PathLike()]}
)
def write_profile(profile: Profile, trace: Trace, out: Path) -> Path:
    """Write the trace and the profile naming it, both or neither; returns the trace path."""
    trace_path = trace_path_for(out)
    with Outputs() as outputs:  # both or neither
        save_trace(trace, outputs.file(trace_path))
        save_profile(_with_trace(profile, trace_path.name), outputs.file(out))
    return trace_path


def _with_trace(profile: Profile, name: str) -> Profile:
    return replace(profile, trace=name)
