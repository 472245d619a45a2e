"""Write a small ``.npz`` dataset (arrays ``x`` (N, H, W) uint8 and ``y``) from local data.

Nothing is downloaded: it takes the first images of the Fashion-MNIST IDX files of the
Debian package ``dataset-fashion-mnist`` when installed, else scikit-learn's bundled digits.
Usage: .venv/bin/python examples/make_user_data.py OUT.npz [--samples 6000]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from splitexit.datasets import DEFAULT_FASHION_MNIST_DIR, read_idx


def make(samples: int) -> tuple[np.ndarray, np.ndarray]:
    images = DEFAULT_FASHION_MNIST_DIR / "train-images-idx3-ubyte.gz"
    if images.is_file():
        x = read_idx(images, ndim=3)[:samples]
        y = read_idx(DEFAULT_FASHION_MNIST_DIR / "train-labels-idx1-ubyte.gz", ndim=1)[:samples]
        return x, y.astype(np.int64)
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (np.asarray(digits.images) * 255 / 16).round().astype(np.uint8)[:samples]
    return x, np.asarray(digits.target, dtype=np.int64)[:samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--samples", type=int, default=6000)
    args = parser.parse_args()
    if args.samples < 1:
        parser.error(f"--samples must be at least 1, got {args.samples}")
    x, y = make(args.samples)
    args.out.parent.mkdir(parents=True, exist_ok=True)  # e.g. runs/ on a fresh clone
    np.savez_compressed(args.out, x=x, y=y)
    print(f"wrote {args.out}: x {x.shape} {x.dtype}, y {y.shape}, {len(np.unique(y))} classes")


if __name__ == "__main__":
    main()
