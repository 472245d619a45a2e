"""The input as a sensor sends it: 8-bit pixels, standardized by the first partition's worker.

The profile charges the input transfer O_0 as 8-bit pixels, so the runtime sends exactly
that: the source turns a standardized image back into its pixels (exactly: rounding undoes
the scaling) and the first worker standardizes them with the same float32 operations as the
dataset loader, so the partition sees bit-identical inputs.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

__all__ = ["PixelCodec"]


@validate_params(
    {
        "levels": [Interval(int, None, None)],
        "mean": [
            InstanceOf(
                numbers.Real, list, tuple, np.ndarray, name="a number or a sequence of numbers"
            )
        ],
        "std": [
            InstanceOf(
                numbers.Real, list, tuple, np.ndarray, name="a number or a sequence of numbers"
            )
        ],
    }
)
class PixelCodec:
    """Per-channel ``mean`` and ``std`` of pixels scaled to [0, 1] by ``/ levels``.

    >>> codec = PixelCodec(255, [0.5], [0.25])
    >>> x = codec.decode(np.array([[[[0, 128, 255]]]], dtype=np.uint8))
    >>> codec.encode(x).tolist()
    [[[[0, 128, 255]]]]
    """

    def __init__(self, levels: int, mean: Any, std: Any) -> None:
        if not 0 < levels <= 255:
            raise InputError(f"pixel levels must be in 1..255, got {levels}")
        self.levels = int(levels)
        self.mean = np.asarray(mean, dtype=np.float32).reshape(1, -1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(1, -1, 1, 1)
        if self.mean.shape != self.std.shape or not np.all(self.std > 0):
            raise InputError("pixel mean and std need one positive std per channel")

    def encode(self, images: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        """Standardized images (n, C, H, W) back to their integer pixels."""
        scaled = (images.astype(np.float64) * self.std + self.mean) * self.levels
        pixels = np.rint(scaled)
        if pixels.min() < 0 or pixels.max() > self.levels:
            raise InputError(f"images are not standardized {self.levels}-level pixels")
        return pixels.astype(np.uint8)

    def decode(self, pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Pixels to the standardized float32 input, as the dataset loader computes it."""
        scaled = pixels.astype(np.float32) / float(self.levels)
        out: npt.NDArray[np.float32] = ((scaled - self.mean) / self.std).astype(np.float32)
        return out
