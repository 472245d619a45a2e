"""Write the two subjects of ``examples/study-seed004.yaml`` and their samples.

Both are small CNNs trained for a few epochs on scikit-learn's bundled digits (8 x 8, 10
classes; nothing is downloaded):

- ``study-resnet.onnx``: a ResNet-style DAG, a stem then four identical residual blocks
  (conv-relu-conv, add, relu) and a linear head;
- ``study-chain.onnx``: a plain chain, a stem then four identical conv-relu blocks and a head;
- ``study-digits.npz``: 200 held-out samples (``input``, shape (200, 1, 1, 8, 8)... one row
  per run of batch 1) and their ``labels``.

Run: ``PYTHONPATH=src python examples/make_study_models.py [--out examples/study-models]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn


class Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.a = nn.Conv2d(width, width, 3, padding=1)
        self.b = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.b(torch.relu(self.a(x))))


def resnet(width: int = 32, blocks: int = 4) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.ReLU(),
        *[Residual(width) for _ in range(blocks)],
        nn.Flatten(),
        nn.Linear(width * 64, 10),
    )


def chain(width: int = 32, blocks: int = 4) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(1, width, 3, padding=1), nn.ReLU()]
    for _ in range(blocks):
        layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(width * 64, 10))


def train(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int) -> None:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "study-models")
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # (n, 1, 8, 8) in [0, 1]
    y = digits.target.astype(np.int64)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x))
    train_idx, test_idx = order[:-200], order[-200:]
    xt, yt = torch.from_numpy(x[train_idx]), torch.from_numpy(y[train_idx])
    torch.manual_seed(0)
    for name, model in (("resnet", resnet()), ("chain", chain())):
        train(model, xt, yt, args.epochs)
        model.eval()
        with torch.no_grad():
            acc = (model(torch.from_numpy(x[test_idx])).argmax(1).numpy() == y[test_idx]).mean()
        path = args.out / f"study-{name}.onnx"
        torch.onnx.export(
            model, (torch.zeros(1, 1, 8, 8),), str(path), input_names=["input"],
            output_names=["logits"], opset_version=17, dynamo=False,
        )  # fmt: skip
        print(f"{path}: held-out top-1 {100 * acc:.1f} %")
    np.savez(args.out / "study-digits.npz", input=x[test_idx], labels=y[test_idx])
    print(f"{args.out / 'study-digits.npz'}: {len(test_idx)} samples with labels")


if __name__ == "__main__":
    main()
