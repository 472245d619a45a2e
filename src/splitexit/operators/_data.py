"""Sample inputs from the user: an ``.npz`` of input arrays (optionally ``labels``) or a folder
of images with a declared preprocessing. Arrays stack samples on axis 0; each sample takes
the input's batch size (its first dimension) of rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from splitexit._validation import InstanceOf, Interval, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.operators._model import TensorInfo

__all__ = ["Samples", "load_samples"]

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm"}


@returned_type
@dataclass(frozen=True)
class Samples:
    """Feeds for one model, one dict per run, and the labels of each run's rows if known."""

    feeds: list[dict[str, np.ndarray]]
    labels: np.ndarray | None  # (runs, batch) integer class ids

    def split(self, first: int) -> tuple[Samples, Samples]:
        """The first ``first`` runs and the rest (calibration and held-out)."""
        lab = self.labels
        return (
            Samples(self.feeds[:first], None if lab is None else lab[:first]),
            Samples(self.feeds[first:], None if lab is None else lab[first:]),
        )


@validate_params(
    {
        "path": [PathLike()],
        "inputs": [InstanceOf(tuple, list)],
        "mean": [Interval(float, None, None)],
        "std": [Interval(float, 0, None, closed="neither")],
        "limit": [Interval(int, 1, None, closed="left"), None],
    }
)
def load_samples(
    path: Path,
    inputs: tuple[TensorInfo, ...],
    *,
    mean: float = 0.0,
    std: float = 1.0,
    limit: int | None = None,
) -> Samples:
    """Read ``path`` (.npz or an image folder) as runs of ``inputs``.

    Images are resized to the input's H x W, scaled to [0, 1], then ``(x - mean) / std``.

    >>> samples = load_samples(Path("calib.npz"), loaded.inputs)  # doctest: +SKIP
    """
    path = Path(path)
    if path.is_dir():
        arrays = {inputs[0].name: _images(path, inputs, mean, std)}
        labels = None
    elif path.suffix == ".npz" and path.is_file():
        arrays, labels = _npz(path, inputs)
    else:
        raise InputError(f"{path}: calibration data must be an .npz file or a folder of images")
    batch = inputs[0].shape[0] if inputs[0].shape else 1
    total = min(len(a) for a in arrays.values()) // max(batch, 1)
    if total < 1:
        raise InputError(f"{path}: holds fewer rows than one batch of {batch}")
    if limit is not None:
        total = min(total, limit)
    feeds = []
    for r in range(total):
        feed = {}
        for t in inputs:
            rows = arrays[t.name][r * batch : (r + 1) * batch]
            if tuple(rows.shape) != t.shape:
                raise InputError(
                    f"{path}: rows of {t.name!r} have shape {list(rows.shape)}, "
                    f"the model expects {list(t.shape)}"
                )
            feed[t.name] = rows.astype(t.dtype)
        feeds.append(feed)
    lab = None if labels is None else labels[: total * batch].reshape(total, batch)
    return Samples(feeds, lab)


def _npz(
    path: Path, inputs: tuple[TensorInfo, ...]
) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    try:
        data = dict(np.load(path, allow_pickle=False))
    except Exception as exc:
        raise InputError(f"{path}: cannot read the .npz file ({exc})") from None
    labels = data.pop("labels", None)
    if len(inputs) == 1 and inputs[0].name not in data and len(data) == 1:
        data = {inputs[0].name: next(iter(data.values()))}
    missing = [t.name for t in inputs if t.name not in data]
    if missing:
        raise InputError(f"{path}: no array for the inputs {missing}; arrays: {sorted(data)}")
    return data, None if labels is None else labels.astype(np.int64).ravel()


def _images(folder: Path, inputs: tuple[TensorInfo, ...], mean: float, std: float) -> np.ndarray:
    from PIL import Image

    shape = inputs[0].shape
    if len(inputs) != 1 or len(shape) != 4:
        raise InputError(
            f"{folder}: an image folder needs one NCHW input, the model has "
            f"{[list(t.shape) for t in inputs]}"
        )
    channels, height, width = shape[1], shape[2], shape[3]
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not files:
        raise InputError(f"{folder}: no images ({', '.join(sorted(_IMAGE_SUFFIXES))})")
    rows = []
    for file in files:
        with Image.open(file) as raw:
            img = raw.convert("L" if channels == 1 else "RGB").resize((width, height))
            arr = np.asarray(img, dtype=np.float32) / 255.0
        arr = arr[None] if channels == 1 else arr.transpose(2, 0, 1)
        rows.append((arr - mean) / std)
    return np.stack(rows)
