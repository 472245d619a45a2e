"""Re-time a profile's blocks and branches with ONNX Runtime, the engine the workers run.

(Moved here from ``export``: it times pieces and writes a profile; it borrows export's ONNX
writer for the pieces.)

`splitexit profile` times every block (CK_i) and branch (CB_i) with PyTorch at batch 1; the
runtime runs ONNX Runtime, whose per-call cost on small CNNs can be several times lower. A
profile whose times come from the engine that will run the partitions lets the planner, and
the paper's latency model, predict what the testbed measures. Each block and each branch
(exit head with its softmax and normalized entropy, as exported) becomes its own ONNX graph,
timed alone at batch 1 on one thread.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

if TYPE_CHECKING:
    from splitexit.nets import MultiExitNet
    from splitexit.profile import Profile

__all__ = ["RetimeSettings", "engine_name", "onnx_times", "retime_profile"]


@validate_params(
    {
        "runs": [Interval(int, None, None)],
        "warmup": [Interval(int, None, None)],
        "percentile": [Interval(float, None, None)],
        "threads": [Interval(int, None, None)],
    }
)
@dataclasses.dataclass(frozen=True)
class RetimeSettings:
    """How to time: runs after warm-up runs, the percentile kept, ONNX Runtime threads."""

    runs: int = 300
    warmup: int = 30
    percentile: float = 50.0  # the workers stretch to compute_ratio x their median
    threads: int = 1

    def __post_init__(self) -> None:
        if self.runs < 1 or self.warmup < 0 or self.threads < 1:
            raise InputError(
                f"runs and threads must be >= 1 and warm-up >= 0, got {self.runs}, "
                f"{self.warmup}, {self.threads}"
            )
        if not 0.0 < self.percentile <= 100.0:
            raise InputError(f"percentile must be in (0, 100], got {self.percentile}")


def _time(model: bytes, example: np.ndarray[Any, Any], settings: RetimeSettings) -> float:
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    feed = {"input": example}
    for _ in range(settings.warmup):
        session.run(names, feed)
    times = np.empty(settings.runs)
    for i in range(settings.runs):
        start = time.perf_counter()
        session.run(names, feed)
        times[i] = time.perf_counter() - start
    return float(np.percentile(times, settings.percentile))


def onnx_times(
    net: MultiExitNet, example: Any, settings: RetimeSettings | None = None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """CK_i and CB_i (seconds) of the full configuration ``net`` on ONNX Runtime: each block
    and each branch exported alone and run at batch 1; ``example`` is one input (1, C, H, W)."""
    import torch

    from splitexit.export._export import _onnx_bytes
    from splitexit.export._pieces import PartitionPiece

    class Block(torch.nn.Module):
        """One backbone block as a graph of its own."""

        def __init__(self, block: torch.nn.Module) -> None:
            super().__init__()
            self.block = block
            self.eval()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.block(x)
            return out

    settings = settings or RetimeSettings()
    x = torch.as_tensor(example, dtype=torch.float32).cpu().repeat(2, 1, 1, 1)
    blocks, branches = [], []
    was_training = net.training
    net.cpu().eval()
    for k in range(net.num_blocks):
        block = Block(net.blocks[k])
        data = _onnx_bytes(block, x, ["activation"])
        blocks.append(_time(data, x[:1].numpy(), settings))
        with torch.no_grad():
            x = block(x)
        head = PartitionPiece([], net.heads[k], last=True)
        data = _onnx_bytes(head, x, ["probabilities", "entropy"])
        branches.append(_time(data, x[:1].numpy(), settings))
    net.train(was_training)
    return np.array(blocks, dtype=np.float64), np.array(branches, dtype=np.float64)


def engine_name(settings: RetimeSettings) -> str:
    """How ONNX Runtime timings are described in a profile."""
    import onnxruntime as ort

    return f"ONNX Runtime {ort.__version__} CPU, {settings.threads} thread(s)"


@validate_params(
    {
        "profile": [InstanceOf("splitexit.profile:Profile")],
        "net": [InstanceOf("splitexit.nets:MultiExitNet")],
        "settings": [InstanceOf(RetimeSettings), None],
    }
)
def retime_profile(
    profile: Profile, net: MultiExitNet, settings: RetimeSettings | None = None
) -> Profile:
    """``profile`` with CK_i and CB_i measured on ONNX Runtime for ``net`` (its weights)."""
    import torch

    settings = settings or RetimeSettings()
    if net.num_blocks != profile.num_blocks or list(net.exits) != list(range(net.num_blocks)):
        raise InputError(
            f"re-timing needs the full configuration: {profile.num_blocks} blocks with an exit "
            f"after each, got {net.num_blocks} blocks and exits {list(net.exits)}"
        )
    in_channels = int(next(net.parameters()).shape[1])
    side = round((profile.input_bits / 8 / in_channels) ** 0.5)
    blocks, branches = onnx_times(net, torch.zeros((1, in_channels, side, side)), settings)
    engine = engine_name(settings)
    how = (
        f"compute times re-timed by `splitexit retime`: p{settings.percentile:g} of "
        f"{settings.runs} batch-1 runs of each block and branch as its own ONNX graph on "
        f"{engine}"
    )
    timings = dict(profile.timings or {})
    timings["onnxruntime"] = (blocks, branches)
    return dataclasses.replace(
        profile,
        block_compute_s=blocks,
        branch_compute_s=branches,
        reference_device=f"{engine} on the machine that ran `splitexit retime`",
        notes=f"{profile.notes}; {how}" if profile.notes else how,
        timing_engine="onnxruntime",
        timings=timings,
    )
