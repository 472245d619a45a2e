"""Datasets as numpy arrays: IDX and ``.npz`` files, image folders, seeded splits (no torch).

``load_dataset`` gives a named dataset's fixed train / profiling / held-out test splits;
``read_npz`` and ``read_image_folder`` read labelled images that ``split_images`` splits the
same way. Training (torch) and the testbed's samples (numpy) both read their data here.

>>> from splitexit.datasets import load_dataset
>>> data = load_dataset("digits")
>>> data.num_classes, data.in_channels, data.image_size
(10, 1, (8, 8))
"""

from splitexit.datasets._files import (
    IMAGE_SUFFIXES,
    LabelledImages,
    read_image_folder,
    read_npz,
)
from splitexit.datasets._idx import read_idx, write_idx
from splitexit.datasets._splits import (
    DATASET_NAMES,
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_ENV,
    DatasetSplits,
    Split,
    load_dataset,
    split_images,
)

__all__ = [
    "DATASET_NAMES",
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_ENV",
    "IMAGE_SUFFIXES",
    "DatasetSplits",
    "LabelledImages",
    "Split",
    "load_dataset",
    "read_idx",
    "read_image_folder",
    "read_npz",
    "split_images",
    "write_idx",
]
