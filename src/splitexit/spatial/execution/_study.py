"""Measured against simulated: every method's strategy executed, one image at a time.

Each method plans on the tables profiled in place (:meth:`ExecutionPool.profile`); the
simulator times its strategy on the same tables. Then ``blocks`` blocks run; in each block
every method (in an order rotated from block to block: interleaved) executes ``images``
images one at a time, every output checked against the unsplit model's. A block whose
median latency deviates more than ``reject_pct`` % from the median of that method's block
medians is *disturbed*: rejected and reported. The measured latency is the median of the
images of the kept blocks; images per second is its inverse (one image at a time).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from splitexit._validation import (
    Callable_,
    InstanceOf,
    Interval,
    Options,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.spatial.execution._emulated import EmulatedCluster
from splitexit.spatial.execution._pool import ExecutionError, ExecutionPool
from splitexit.spatial.experiments._compare import METHODS, compare
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.methods._osds import OSDSConfig

if TYPE_CHECKING:
    import torch

__all__ = ["ATOL", "RTOL", "Measured", "MeasuredRow", "check_output", "measure_methods"]

ATOL, RTOL = 1e-4, 1e-4  # executed output against the unsplit model's (float32, torch.allclose)


@returned_type
@dataclass(frozen=True)
class MeasuredRow:
    """One method on one case: simulated and measured latency, and the blocks kept."""

    method: str
    simulated_s: float
    measured_s: float
    block_medians_s: tuple[float, ...]
    rejected_blocks: tuple[int, ...]
    volumes: int
    max_abs_diff: float

    @property
    def error(self) -> float:
        """Measured over simulated, minus one."""
        return self.measured_s / self.simulated_s - 1.0


@returned_type
@dataclass(frozen=True, eq=False)
class Measured:
    """The info object of one measured case."""

    case: str
    model: str
    devices: tuple[str, ...]
    rows: tuple[MeasuredRow, ...]
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case": self.case,
            "model": self.model,
            "devices": list(self.devices),
            "notes": self.notes,
            "rows": [
                {
                    "method": r.method,
                    "simulated_ips": 1.0 / r.simulated_s,
                    "measured_ips": 1.0 / r.measured_s,
                    "simulated_ms": r.simulated_s * 1e3,
                    "measured_median_ms": r.measured_s * 1e3,
                    "error_pct": 100.0 * r.error,
                    "volumes": r.volumes,
                    "block_medians_ms": [m * 1e3 for m in r.block_medians_s],
                    "rejected_blocks": list(r.rejected_blocks),
                    "max_abs_diff": r.max_abs_diff,
                }
                for r in self.rows
            ],
        }

    def markdown(self) -> str:
        """A Markdown table: one row per method (DistrEdge and ``fast`` apart, as rows)."""
        lines = [
            f"**{self.case}** ({self.model}; devices {', '.join(self.devices)})\n",
            "| method | volumes | simulated img/s | measured img/s | simulated ms | "
            "measured median ms | error | rejected blocks |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            rejected = ", ".join(str(b) for b in r.rejected_blocks) or "-"
            lines.append(
                f"| {r.method} | {r.volumes} | {1 / r.simulated_s:.2f} | {1 / r.measured_s:.2f}"
                f" | {r.simulated_s * 1e3:.1f} | {r.measured_s * 1e3:.1f} | "
                f"{100 * r.error:+.1f}% | {rejected} |"
            )
        return "\n".join(lines) + "\n"


@validate_params(
    {
        "output": [InstanceOf("torch:Tensor")],
        "reference": [InstanceOf("torch:Tensor")],
        "where": [InstanceOf(str)],
    }
)
def check_output(output: torch.Tensor, reference: torch.Tensor, where: str) -> float:
    """Raise :class:`ExecutionError` unless ``output`` equals ``reference`` (ATOL, RTOL)."""
    import torch

    if output.shape != reference.shape or not torch.allclose(output, reference, ATOL, RTOL):
        raise ExecutionError(f"{where}: the executed output differs from the unsplit model's")
    return float((output - reference).abs().max())


def _disturbed(medians: list[float], reject_pct: float) -> list[int]:
    """Blocks whose median is off the median of all by more than ``reject_pct`` %.

    When that would reject every block (two blocks far apart), none is rejected.
    """
    centre = statistics.median(medians)
    off = [b for b, m in enumerate(medians) if abs(m - centre) > reject_pct / 100 * centre]
    return off if len(off) < len(medians) else []


@validate_params(
    {
        "model": [InstanceOf(ModelSpec)],
        "cluster": [InstanceOf(EmulatedCluster)],
        "methods": [InstanceOf(tuple, list)],
        "blocks": [Interval(int, None, None)],
        "images": [Interval(int, None, None)],
        "reject_pct": [Interval(float, 0, 100)],
        "episodes": [Interval(int, 1, None)],
        "fast_evaluations": [Interval(int, None, None)],
        "granularity": [Interval(int, 1, None)],
        "repeats": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
        "mode": [Options(("process", "thread"))],
        "progress": [Callable_(), None],
    }
)
def measure_methods(
    model: ModelSpec,
    cluster: EmulatedCluster,
    *,
    methods: Sequence[str] = METHODS,
    blocks: int = 5,
    images: int = 3,
    reject_pct: float = 15.0,
    episodes: int = 300,
    fast_evaluations: int = 1000,
    granularity: int = 1,
    repeats: int = 3,
    seed: int = 0,
    mode: str = "process",
    progress: Callable[[str], None] | None = None,
) -> Measured:
    """Profile in place, plan every method, execute and time it (see the module docstring)."""
    import torch

    from splitexit.spatial.geometry._torch import TorchModel

    for option, value in (("blocks", blocks), ("images", images)):
        if value < 1:
            raise InputError(f"{option} must be >= 1, got {value}")
    say = progress or (lambda _: None)
    image = torch.randn(
        1, model.c_in, model.h_in, model.w_in, generator=torch.Generator().manual_seed(seed)
    )
    with torch.inference_mode():
        reference = TorchModel(model, seed=seed).eval()(image)
    with ExecutionPool(
        model, cluster, seed=seed, mode="thread" if mode == "thread" else "process"
    ) as pool:
        problem = pool.profile(granularity=granularity, repeats=repeats)
        pipe_s = pool.measure_pipe()
        say(f"profiled in place; a stamped delivery is used {pipe_s * 1e3:.2f} ms late")
        comparison = compare(
            problem, methods=methods, osds_config=OSDSConfig(episodes=episodes, seed=seed),
            fast_evaluations=fast_evaluations, seed=seed,
        )  # fmt: skip
        say("planned: " + ", ".join(f"{r.method} {r.ips:.2f} img/s" for r in comparison.results))
        latencies: dict[str, list[list[float]]] = {m: [] for m in methods}
        diffs = dict.fromkeys(methods, 0.0)
        for result in comparison.results:  # one warm-up image each, not timed
            output, _ = pool.run(result.strategy, image)
            diffs[result.method] = check_output(output, reference, result.method)
        for block in range(blocks):
            order = list(comparison.results)
            order = order[block % len(order) :] + order[: block % len(order)]
            for result in order:
                times = []
                for _ in range(images):
                    output, latency = pool.run(result.strategy, image)
                    diff = check_output(output, reference, result.method)
                    diffs[result.method] = max(diffs[result.method], diff)
                    times.append(latency)
                latencies[result.method].append(times)
            say(f"block {block + 1}/{blocks} done")
    rows = []
    for result in comparison.results:
        per_block = latencies[result.method]
        medians = [statistics.median(times) for times in per_block]
        rejected = _disturbed(medians, reject_pct)
        kept = [t for b, times in enumerate(per_block) if b not in rejected for t in times]
        rows.append(
            MeasuredRow(
                result.method, result.latency_s, statistics.median(kept), tuple(medians),
                tuple(rejected), result.strategy.num_volumes, diffs[result.method],
            )
        )  # fmt: skip
    notes = {
        "blocks": blocks, "images_per_block": images, "reject_pct": reject_pct,
        "distredge_episodes": episodes, "fast_evaluations": fast_evaluations,
        "granularity": granularity, "profile_repeats": repeats, "seed": seed,
        "tolerance": {"atol": ATOL, "rtol": RTOL},
        "slowdowns": [d.slowdown for d in cluster.devices],
        "bandwidths_mbps": [d.bandwidth / 1e6 for d in cluster.devices],
        "requester_mbps": cluster.requester_bandwidth / 1e6,
        "overhead_ms": cluster.overhead_s * 1e3,
        "pipe_ms": pipe_s * 1e3,
    }  # fmt: skip
    return Measured(cluster.name, model.name, cluster.names, tuple(rows), notes)
