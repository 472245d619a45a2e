"""Re-time a profile's blocks and branches with ONNX Runtime, the engine the workers run.

(Moved here from ``export``: it times pieces and writes a profile; it borrows export's ONNX
writer for the pieces.)

`splitexit profile` times every block (CK_i) and branch (CB_i) with PyTorch at batch 1; the
runtime runs ONNX Runtime, whose per-call cost on small CNNs can be several times lower. A
profile whose times come from the engine that will run the partitions lets the planner, and
the paper's latency model, predict what the testbed measures. What is timed is what a tier
worker runs and how it times it (``onnx_times``): the partition graph of each block with its
exit, exported by export's own code, in a session built and timed by export's
``ort_session`` and ``call_time``, which the worker's ``load_partition`` calls too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.export import call_time, ort_session

if TYPE_CHECKING:
    from splitexit.nets import MultiExitNet
    from splitexit.profile import Profile

__all__ = ["RetimeSettings", "engine_name", "onnx_times", "retime_profile", "timing_note"]


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


def onnx_times(
    net: MultiExitNet,
    example: Any,
    settings: RetimeSettings | None = None,
    providers: Sequence[str] = ("CPUExecutionProvider",),
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """CK_i and CB_i (seconds) of the full configuration ``net``, timed as a tier worker times
    the partitions it deploys; ``example`` gives the input's shape (1, C, H, W).

    For each block k, the partition of block k alone (block k and exit head k, as `export`
    writes it: ``PartitionPiece``, the same ONNX exporter) and exit head k alone are each
    timed in a session built by ``export.ort_session`` with ``export.call_time``, on float32
    zeros of their input's shape at batch 1: the worker's session options, input and
    statistic. CB_k is the head's time (at most the partition's) and CK_k the rest of the
    partition's, so CK_k + CB_k is the measured time of that partition, and ONNX Runtime's
    cost per call is counted once per partition, in its exit's CB, as the worker pays it
    once per partition; a partition of blocks a..b is predicted as CK_a + ... + CK_b + CB_b.
    A block cheaper than the timing noise can come out with CK_k = 0 (never negative).
    """
    import torch

    from splitexit.export._export import _onnx_bytes
    from splitexit.export._manifest import INPUT, expected_outputs
    from splitexit.export._pieces import PartitionPiece

    settings = settings or RetimeSettings()

    def timed(piece: PartitionPiece, x: torch.Tensor) -> float:
        data = _onnx_bytes(piece, x, expected_outputs(True))
        session = ort_session(data, settings.threads, list(providers))
        zeros = np.zeros((1, *x.shape[1:]), dtype=np.float32)
        return call_time(
            session,
            {INPUT: zeros},
            runs=settings.runs,
            warmup=settings.warmup,
            percentile=settings.percentile,
        )

    # batch 2 when exporting, as export does: a batch of 1 would be specialized away
    x = torch.zeros((2, *tuple(np.shape(example))[1:]), dtype=torch.float32)
    blocks, branches = [], []
    was_training = net.training
    net.cpu().eval()
    try:
        for k in range(net.num_blocks):
            partition = timed(PartitionPiece([net.blocks[k]], net.heads[k], last=True), x)
            with torch.no_grad():
                x = net.blocks[k](x)
            head = min(timed(PartitionPiece([], net.heads[k], last=True), x), partition)
            blocks.append(partition - head)
            branches.append(head)
    finally:
        net.train(was_training)
    return np.array(blocks, dtype=np.float64), np.array(branches, dtype=np.float64)


def timing_note(settings: RetimeSettings) -> str:
    """How ``onnx_times`` timed, for a profile's notes."""
    return (
        f"p{settings.percentile:g} of {settings.runs} batch-1 runs after {settings.warmup} "
        "warm-up runs of each single-block partition (block k and exit k, as exported and as "
        "a worker times it) and of each exit head alone; CB_k = the head, CK_k = the rest "
        "(0 for a block cheaper than the timing noise)"
    )


def engine_name(settings: RetimeSettings) -> str:
    """How ONNX Runtime timings are described in a profile."""
    import onnxruntime as ort  # type: ignore[import-untyped]

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
    how = f"compute times re-timed by `splitexit retime`: {timing_note(settings)} on {engine}"
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
