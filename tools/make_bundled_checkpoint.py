"""Write the bundled joint weights of the measured profile from the run that produced it.

`src/splitexit/profile/data/resnet20-fashion-mnist.joint.pt` is the weights-only copy
(`splitexit.weights/1`: fingerprint, epoch, history and the float32 state dict, no optimizer
state) of `runs/resnet20-fashion-mnist/joint.pt`, the joint checkpoint of the run that wrote
the bundled profile (docs/profiling.md). With it, `splitexit export --config best` on the
bundled default works on a fresh clone without training. The tool checks that every tensor
of the copy equals the run's bit for bit.

Usage: .venv/bin/python tools/make_bundled_checkpoint.py [--source RUN/joint.pt]
(default source: runs/resnet20-fashion-mnist/joint.pt)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from splitexit.export import BUNDLED_CHECKPOINTS, save_joint_weights

ROOT = Path(__file__).resolve().parents[1]
NAME = "resnet20-fashion-mnist"
TARGET = ROOT / "src/splitexit/profile/data" / BUNDLED_CHECKPOINTS[NAME]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT / "runs" / NAME / "joint.pt")
    source = parser.parse_args().source
    size = save_joint_weights(source, TARGET)
    run = torch.load(source, map_location="cpu", weights_only=True)["model"]
    copy = torch.load(TARGET, map_location="cpu", weights_only=True)["model"]
    assert run.keys() == copy.keys()
    for name, tensor in run.items():
        assert copy[name].dtype == tensor.dtype and torch.equal(copy[name], tensor), name
    print(f"wrote {TARGET} ({size:,} bytes, {len(copy)} tensors equal to {source})")


if __name__ == "__main__":
    main()
