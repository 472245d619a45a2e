"""Segmentation accuracy: the mean intersection over union (mIoU) of predicted masks.

A subject's ``data:`` ``.npz`` may hold ``masks`` (one integer class per pixel, shape
(samples, H, W), aligned with its input rows). The model's first output is then read as
per-pixel class scores (1, classes, H, W); the predicted mask is their argmax over the class
axis. mIoU pools every pixel of every sample: per class, IoU = |truth & predicted| /
|truth | predicted|, averaged over the classes present in the truth or the prediction
(scikit-learn's ``jaccard_score``, ``average="macro"``), in percent.

>>> truth = np.array([[[0, 0], [1, 1]]])
>>> mean_iou(truth, np.array([[[0, 1], [1, 1]]]))  # class 0: 1/2, class 1: 2/3
58.33...
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.errors import InputError

__all__ = ["load_masks", "mean_iou", "predicted_masks"]


@validate_params({"path": [PathLike()]})
def load_masks(path: Path) -> np.ndarray | None:
    """The ``masks`` array of an ``.npz`` (samples, H, W) as int64, or None without one."""
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        if "masks" not in data.files:
            return None
        masks = np.asarray(data["masks"])
    if masks.ndim != 3 or not np.issubdtype(masks.dtype, np.integer):
        raise InputError(
            f"{path}: masks must be integer class ids of shape (samples, H, W), got "
            f"{masks.dtype} {list(masks.shape)}"
        )
    return masks.astype(np.int64)


@validate_params({"scores": [InstanceOf(np.ndarray)]})
def predicted_masks(scores: np.ndarray) -> np.ndarray:
    """(samples, classes, H, W) per-pixel scores -> (samples, H, W) class ids."""
    if scores.ndim != 4:
        raise InputError(
            f"segmentation scores must be (samples, classes, H, W), got {list(scores.shape)}"
        )
    return np.asarray(scores.argmax(axis=1), dtype=np.int64)


@validate_params({"truth": [InstanceOf(np.ndarray)], "predicted": [InstanceOf(np.ndarray)]})
def mean_iou(truth: np.ndarray, predicted: np.ndarray) -> float:
    """mIoU in percent of ``predicted`` against ``truth`` (same shape, integer class ids)."""
    from sklearn.metrics import jaccard_score

    if truth.shape != predicted.shape:
        raise InputError(
            f"masks of shape {list(truth.shape)} against predictions of shape "
            f"{list(predicted.shape)}: they must match"
        )
    a, b = truth.reshape(-1), predicted.reshape(-1)
    classes = np.union1d(a, b)
    return 100.0 * float(jaccard_score(a, b, labels=classes, average="macro"))
