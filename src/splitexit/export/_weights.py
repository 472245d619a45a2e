"""The jointly trained full configuration's weights: a work dir's ``joint.pt``, or the
weights-only copy shipped with the measured profile, so that ``splitexit export`` of the
bundled default works on a fresh clone without training.

A weights-only file (``splitexit.weights/1``) is a training checkpoint without its optimizer
state: fingerprint, epoch, history and the float32 state dict, saved with ``torch.save``.
torch is imported inside the functions that read or write one.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from splitexit._boundary import atomic_write_bytes
from splitexit._validation import (
    InstanceOf,
    Interval,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.nets import MultiExitNet
    from splitexit.profile import Profile
    from splitexit.training import TrainConfig, TrainedNet

__all__ = [
    "BUNDLED_CHECKPOINTS",
    "WEIGHTS_FORMAT",
    "JointCheckpoint",
    "bundled_checkpoint",
    "load_joint",
    "load_profile_joint",
    "save_joint_weights",
]

WEIGHTS_FORMAT = "splitexit.weights/1"
_FORMATS = ("splitexit.checkpoint/1", WEIGHTS_FORMAT)  # a training checkpoint, or weights only
# bundled profile name -> its joint weights, beside it in splitexit/profile/data/
BUNDLED_CHECKPOINTS = {
    "resnet20-fashion-mnist": "resnet20-fashion-mnist.joint.pt",
    "resnet20-fashion-mnist-ort": "resnet20-fashion-mnist.joint.pt",  # re-timed, same weights
}

_EXTRACTED = ExitStack()  # bundled files stay extracted for the process (no-op when installed)


@returned_type
@dataclass(frozen=True, eq=False)
class JointCheckpoint:
    """The jointly trained full configuration, loaded and checked, with what it was trained
    with: ``fingerprint`` as saved (kind, model, width, dataset, config, ...)."""

    net: MultiExitNet
    path: Path  # the file read: WORK_DIR/joint.pt, or the bundled copy
    fingerprint: dict[str, Any]
    epoch: int
    history: tuple[dict[str, Any], ...]

    @property
    def width(self) -> float:
        return float(self.fingerprint.get("width", 1.0))

    def train_config(self) -> TrainConfig:
        """The joint run's hyperparameters (batch size, precision, seed, ...)."""
        from splitexit.training import TrainConfig

        try:
            return TrainConfig(**self.fingerprint.get("config", {}))
        except TypeError as exc:
            raise InputError(
                f"{self.path}: fingerprint.config does not fit this version's training "
                f"settings ({exc})"
            ) from None

    def as_trained(self) -> TrainedNet:
        """As ``train_joint`` returns it: what ``train_final(init=...)`` starts from."""
        from splitexit.training import EpochRecord, TrainedNet

        if not self.history:
            raise InputError(f"{self.path}: no training history; cannot fine-tune from it")
        history = [EpochRecord(**record) for record in self.history]
        return TrainedNet(net=self.net, history=history, checkpoint=self.path)


@validate_params(
    {
        "profile": [PathLike()],
    }
)
def bundled_checkpoint(profile: str | Path) -> Path | None:
    """The joint weights shipped with ``profile`` when it is a bundled profile (its name, or
    a file with the same bytes, such as a copy), else ``None``.

    >>> bundled_checkpoint("resnet20-fashion-mnist").name  # doctest: +SKIP
    'resnet20-fashion-mnist.joint.pt'
    """
    from splitexit.profile import BUNDLED_PROFILES, profile_path

    data = resources.files("splitexit.profile") / "data"
    try:
        given = profile_path(profile).read_bytes()
    except OSError:
        return None
    for name, file in BUNDLED_CHECKPOINTS.items():
        if given == (data / BUNDLED_PROFILES[name]).read_bytes():
            return _EXTRACTED.enter_context(resources.as_file(data / file))
    return None


def _read_state(path: Path) -> dict[str, Any]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such checkpoint") from None
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: corrupt checkpoint ({reason})") from None
    if (
        not isinstance(state, dict)
        or not {"fingerprint", "model", "epoch"} <= set(state)
        or state.get("format", _FORMATS[0]) not in _FORMATS
    ):
        raise InputError(f"{path}: not a splitexit checkpoint")
    return state


@validate_params(
    {
        "path": [PathLike()],
        "model": [InstanceOf(str)],
        "dataset": [InstanceOf(str)],
        "num_classes": [Interval(int, 2, None)],
        "profile": [PathLike(), None],
    }
)
def load_joint(
    path: Path,
    *,
    model: str,
    dataset: str,
    num_classes: int,
    profile: str | Path | None = None,
) -> JointCheckpoint:
    """The jointly trained full configuration from its checkpoint (``joint.pt``).

    When ``path`` does not exist and ``profile`` is a bundled profile with shipped weights
    (:func:`bundled_checkpoint`), those are loaded instead. Width and input channels are
    read off the checkpoint; a checkpoint of another model or dataset, or of a training that
    has not finished, is an :class:`InputError`.
    """
    from splitexit.nets import build_network

    if profile is not None and not path.exists():
        path = bundled_checkpoint(profile) or path
    state = _read_state(path)
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
    return JointCheckpoint(
        net=net.eval(),
        path=path,
        fingerprint=dict(fingerprint),
        epoch=int(state["epoch"]),
        history=tuple(dict(record) for record in state.get("history", [])),
    )


@validate_params(
    {
        "profile": [InstanceOf("splitexit.profile:Profile")],
        "spec": [PathLike()],
        "work_dir": [PathLike()],
    }
)
def load_profile_joint(profile: Profile, spec: str | Path, work_dir: Path) -> JointCheckpoint:
    """The joint checkpoint behind ``profile`` (named ``spec``): ``work_dir/joint.pt``, or the
    bundled weights of a bundled profile; it must have the profile's number of blocks."""
    joint = load_joint(
        work_dir / "joint.pt",
        model=profile.model,
        dataset=profile.dataset,
        num_classes=profile.num_classes,
        profile=spec,
    )
    if joint.net.num_blocks != profile.num_blocks:
        raise InputError(
            f"{joint.path}: the network has {joint.net.num_blocks} blocks, the profile "
            f"{profile.num_blocks}"
        )
    return joint


@validate_params(
    {
        "source": [PathLike()],
        "target": [PathLike()],
    }
)
def save_joint_weights(source: Path, target: Path) -> int:
    """Write the weights-only copy of the joint checkpoint ``source`` to ``target``
    (atomically): no optimizer state, float32 tensors bit for bit. Returns its size in bytes.
    """
    import torch

    state = _read_state(source)
    if state["fingerprint"].get("kind") != "joint":
        raise InputError(f"{source}: fingerprint.kind must be 'joint'")
    weights = {name: t.detach().clone().contiguous() for name, t in state["model"].items()}
    buffer = io.BytesIO()
    torch.save(
        {
            "format": WEIGHTS_FORMAT,
            "fingerprint": state["fingerprint"],
            "epoch": int(state["epoch"]),
            "history": list(state.get("history", [])),
            "model": weights,
        },
        buffer,
    )
    atomic_write_bytes(target, buffer.getvalue())
    return len(buffer.getvalue())
