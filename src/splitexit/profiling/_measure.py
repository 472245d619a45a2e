"""Measurements on a trained network: normalized entropy, batch-1 timings, tensor sizes."""

from __future__ import annotations

import time

import numpy as np
import numpy.typing as npt
import torch

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.nets import MultiExitNet

__all__ = ["normalized_entropy", "tensor_bits", "time_blocks"]


@validate_params({"logits": [InstanceOf(np.ndarray)]})
def normalized_entropy(logits: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """H(softmax(logits)) / log C per row, in [0, 1] (seed 000, 2.1: the exit criterion).

    >>> normalized_entropy(np.zeros((1, 4))).round(6).tolist()
    [1.0]
    """
    z = logits.astype(np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    entropy = -(np.exp(log_p) * log_p).sum(axis=1) / np.log(logits.shape[1])
    clipped: npt.NDArray[np.float32] = np.clip(entropy, 0.0, 1.0).astype(np.float32)
    return clipped


@validate_params({"net": [InstanceOf(MultiExitNet)], "image": [InstanceOf(np.ndarray)]})
def tensor_bits(net: MultiExitNet, image: npt.NDArray[np.float32]) -> tuple[list[float], float]:
    """(O_i of every block, bits of one exit's prediction) from the real batch-1 tensors."""
    x = torch.from_numpy(image[None]).to(next(net.parameters()).device)
    sizes: list[float] = []
    net.eval()
    with torch.inference_mode():
        for block in net.blocks:
            x = block(x)
            sizes.append(float(x.numel() * x.element_size() * 8))
        result = net.heads[-1](x)
    return sizes, float(result.numel() * result.element_size() * 8)


@validate_params(
    {
        "net": [InstanceOf(MultiExitNet)],
        "images": [InstanceOf(np.ndarray)],
        "warmup": [Interval(int, 0, None)],
        "percentile": [Interval(float, 0, 100, closed="right")],
        "device": [InstanceOf(str)],
    }
)
def time_blocks(
    net: MultiExitNet,
    images: npt.NDArray[np.float32],
    *,
    warmup: int,
    percentile: float,
    device: str = "cpu",
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(CK_i, CB_i) in seconds: the ``percentile`` of batch-1 timings over ``images``.

    ``net`` must have an exit after every block (the full configuration). Each image runs
    through every block and every branch, one at a time, after ``warmup`` untimed passes
    (seed 000, 2.2 takes the 99th percentile over the training samples).
    """
    if list(net.exits) != list(range(net.num_blocks)):
        raise InputError("timing needs the full configuration (an exit after every block)")
    net.eval().to(device)
    cuda = device.startswith("cuda")
    n, num_blocks = images.shape[0], net.num_blocks
    block_ns = np.zeros((n, num_blocks))
    branch_ns = np.zeros((n, num_blocks))

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    with torch.inference_mode():
        for w in range(warmup):
            net(torch.from_numpy(images[w % n][None]).to(device))
        sync()
        for s in range(n):
            x = torch.from_numpy(images[s][None]).to(device)
            sync()
            for i, (block, head) in enumerate(zip(net.blocks, net.heads, strict=True)):
                began = time.perf_counter_ns()
                x = block(x)
                sync()
                middle = time.perf_counter_ns()
                head(x)
                sync()
                block_ns[s, i] = middle - began
                branch_ns[s, i] = time.perf_counter_ns() - middle
    to_s = 1e-9
    return (
        np.percentile(block_ns, percentile, axis=0) * to_s,
        np.percentile(branch_ns, percentile, axis=0) * to_s,
    )
