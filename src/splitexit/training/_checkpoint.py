"""Checkpoints: a training run's state after each epoch, written atomically, checked on load."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from splitexit._boundary import atomic_write_bytes
from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.errors import InputError

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = "splitexit.checkpoint/1"
_KEYS = ("format", "fingerprint", "epoch", "model", "optimizer", "history")


@validate_params({"path": [PathLike()], "state": [InstanceOf(dict)]})
def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (see ``_KEYS``) so that a crash leaves the previous checkpoint intact."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


@validate_params({"path": [PathLike()], "fingerprint": [InstanceOf(dict)]})
def load_checkpoint(path: Path, *, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The state saved at ``path``, or ``None`` when there is no file.

    A file that cannot be read, or that was written for another model, dataset or training
    configuration (``fingerprint``), is an :class:`InputError`: resuming from it would mix
    runs silently.
    """
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{path}: corrupt checkpoint ({reason}); delete it to train again"
        ) from None
    if not isinstance(state, dict) or any(key not in state for key in _KEYS):
        raise InputError(f"{path}: not a splitexit checkpoint; delete it to train again")
    if state["format"] != CHECKPOINT_FORMAT:
        raise InputError(f"{path}: format must be {CHECKPOINT_FORMAT!r}, got {state['format']!r}")
    if state["fingerprint"] != fingerprint:
        changed = sorted(
            key
            for key in set(fingerprint) | set(state["fingerprint"])
            if fingerprint.get(key) != state["fingerprint"].get(key)
        )
        raise InputError(
            f"{path}: checkpoint was trained with different {', '.join(changed)}; use another "
            "--work-dir or delete it to train again"
        )
    return dict(state)
