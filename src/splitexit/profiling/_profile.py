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

import numpy as np
import torch
from rich.console import Console

from splitexit.datasets import DatasetSplits, load_dataset
from splitexit.errors import InputError
from splitexit.profile import Profile, Trace, exit_rates_from_entropy, save_profile, save_trace
from splitexit.profiling._measure import normalized_entropy, tensor_bits, time_blocks
from splitexit.training import TrainConfig, predict_logits, train_joint, train_separate

__all__ = ["ProfileSettings", "profile_model", "trace_path_for", "write_profile"]


@dataclass(frozen=True)
class ProfileSettings:
    """Everything ``splitexit profile`` decides.

    The defaults are the CLI's, except precision: ``TrainConfig`` defaults to fp32 and the CLI
    picks bf16 where the hardware runs it natively (``default_precision``).
    """

    model: str
    dataset: str
    work_dir: Path
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
        if self.device != "cpu" and not self.device.startswith("cuda"):
            raise InputError(f"device must be 'cpu' or 'cuda[:n]', got {self.device!r}")
        if self.device.startswith("cuda") and not torch.cuda.is_available():
            raise InputError(f"device {self.device!r} asked for, but torch sees no CUDA device")


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


def profile_model(
    settings: ProfileSettings,
    *,
    console: Console | None = None,
    data: DatasetSplits | None = None,
) -> tuple[Profile, Trace]:
    """Train (or load from ``settings.work_dir``) and profile; returns the profile and trace."""
    if data is None:
        data = load_dataset(settings.dataset, data_dir=settings.data_dir)
    work_dir, width, device = settings.work_dir, settings.width, settings.device
    joint = train_joint(
        settings.model,
        data,
        settings.joint,
        work_dir=work_dir,
        width=width,
        device=device,
        console=console,
    )
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
        reference_device=_device_name(settings.device),
        notes=(
            f"measured by `splitexit profile` ({epochs}; width {settings.width:g}); accuracies "
            f"and exit rates on the {len(split)}-sample profiling split; compute times are the "
            f"p{settings.percentile:g} of {len(timing_images)} batch-1 runs after "
            f"{settings.warmup} warm-up runs; O_0 is 8-bit pixels, O_i float32 activations"
        ),
    )
    return profile, trace


def trace_path_for(profile_path: Path) -> Path:
    """Where the trace of ``profile_path`` goes: ``NAME.json`` -> ``NAME.trace.npz``."""
    return profile_path.with_name(profile_path.stem + ".trace.npz")


def write_profile(profile: Profile, trace: Trace, out: Path) -> Path:
    """Write the trace, then the profile naming it (both atomically); returns the trace path."""
    trace_path = trace_path_for(out)
    save_trace(trace, trace_path)
    save_profile(_with_trace(profile, trace_path.name), out)
    return trace_path


def _with_trace(profile: Profile, name: str) -> Profile:
    return replace(profile, trace=name)
