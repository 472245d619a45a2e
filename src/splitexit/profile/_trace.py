"""Per-sample traces (``splitexit.trace/1``): what each profiling sample did at every branch.

A trace is a compressed NumPy archive (.npz) written beside its profile. For each of S
samples and N branches it holds the normalized entropy H(p)/log C of the branch's prediction
and whether that prediction is correct, once for the jointly trained full configuration and
once for the separately trained models (model i gives branch i). Replaying the cascade on it
(``splitexit.perfmodel`` trace estimator) needs no independence assumption across branches.

Arrays: ``labels`` (S,) int, ``entropy_joint`` / ``entropy_separate`` (S, N) float32 in
[0, 1], ``correct_joint`` / ``correct_separate`` (S, N) bool, and ``meta``: a JSON string
with ``format``, ``model``, ``dataset`` and ``split``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._boundary import atomic_write_bytes
from splitexit._validation import (
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.profile._model import Profile
from splitexit.profile._synthetic import exit_rates_from_entropy

__all__ = ["TRACE_FORMAT", "Trace", "load_profile_trace", "load_trace", "save_trace"]

TRACE_FORMAT = "splitexit.trace/1"
_RATE_MATCH = 1e-6  # profile exit rates vs the trace's replay (both from the same entropies)
_ARRAYS = ("labels", "entropy_joint", "correct_joint", "entropy_separate", "correct_separate")


@returned_type
@dataclass(frozen=True, eq=False)
class Trace:
    """Normalized entropy and correctness of every profiling sample at every branch."""

    model: str
    dataset: str
    split: str
    labels: npt.NDArray[np.int64]  # (S,)
    entropy_joint: npt.NDArray[np.float32]  # (S, N)
    correct_joint: npt.NDArray[np.bool_]  # (S, N)
    entropy_separate: npt.NDArray[np.float32]  # (S, N)
    correct_separate: npt.NDArray[np.bool_]  # (S, N)

    @property
    def num_samples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_blocks(self) -> int:
        return int(self.entropy_joint.shape[1])

    def arrays(self, source: str) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """(entropy, correct) of the ``"joint"`` model or of the ``"separate"`` models."""
        if source == "joint":
            return self.entropy_joint, self.correct_joint
        if source == "separate":
            return self.entropy_separate, self.correct_separate
        raise InputError(f"trace source must be 'joint' or 'separate', got {source!r}")


@validate_params(
    {
        "trace": [InstanceOf(Trace)],
        "path": [PathLike()],
    }
)
def save_trace(trace: Trace, path: str | Path) -> None:
    """Write ``trace`` as a compressed .npz archive, atomically."""
    meta = {"format": TRACE_FORMAT, "model": trace.model, "dataset": trace.dataset}
    meta["split"] = trace.split
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        meta=np.array(json.dumps(meta, allow_nan=False)),
        labels=trace.labels.astype(np.int16),
        entropy_joint=trace.entropy_joint.astype(np.float32),
        correct_joint=trace.correct_joint.astype(np.bool_),
        entropy_separate=trace.entropy_separate.astype(np.float32),
        correct_separate=trace.correct_separate.astype(np.bool_),
    )
    atomic_write_bytes(Path(path), buffer.getvalue())


@validate_params(
    {
        "path": [PathLike()],
    }
)
def load_trace(path: str | Path) -> Trace:
    """Read and validate a trace file; every problem is an :class:`InputError` naming it."""
    file = Path(path)
    try:
        with np.load(file, allow_pickle=False) as archive:
            raw = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise InputError(f"{file}: no such trace file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(f"{file}: not a readable .npz trace ({exc})") from None
    for name in ("meta", *_ARRAYS):
        if name not in raw:
            raise InputError(f"{file}: trace array {name!r} is missing")
    meta = _meta(file, raw["meta"])
    samples = raw["labels"].shape[0] if raw["labels"].ndim == 1 else -1
    if samples < 1:
        raise InputError(f"{file}: labels must be a non-empty 1-d array")
    shape = raw["entropy_joint"].shape
    for name in _ARRAYS[1:]:
        array = raw[name]
        if array.ndim != 2 or array.shape[0] != samples or array.shape != shape:
            raise InputError(
                f"{file}: {name} has shape {array.shape}, expected ({samples}, N) like "
                f"entropy_joint {shape}"
            )
        if name.startswith("entropy"):
            if not np.issubdtype(array.dtype, np.floating):
                raise InputError(f"{file}: {name} must hold floats, got {array.dtype}")
            if not (np.isfinite(array).all() and array.min() >= 0.0 and array.max() <= 1.0):
                raise InputError(f"{file}: {name} must hold normalized entropies in [0, 1]")
        elif array.dtype != np.bool_:
            raise InputError(f"{file}: {name} must hold booleans, got {array.dtype}")
    return Trace(
        model=str(meta["model"]),
        dataset=str(meta["dataset"]),
        split=str(meta.get("split", "")),
        labels=raw["labels"].astype(np.int64),
        entropy_joint=raw["entropy_joint"].astype(np.float32),
        correct_joint=raw["correct_joint"],
        entropy_separate=raw["entropy_separate"].astype(np.float32),
        correct_separate=raw["correct_separate"],
    )


def _meta(file: Path, raw: npt.NDArray[Any]) -> dict[str, Any]:
    try:
        meta = json.loads(str(raw[()]))
    except (ValueError, IndexError):
        meta = None
    if not isinstance(meta, dict):
        raise InputError(f"{file}: trace meta must be a JSON object")
    if meta.get("format") != TRACE_FORMAT:
        raise InputError(f"{file}: format must be {TRACE_FORMAT!r}, got {meta.get('format')!r}")
    for key in ("model", "dataset"):
        if not isinstance(meta.get(key), str):
            raise InputError(f"{file}: trace meta.{key} must be a string")
    return meta


@validate_params(
    {
        "profile": [InstanceOf(Profile)],
        "profile_path": [PathLike()],
    }
)
def load_profile_trace(profile: Profile, profile_path: str | Path) -> Trace:
    """Load the trace that ``profile`` (read from ``profile_path``) names, and check it fits.

    The trace must describe the same model, dataset and number of blocks, and replaying its
    joint entropies must give the profile's exit rates: a trace from another run fails here.
    """
    where = Path(profile_path)
    if profile.trace is None:
        raise InputError(f"{where}: the profile names no per-sample trace (field 'trace')")
    trace_path = Path(profile.trace)
    if not trace_path.is_absolute():
        trace_path = where.parent / trace_path
    trace = load_trace(trace_path)
    if trace.num_blocks != profile.num_blocks:
        raise InputError(
            f"{trace_path}: trace has {trace.num_blocks} branches, but {where} has "
            f"{profile.num_blocks} blocks"
        )
    for key in ("model", "dataset"):
        if getattr(trace, key) != getattr(profile, key):
            raise InputError(
                f"{trace_path}: trace {key} {getattr(trace, key)!r} does not match {where} "
                f"{key} {getattr(profile, key)!r}"
            )
    replayed = exit_rates_from_entropy(trace.entropy_joint.astype(np.float64), profile.thresholds)
    gap = float(np.abs(replayed - profile.exit_rates).max())
    if gap > _RATE_MATCH:
        raise InputError(
            f"{trace_path}: trace does not match {where}: its joint entropies give exit rates "
            f"up to {gap:.3g} away from the profile's exit_rates"
        )
    return trace
