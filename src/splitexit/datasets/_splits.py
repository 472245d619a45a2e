"""Datasets with fixed, seeded train / profiling / held-out test splits. Nothing is downloaded.

- ``fashion-mnist``: the IDX files of the Debian package ``dataset-fashion-mnist`` (under
  /usr/share/datasets/fashion-mnist; ``data_dir`` or $SPLITEXIT_FASHION_MNIST_DIR point
  elsewhere). The official 60,000 training images are split 50,000 train / 10,000 profiling
  by a seeded permutation; the official 10,000 test images are the held-out test split.
- ``digits``: scikit-learn's bundled 8x8 digits (1,797 images), split 60 / 20 / 20 %, for
  fast tests.

Images are scaled to [0, 1] and standardized with the train split's mean and deviation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.datasets._idx import read_idx
from splitexit.errors import InputError

__all__ = [
    "DATASET_NAMES",
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_ENV",
    "DatasetSplits",
    "Split",
    "load_dataset",
    "split_images",
]

DATASET_NAMES = ("fashion-mnist", "digits")
DEFAULT_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_ENV = "SPLITEXIT_FASHION_MNIST_DIR"
_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
_PROFILE_FRACTION = 1 / 6  # of the official training images, for fashion-mnist: 10,000

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@returned_type
@dataclass(frozen=True, eq=False)
class Split:
    """Standardized images (n, C, H, W) float32 and labels (n,) int64."""

    images: FloatArray
    labels: IntArray

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@returned_type
@dataclass(frozen=True, eq=False)
class DatasetSplits:
    """A dataset's three splits and what a model and a profile need to know about it."""

    name: str
    num_classes: int
    train: Split
    profile: Split  # profiling split: exit rates, accuracies, traces
    test: Split  # held out: validation against final models
    input_bits: float  # O_0: one raw input as a sensor sends it (8-bit pixels)
    flip: bool  # whether horizontal flips preserve the label (augmentation)
    pixel_levels: int = 255  # raw pixel p in 0..pixel_levels is scaled to p / pixel_levels
    mean: FloatArray | None = None  # (1, C, 1, 1), of the scaled train split
    std: FloatArray | None = None  # (1, C, 1, 1)

    @property
    def in_channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.train.images.shape[2]), int(self.train.images.shape[3])


@validate_params(
    {
        "name": [InstanceOf(str)],
        "data_dir": [InstanceOf(str, Path), None],
        "split_seed": [Interval(int, 0, None, closed="left")],
    }
)
def load_dataset(
    name: str, *, data_dir: str | Path | None = None, split_seed: int = 0
) -> DatasetSplits:
    """Load dataset ``name`` (``fashion-mnist`` or ``digits``) with its fixed splits.

    >>> data = load_dataset("digits")
    >>> len(data.train), len(data.profile), len(data.test), data.image_size
    (1078, 359, 360, (8, 8))
    """
    if name == "fashion-mnist":
        return _fashion_mnist(_fashion_mnist_dir(data_dir), split_seed)
    if name == "digits":
        return _digits(split_seed)
    raise InputError(f"dataset must be one of {', '.join(DATASET_NAMES)}, got {name!r}")


def _fashion_mnist_dir(data_dir: str | Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from_env = os.environ.get(FASHION_MNIST_ENV)
    return Path(from_env) if from_env else DEFAULT_FASHION_MNIST_DIR


def _idx_file(folder: Path, stem: str) -> Path:
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    raise InputError(
        f"{folder / stem}(.gz): Fashion-MNIST file not found; install the Debian package "
        f"{_FASHION_MNIST_PACKAGE} (apt-get install {_FASHION_MNIST_PACKAGE}) or point "
        f"--data-dir or ${FASHION_MNIST_ENV} at a folder holding the IDX files"
    )


def _pairs(folder: Path, prefix: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    images_file = _idx_file(folder, f"{prefix}-images-idx3-ubyte")
    labels_file = _idx_file(folder, f"{prefix}-labels-idx1-ubyte")
    images, labels = read_idx(images_file, ndim=3), read_idx(labels_file, ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise InputError(
            f"{labels_file}: holds {labels.shape[0]} labels, but {images_file} holds "
            f"{images.shape[0]} images"
        )
    if labels.size and int(labels.max()) >= 10:
        raise InputError(f"{labels_file}: labels must be in 0..9, got {int(labels.max())}")
    return images, labels


def _fashion_mnist(folder: Path, split_seed: int) -> DatasetSplits:
    train_images, train_labels = _pairs(folder, "train")
    test_images, test_labels = _pairs(folder, "t10k")
    order = np.random.default_rng(split_seed).permutation(train_labels.shape[0])
    cut = train_labels.shape[0] - round(train_labels.shape[0] * _PROFILE_FRACTION)
    if cut < 1 or cut == train_labels.shape[0] or test_labels.shape[0] == 0:
        raise InputError(f"{folder}: too few images to split into train / profiling / test")
    pixels = train_images[:, None].astype(np.float32) / 255.0
    test_pixels = test_images[:, None].astype(np.float32) / 255.0
    return _standardized(
        "fashion-mnist",
        10,
        (pixels[order[:cut]], train_labels[order[:cut]]),
        (pixels[order[cut:]], train_labels[order[cut:]]),
        (test_pixels, test_labels),
        flip=True,
        pixel_levels=255,
    )


def _digits(split_seed: int) -> DatasetSplits:
    from sklearn.datasets import load_digits  # bundled with scikit-learn, never downloaded

    bunch = load_digits()
    pixels = (np.asarray(bunch.images, dtype=np.float32) / 16.0)[:, None]
    return split_images(
        "digits",
        pixels,
        np.asarray(bunch.target),
        split_seed=split_seed,
        num_classes=10,
        pixel_levels=16,
    )


@validate_params(
    {
        "name": [InstanceOf(str)],
        "pixels": [InstanceOf(np.ndarray)],
        "labels": [InstanceOf(np.ndarray)],
        "split_seed": [Interval(int, 0, None, closed="left")],
        "num_classes": [Interval(int, 1, None, closed="left"), None],
        "flip": [InstanceOf(bool)],
        "pixel_levels": [Interval(int, 1, None, closed="left")],
    }
)
def split_images(
    name: str,
    pixels: npt.NDArray[np.float32],
    labels: npt.NDArray[np.integer],
    *,
    split_seed: int = 0,
    num_classes: int | None = None,
    flip: bool = False,
    pixel_levels: int = 255,
) -> DatasetSplits:
    """Seeded 60 / 20 / 20 % train / profiling / test splits of images (n, C, H, W) in [0, 1].

    ``num_classes`` defaults to the largest label + 1; images are standardized with the
    train split's mean and deviation, as every dataset here.

    >>> import numpy as np
    >>> pixels = np.random.default_rng(0).random((10, 1, 4, 4), dtype=np.float32)
    >>> data = split_images("tiny", pixels, np.arange(10) % 2)
    >>> len(data.train), len(data.profile), len(data.test), data.num_classes
    (6, 2, 2, 2)
    """
    if pixels.ndim != 4 or labels.shape != (pixels.shape[0],):
        raise InputError(
            f"{name}: images must be (n, C, H, W) with one label each, got images "
            f"{tuple(pixels.shape)} and labels {tuple(labels.shape)}"
        )
    order = np.random.default_rng(split_seed).permutation(labels.shape[0])
    n_train, n_profile = round(0.6 * len(order)), round(0.2 * len(order))
    if n_train < 1 or n_profile < 1 or len(order) - n_train - n_profile < 1:
        raise InputError(
            f"{name}: too few images to split into train / profiling / test, got {len(order)}"
        )
    classes = int(labels.max()) + 1 if num_classes is None else num_classes
    parts = np.split(order, [n_train, n_train + n_profile])
    train, profile, test = ((pixels[p], labels[p]) for p in parts)
    return _standardized(name, classes, train, profile, test, flip=flip, pixel_levels=pixel_levels)


def _standardized(
    name: str,
    num_classes: int,
    train: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]],
    profile: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]],
    test: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]],
    *,
    flip: bool,
    pixel_levels: int,
) -> DatasetSplits:
    mean = train[0].mean(axis=(0, 2, 3), keepdims=True)
    std = train[0].std(axis=(0, 2, 3), keepdims=True) + 1e-8

    def split(part: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]]) -> Split:
        images = ((part[0] - mean) / std).astype(np.float32)
        return Split(np.ascontiguousarray(images), part[1].astype(np.int64))

    channels, height, width = train[0].shape[1:]
    return DatasetSplits(
        name=name,
        num_classes=num_classes,
        train=split(train),
        profile=split(profile),
        test=split(test),
        input_bits=float(channels * height * width * 8),
        flip=flip,
        pixel_levels=pixel_levels,
        mean=mean.astype(np.float32),
        std=std.astype(np.float32),
    )
