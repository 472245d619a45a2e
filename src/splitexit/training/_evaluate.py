"""Running a trained multi-exit network over a split: logits and accuracy per exit."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.datasets import Split
from splitexit.nets import MultiExitNet

__all__ = ["accuracies", "predict_logits"]


@validate_params(
    {
        "net": [InstanceOf(MultiExitNet)],
        "images": [InstanceOf(np.ndarray)],
        "device": [InstanceOf(str)],
        "batch": [Interval(int, 1, None)],
    }
)
def predict_logits(
    net: MultiExitNet, images: npt.NDArray[np.float32], *, device: str = "cpu", batch: int = 500
) -> list[npt.NDArray[np.float32]]:
    """Logits (n, classes) of every exit of ``net`` on ``images``, in eval mode."""
    was_training = net.training
    net.eval()
    chunks: list[list[npt.NDArray[np.float32]]] = [[] for _ in net.exits]
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch):
            x = torch.from_numpy(images[start : start + batch]).to(device)
            for k, out in enumerate(net(x)):
                chunks[k].append(out.float().cpu().numpy())
    net.train(was_training)
    return [np.concatenate(parts) for parts in chunks]


@validate_params(
    {"net": [InstanceOf(MultiExitNet)], "split": [InstanceOf(Split)], "device": [InstanceOf(str)]}
)
def accuracies(net: MultiExitNet, split: Split, *, device: str = "cpu") -> list[float]:
    """Top-1 accuracy of every exit of ``net`` on ``split``."""
    logits = predict_logits(net, split.images, device=device)
    return [float((out.argmax(axis=1) == split.labels).mean()) for out in logits]
