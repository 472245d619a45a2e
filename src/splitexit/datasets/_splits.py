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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.datasets._idx import read_idx
from splitexit.datasets._user import (
    Preprocessing,
    is_user_dataset,
    read_user_images,
    resize_images,
)
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
    resize: tuple[int, int] | None = None  # (H, W) the raw images were resized to

    def preprocessing(self) -> Preprocessing:
        """The preprocessing these splits applied, with the mean and std actually used."""
        return Preprocessing(
            resize=self.resize,
            mean=None if self.mean is None else tuple(self.mean.ravel().tolist()),
            std=None if self.std is None else tuple(self.std.ravel().tolist()),
            scale=1.0 / self.pixel_levels,
        )

    @property
    def in_channels(self) -> int:
        return int(self.train.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.train.images.shape[2]), int(self.train.images.shape[3])


@validate_params(
    {
        "name": [InstanceOf(str)],
        "data_dir": [PathLike(), None],
        "split_seed": [Interval(int, 0, None, closed="left")],
        "preprocessing": [InstanceOf(Preprocessing), None],
    }
)
def load_dataset(
    name: str,
    *,
    data_dir: str | Path | None = None,
    split_seed: int = 0,
    preprocessing: Preprocessing | None = None,
) -> DatasetSplits:
    """Load dataset ``name`` (``fashion-mnist``, ``digits``, or the path of an ``.npz`` or of
    an image folder) with its fixed splits; ``preprocessing`` (resize, mean, std) applies to
    the user's data, whose splits are the seeded 60 / 20 / 20 % of :func:`split_images`.

    >>> data = load_dataset("digits")
    >>> len(data.train), len(data.profile), len(data.test), data.image_size
    (1078, 359, 360, (8, 8))
    """
    if name == "fashion-mnist":
        return _fashion_mnist(_fashion_mnist_dir(data_dir), split_seed)
    if name == "digits":
        return _digits(split_seed)
    if is_user_dataset(name):
        return _user(name, split_seed, preprocessing or Preprocessing())
    raise InputError(
        f"dataset must be one of {', '.join(DATASET_NAMES)}, got {name!r} (or give the path "
        "of an .npz file or of an image folder)"
    )


def _user(name: str, split_seed: int, preprocessing: Preprocessing) -> DatasetSplits:
    pixels, labels, classes = read_user_images(Path(name))
    if preprocessing.resize is not None:
        pixels = resize_images(pixels, preprocessing.resize)
    # the 8-bit pixels a sensor sends (O_0), as the runtime sends them: after a resize, or
    # from float data, the network sees exactly what a worker decodes (uint8 data is unchanged)
    pixels = np.rint(pixels * 255.0).astype(np.float32) / 255.0
    return split_images(
        name,
        pixels,
        labels,
        split_seed=split_seed,
        num_classes=classes,
        mean=preprocessing.mean,
        std=preprocessing.std,
        resize=preprocessing.resize,
    )


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
        "mean": [InstanceOf(tuple, list), None],
        "std": [InstanceOf(tuple, list), None],
        "resize": [InstanceOf(tuple), None],
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
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    resize: tuple[int, int] | None = None,
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
    return _standardized(
        name,
        classes,
        train,
        profile,
        test,
        flip=flip,
        pixel_levels=pixel_levels,
        declared=(mean, std),
        resize=resize,
    )


def _standardized(
    name: str,
    num_classes: int,
    train: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]],
    profile: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]],
    test: tuple[npt.NDArray[np.float32], npt.NDArray[np.integer]],
    *,
    flip: bool,
    pixel_levels: int,
    declared: tuple[Sequence[float] | None, Sequence[float] | None] = (None, None),
    resize: tuple[int, int] | None = None,
) -> DatasetSplits:
    mean = train[0].mean(axis=(0, 2, 3), keepdims=True)
    std = train[0].std(axis=(0, 2, 3), keepdims=True) + 1e-8
    for i, value in enumerate(declared):
        if value is None:
            continue
        if len(value) not in (1, train[0].shape[1]):
            what = ("mean", "std")[i]
            raise InputError(
                f"{name}: preprocessing.{what} needs 1 or {train[0].shape[1]} values (one per "
                f"channel), got {len(value)}"
            )
        array = np.broadcast_to(np.asarray(value, np.float32).reshape(1, -1, 1, 1), mean.shape)
        if i == 0:
            mean = array
        else:
            std = array

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
        resize=resize,
    )
