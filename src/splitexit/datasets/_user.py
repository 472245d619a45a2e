"""The user's data: an ``.npz`` (``x``, ``y``) or a folder of class folders, with a declared
preprocessing (resize, scale, mean, deviation) that the profile records, so that export and
the runtime apply the same. Splits are the seeded 60 / 20 / 20 % of ``split_images``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.datasets._files import IMAGE_SUFFIXES, read_image_folder, read_npz
from splitexit.errors import InputError

__all__ = ["Preprocessing", "data_fingerprint", "is_user_dataset", "resize_images"]


@validate_params({"name": [InstanceOf(str)]})
def is_user_dataset(name: str) -> bool:
    """Whether ``name`` is a path to an ``.npz`` file or an image folder (not a built-in)."""
    return name.endswith(".npz") or Path(name).is_dir()


def _floats(values: Sequence[float] | None, what: str) -> tuple[float, ...] | None:
    if values is None:
        return None
    out = tuple(float(v) for v in values)
    if not out or (what == "std" and any(not v > 0 for v in out)):
        raise InputError(f"preprocessing.{what} must be non-empty (and > 0 for std), got {out}")
    return out


@validate_params(
    {
        "resize": [InstanceOf(tuple), None],
        "mean": [InstanceOf(tuple, list), None],
        "std": [InstanceOf(tuple, list), None],
        "scale": [Interval(float, 0, None, closed="neither"), None],
    }
)
@dataclass(frozen=True)
class Preprocessing:
    """How raw images become network inputs: resize to (H, W), scale raw pixels to [0, 1]
    (``scale`` = 1 / pixel levels), then subtract ``mean`` and divide by ``std`` per channel.
    ``mean`` and ``std`` left out are the train split's (recorded once computed).

    >>> Preprocessing(resize=(16, 16), mean=(0.5,), std=(0.25,)).to_record()["resize"]
    [16, 16]
    """

    resize: tuple[int, int] | None = None
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    scale: float | None = None  # filled in from the data: 1 / 255 for 8-bit images

    def __post_init__(self) -> None:
        if self.resize is not None and (len(self.resize) != 2 or min(self.resize) < 1):
            raise InputError(f"preprocessing.resize must be (H, W) >= 1, got {self.resize}")
        object.__setattr__(self, "mean", _floats(self.mean, "mean"))
        object.__setattr__(self, "std", _floats(self.std, "std"))

    def to_record(self) -> dict[str, Any]:
        """JSON-ready, as the profile's ``preprocessing`` field holds it."""
        return {
            "resize": None if self.resize is None else list(self.resize),
            "scale": self.scale,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
        }

    @classmethod
    def from_cli(cls, *, resize: str | None, mean: str | None, std: str | None) -> Preprocessing:
        """From ``--resize 32x32 --mean 0.5 --std 0.25`` (comma-separated per channel)."""

        def numbers(text: str | None, what: str) -> tuple[float, ...] | None:
            if text is None:
                return None
            try:
                return tuple(float(v) for v in text.split(","))
            except ValueError:
                raise InputError(
                    f"--{what} must be numbers separated by commas, got {text!r}"
                ) from None

        size = None
        if resize is not None:
            parts = resize.lower().split("x")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise InputError(f"--resize must be HxW, e.g. 32x32, got {resize!r}")
            size = (int(parts[0]), int(parts[1]))
        return cls(resize=size, mean=numbers(mean, "mean"), std=numbers(std, "std"))

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None) -> Preprocessing:
        """Back from :meth:`to_record` (a profile's field); ``None`` is the default."""
        if not record:
            return cls()
        resize = record.get("resize")
        return cls(
            resize=None if resize is None else (int(resize[0]), int(resize[1])),
            mean=record.get("mean"),
            std=record.get("std"),
            scale=record.get("scale"),
        )


def resize_images(
    pixels: npt.NDArray[np.float32], size: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """Bilinear resize of (n, C, H, W) images in [0, 1] to ``size`` (Pillow, per channel)."""
    from PIL import Image

    if pixels.shape[2:] == size:
        return pixels
    height, width = size
    out = np.empty((*pixels.shape[:2], height, width), dtype=np.float32)
    for i in range(pixels.shape[0]):
        for c in range(pixels.shape[1]):
            image = Image.fromarray(pixels[i, c], mode="F")
            out[i, c] = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
    return np.clip(out, 0.0, 1.0)


def read_user_images(path: Path) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], int]:
    """Pixels in [0, 1], labels and the class count of an ``.npz`` or an image folder."""
    if path.suffix == ".npz":
        if not path.is_file():
            raise InputError(f"--dataset {path}: .npz file not found")
        images = read_npz(path)
    elif path.is_dir():
        images = read_image_folder(path)
    else:
        raise InputError(
            f"--dataset {path}: expected an .npz file or a folder of class sub-folders"
        )
    return images.pixels, images.labels, len(images.class_names)


@validate_params({"name": [InstanceOf(str)], "split_seed": [Interval(int, 0, None, closed="left")]})
def data_fingerprint(name: str, *, split_seed: int = 0) -> str:
    """SHA-256 of a dataset's content (user files, however their path is spelled) or name
    (built-ins), with the split seed."""
    path = Path(name)
    user = path.is_file() or path.is_dir()
    digest = hashlib.sha256(f"{'' if user else name}|{split_seed}".encode())
    if path.is_file():
        digest.update(path.read_bytes())
    elif path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                digest.update(str(file.relative_to(path)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()
