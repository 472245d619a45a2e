"""Write the segmentation subject of ``examples/study-seed004-segmentation.yaml``.

Nothing is downloaded: the data is synthetic. Each 12 x 12 image holds one filled rectangle
(class 1) and one filled disc (class 2) of the same brightness on a noisy background
(class 0), so telling them apart needs the shape, not the intensity: the deeper blocks matter
and skipping them (operator E) costs mIoU.

- ``study-segnet.onnx``: a tiny fully-convolutional net, a stem, four identical residual
  blocks (conv-relu-conv, add, relu; 8 channels, 12 x 12) and a 1 x 1 convolution to 3
  per-pixel class scores (1, 3, 12, 12);
- ``study-shapes.npz``: 200 held-out samples (``input``, shape (200, 1, 12, 12)) and their
  ``masks`` (200, 12, 12), class ids per pixel (uint8).

Run: ``PYTHONPATH=src python examples/make_segmentation_model.py [--out examples/study-models]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

SIZE = 12


def shapes(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` noisy images (count, 1, SIZE, SIZE) and their masks (count, SIZE, SIZE)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    images = np.zeros((count, 1, SIZE, SIZE), np.float32)
    masks = np.zeros((count, SIZE, SIZE), np.int64)
    for k in range(count):
        h, w = rng.integers(3, 7, size=2)
        top, left = rng.integers(0, SIZE - h + 1), rng.integers(0, SIZE - w + 1)
        masks[k, top : top + h, left : left + w] = 1
        radius = rng.uniform(1.8, 3.2)
        cy, cx = rng.uniform(radius, SIZE - radius, size=2)
        masks[k][(rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2] = 2  # drawn on top
        images[k, 0] = (masks[k] > 0) + rng.normal(0, 0.35, size=(SIZE, SIZE))
    return images, masks


class Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(width, width, 3, padding=1)
        self.b = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.b(torch.relu(self.a(x))))


def segnet(width: int = 8, blocks: int = 4, classes: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        *[Residual(width) for _ in range(blocks)],
        nn.Conv2d(width, classes, 1),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "study-models")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    x, y = shapes(3000, seed=0)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    torch.manual_seed(0)
    model = segnet()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(args.epochs):
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(xt[idx]), yt[idx]).backward()
            opt.step()
    model.eval()
    test_x, test_y = shapes(200, seed=1)
    with torch.no_grad():
        predicted = model(torch.from_numpy(test_x)).argmax(1).numpy()
    ious = [
        ((predicted == c) & (test_y == c)).sum() / max(1, ((predicted == c) | (test_y == c)).sum())
        for c in range(3)
    ]
    path = args.out / "study-segnet.onnx"
    torch.onnx.export(
        model, (torch.zeros(1, 1, SIZE, SIZE),), str(path), input_names=["input"],
        output_names=["scores"], opset_version=17, dynamo=False,
    )  # fmt: skip
    print(f"{path}: held-out IoU per class {np.round(ious, 3).tolist()}")
    np.savez(args.out / "study-shapes.npz", input=test_x, masks=test_y.astype(np.uint8))
    print(f"{args.out / 'study-shapes.npz'}: {len(test_x)} samples with masks")


if __name__ == "__main__":
    main()
