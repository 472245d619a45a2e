"""Measured against simulated: every method's strategy executed, one image at a time.

Each method plans on the tables profiled in place (:meth:`ExecutionPool.profile`, chained
by default: ``warmup`` + ``repeats`` rounds). Then ``blocks`` blocks run; before each,
``rounds_per_block`` more rounds of the same profile are taken (untimed), so that the
tables are measured over the same minutes, under the same load, as the images; in each
block every method (in an order rotated from block to block) executes ``images`` images one
at a time, every output checked against the unsplit model's: by default the methods take
turns image by image (``interleave="image"``), so that a method's images are spread over the
block rather than taken in one stretch of the host's load (``"method"``: a method's images in
a row, as until session 11). The
simulator then times every method's strategy (planned on the first rounds) on the tables of
all rounds: the *simulated* column; the simulated latency on the planning tables is kept
beside it. A block whose median latency deviates more than ``reject_pct`` % from the median
of that method's block medians is *disturbed*: rejected and reported. The measured latency
is the median of the images of the kept blocks; images per second is its inverse (one image
at a time). Two diagnostics per method: the executed split-parts' emulated seconds against
the tables' for the same parts (*compute vs table*), and how late the host delivered the
result after its emulated stamp (*host late*). And the *paired error*: each image's
latency over the simulator's on the tables of the profile round taken right before its
block alone (median, minus one), which a drift of the host's speed from one block to the
next does not move, though one round's tables are noisier than all rounds'. Since session 14
its disturbed blocks are found on the same pairing (*paired rejected*): a block whose
median of those ratios is more than ``reject_pct`` % off the median of the method's block
ratios, so that a block run while the host was faster or slower, and profiled so, is kept,
and a block disturbed after its round is not.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

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
from splitexit.spatial.execution._pool import (
    KEEP_HEAP,
    PROBE,
    PROFILE_CHAIN,
    PROFILE_GAP_S,
    PROFILE_WOKEN_EVERY,
    SHUFFLE_PASSES,
    TIMING,
    WARM_S,
    ExecutionError,
    ExecutionPool,
)
from splitexit.spatial.experiments._compare import METHODS, compare
from splitexit.spatial.geometry._geometry import ModelSpec, cuts_to_intervals, volume_rows
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods._osds import OSDSConfig

if TYPE_CHECKING:
    import torch

__all__ = [
    "ATOL",
    "RTOL",
    "Measured",
    "MeasuredRow",
    "check_output",
    "measure_methods",
    "table_parts",
]

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
    late_s: float = 0.0  # median of wall minus emulated latency: the host's own lateness
    compute_ratio: float = float("nan")  # executed split-parts' emulated seconds / the tables'
    planned_s: float = float("nan")  # simulated on the profile the methods planned on
    device_ratios: tuple[float, ...] = ()  # compute_ratio per device (nan: no part there)
    first_ratio: float = float("nan")  # the same, the first layer of each part alone
    chained_ratio: float = float("nan")  # the same, the other layers of each part
    # each kept image's latency over the simulator's on the profile round before its block
    # (median, minus one): the pairing that a drift of the host's speed between the rounds
    # does not move (nan without a round before each block)
    paired_error: float = float("nan")
    # blocks rejected on the pairing (their median ratio to the round before them is off the
    # method's median ratio); the paired error counts the images of the other blocks
    paired_rejected: tuple[int, ...] = ()
    # per block, the simulator's latency on the profile round right before it
    block_simulated_s: tuple[float, ...] = ()

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
                    "host_late_ms": r.late_s * 1e3,
                    "compute_vs_table_pct": 100.0 * (r.compute_ratio - 1.0),
                    "compute_vs_table_pct_by_device": [
                        None if ratio != ratio else 100.0 * (ratio - 1.0)
                        for ratio in r.device_ratios
                    ],
                    "simulated_at_planning_ms": r.planned_s * 1e3,
                    "first_layer_vs_table_pct": _pct_or_none(r.first_ratio),
                    "chained_layers_vs_table_pct": _pct_or_none(r.chained_ratio),
                    "paired_error_pct": _pct_or_none(1.0 + r.paired_error),
                    "paired_rejected_blocks": list(r.paired_rejected),
                    "block_simulated_ms": [
                        None if math.isnan(s) else s * 1e3 for s in r.block_simulated_s
                    ],
                }
                for r in self.rows
            ],
        }

    def markdown(self) -> str:
        """A Markdown table: one row per method (DistrEdge and ``fast`` apart, as rows)."""
        lines = [
            f"**{self.case}** ({self.model}; devices {', '.join(self.devices)})\n",
            "| method | volumes | simulated img/s | measured img/s | simulated ms | "
            "measured median ms | error | rejected blocks | compute vs table | first layer | "
            "chained layers | host late ms | simulated at planning ms | paired error | "
            "paired rejected |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            rejected = ", ".join(str(b) for b in r.rejected_blocks) or "-"
            paired_off = ", ".join(str(b) for b in r.paired_rejected) or "-"
            lines.append(
                f"| {r.method} | {r.volumes} | {1 / r.simulated_s:.2f} | {1 / r.measured_s:.2f}"
                f" | {r.simulated_s * 1e3:.1f} | {r.measured_s * 1e3:.1f} | "
                f"{100 * r.error:+.1f}% | {rejected} | {100 * (r.compute_ratio - 1):+.1f}% | "
                f"{_pct(r.first_ratio)} | {_pct(r.chained_ratio)} | "
                f"{r.late_s * 1e3:.1f} | {r.planned_s * 1e3:.1f} | {_pct(1 + r.paired_error)} | "
                f"{paired_off} |"
            )
        within = sum(abs(r.error) <= 0.10 for r in self.rows)
        lines.append(f"\n{within} of {len(self.rows)} methods within 10% of simulated.")
        if all(r.paired_error == r.paired_error for r in self.rows):
            paired = sum(abs(r.paired_error) <= 0.10 for r in self.rows)
            lines.append(
                f"{paired} of {len(self.rows)} within 10% of the simulator on the profile "
                "round before each block (paired error, paired rejection)."
            )
        return "\n".join(lines) + "\n"


def _pct_or_none(ratio: float) -> float | None:
    return None if ratio != ratio else 100.0 * (ratio - 1.0)


def _pct(ratio: float) -> str:
    return "-" if ratio != ratio else f"{100 * (ratio - 1):+.1f}%"


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


def _paired(ratios: list[list[float]], reject_pct: float) -> tuple[float, list[int]]:
    """The paired error and its disturbed blocks, from each block's images' latencies over
    the simulator's on the round before that block: blocks whose median ratio is off the
    median of all by more than ``reject_pct`` % are left out (:func:`_disturbed`), and the
    median of the other images' ratios, minus one, is the error (nan without rounds)."""
    medians = [statistics.median(block) for block in ratios]
    if any(m != m for m in medians):  # no round before the blocks
        return float("nan"), []
    off = _disturbed(medians, reject_pct)
    kept = [r for b, block in enumerate(ratios) if b not in off for r in block]
    return statistics.median(kept) - 1.0, off


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
        "profile_mode": [Options(("chained", "isolated"))],
        "rounds_per_block": [InstanceOf(int)],  # its bound is checked below, with its message
        "warm_s": [Interval(float, 0, 0.1)],
        "timing": [Options(("once", "twice"))],
        "profile_chain": [Interval(int, 1, 3)],
        "shuffle_passes": [InstanceOf(bool)],
        "interleave": [Options(("image", "method"))],
        "probe": [InstanceOf(bool)],
        "keep_heap": [InstanceOf(bool)],
        "progress": [Callable_(), None],
    }
)
def measure_methods(
    model: ModelSpec,
    cluster: EmulatedCluster,
    *,
    methods: Sequence[str] = METHODS,
    blocks: int = 10,
    images: int = 3,
    reject_pct: float = 15.0,
    episodes: int = 300,
    fast_evaluations: int = 1000,
    granularity: int = 1,
    repeats: int = 1,
    seed: int = 0,
    mode: str = "process",
    profile_mode: Literal["chained", "isolated"] = "chained",
    rounds_per_block: int = 1,
    warm_s: float = WARM_S,
    profile_chain: int = PROFILE_CHAIN,
    timing: Literal["once", "twice"] = TIMING,
    shuffle_passes: bool = SHUFFLE_PASSES,
    interleave: Literal["image", "method"] = "image",
    probe: bool = PROBE,
    keep_heap: bool = KEEP_HEAP,
    progress: Callable[[str], None] | None = None,
) -> Measured:
    """Profile in place, plan every method, execute and time it (see the module docstring)."""
    import torch

    from splitexit.spatial.geometry._torch import TorchModel

    for option, value, low in (("blocks", blocks, 1), ("images", images, 1),
                               ("rounds_per_block", rounds_per_block, 0)):  # fmt: skip
        if value < low:
            raise InputError(f"{option} must be >= {low}, got {value}")
    if profile_mode != "chained":
        rounds_per_block = 0  # only the chained profile takes more rounds
    say = progress or (lambda _: None)
    image = torch.randn(
        1, model.c_in, model.h_in, model.w_in, generator=torch.Generator().manual_seed(seed)
    )
    with torch.inference_mode():
        reference = TorchModel(model, seed=seed).eval()(image)
    with ExecutionPool(
        model, cluster, seed=seed, mode="thread" if mode == "thread" else "process",
        warm_s=warm_s, timing=timing, shuffle_passes=shuffle_passes, probe=probe,
        keep_heap=keep_heap,
    ) as pool:  # fmt: skip
        problem = pool.profile(
            granularity=granularity, repeats=repeats, mode=profile_mode, chain=profile_chain
        )
        pipe_s = pool.measure_pipe()
        say(f"profiled in place; a stamped delivery is used {pipe_s * 1e3:.2f} ms late")
        comparison = compare(
            problem, methods=methods, osds_config=OSDSConfig(episodes=episodes, seed=seed),
            fast_evaluations=fast_evaluations, seed=seed,
        )  # fmt: skip
        say("planned: " + ", ".join(f"{r.method} {r.ips:.2f} img/s" for r in comparison.results))
        latencies: dict[str, list[list[float]]] = {m: [] for m in methods}
        late: dict[str, list[list[float]]] = {m: [] for m in methods}
        ids: dict[str, list[list[int]]] = {m: [] for m in methods}
        # per image: its latency over the simulated one on the round before its block
        paired: dict[str, list[list[float]]] = {m: [] for m in methods}
        block_sim: dict[str, list[float]] = {m: [] for m in methods}
        diffs = dict.fromkeys(methods, 0.0)
        for result in comparison.results:  # one warm-up image each, not timed
            output, _ = pool.run(result.strategy, image)
            diffs[result.method] = check_output(output, reference, result.method)
        pool.part_log()  # drop the warm-up images' parts
        for block in range(blocks):
            if rounds_per_block:  # the profile under the same load as the block's images
                problem = pool.profile_more(rounds_per_block)
            order = list(comparison.results)
            order = order[block % len(order) :] + order[: block % len(order)]
            latest = pool.latest_problem if rounds_per_block else None
            nearby = {
                r.method: (
                    simulate(latest, r.strategy).latency_s if latest is not None else float("nan")
                )
                for r in order
            }
            times: dict[str, list[float]] = {r.method: [] for r in order}
            lates: dict[str, list[float]] = {r.method: [] for r in order}
            images_run: dict[str, list[int]] = {r.method: [] for r in order}
            # "image": one image of each method in turn, ``images`` times (a method's images
            # spread over the block); "method": a method's images one after another
            turns = (
                [r for _ in range(images) for r in order]
                if interleave == "image"
                else [r for r in order for _ in range(images)]
            )
            for result in turns:
                output, latency = pool.run(result.strategy, image)
                diff = check_output(output, reference, result.method)
                diffs[result.method] = max(diffs[result.method], diff)
                times[result.method].append(latency)
                lates[result.method].append(latency - pool.last_emulated_s)
                images_run[result.method].append(pool.last_image)
            for result in order:
                m = result.method
                latencies[m].append(times[m])
                paired[m].append([t / nearby[m] for t in times[m]])
                block_sim[m].append(nearby[m])
                late[m].append(lates[m])
                ids[m].append(images_run[m])
            say(f"block {block + 1}/{blocks} done")
        parts = pool.part_log()
        layers = dict(pool.part_layers)
    rows = []
    for result in comparison.results:
        per_block = latencies[result.method]
        medians = [statistics.median(times) for times in per_block]
        rejected = _disturbed(medians, reject_pct)
        kept = [t for b, times in enumerate(per_block) if b not in rejected for t in times]
        kept_late = [t for b, ts in enumerate(late[result.method]) if b not in rejected for t in ts]
        kept_ids = {i for b, xs in enumerate(ids[result.method]) if b not in rejected for i in xs}
        paired_error, paired_off = _paired(paired[result.method], reject_pct)
        expected = table_parts(problem, result.strategy)
        table = sum(expected.values())
        executed = sum(s for (i, _, _), s in parts.items() if i in kept_ids)
        by_device = []
        for k in range(cluster.size):
            mine = sum(s for (d, _), s in expected.items() if d == k) * len(kept_ids)
            ran = sum(s for (i, d, _), s in parts.items() if i in kept_ids and d == k)
            by_device.append(ran / mine if mine > 0 else float("nan"))
        first, chained = _layer_ratios(problem, result.strategy, layers, kept_ids)
        rows.append(
            MeasuredRow(
                result.method, simulate(problem, result.strategy).latency_s,
                statistics.median(kept), tuple(medians), tuple(rejected),
                result.strategy.num_volumes, diffs[result.method],
                statistics.median(kept_late), executed / (table * len(kept_ids)),
                result.latency_s, tuple(by_device), first, chained,
                paired_error, tuple(paired_off),
                tuple(block_sim[result.method]),
            )
        )  # fmt: skip
    notes = {
        "blocks": blocks, "images_per_block": images, "reject_pct": reject_pct,
        "distredge_episodes": episodes, "fast_evaluations": fast_evaluations,
        "granularity": granularity, "profile_repeats": repeats, "seed": seed,
        "profile_rounds_per_block": rounds_per_block,
        "tolerance": {"atol": ATOL, "rtol": RTOL},
        "slowdowns": [d.slowdown for d in cluster.devices],
        "bandwidths_mbps": [d.bandwidth / 1e6 for d in cluster.devices],
        "requester_mbps": cluster.requester_bandwidth / 1e6,
        "overhead_ms": cluster.overhead_s * 1e3,
        "pipe_ms": pipe_s * 1e3,
        "profile": profile_mode,
        "profile_gap_ms": PROFILE_GAP_S * 1e3,
        "profile_sleep_out": True,
        "profile_woken_every": PROFILE_WOKEN_EVERY,
        "warm_up_ms": warm_s * 1e3,
        "timing": timing,
        "shuffled_passes": shuffle_passes,
        "interleave": interleave,
        "profile_chain": profile_chain,
        "probe": pool.probe,
        "keep_heap": pool.keep_heap,
        "loadavg": _loadavg(),
    }  # fmt: skip
    return Measured(cluster.name, model.name, cluster.names, tuple(rows), notes)


def table_parts(problem: Problem, strategy: Strategy) -> dict[tuple[int, int], float]:
    """The tables' seconds of every split-part of ``strategy``, by ``(device, stage)``.

    Stage ``v`` is volume ``v`` (timed as the simulator times it, ``volume_tables``);
    stage ``num_layers`` is the FC tail on the provider with the most rows of the last
    volume. The executed parts' emulated seconds (``ExecutionPool.part_log``) compare to these.
    """
    model = problem.model
    out = {(k, v): sum(layers) for k, v, layers in _tabled_layers(problem, strategy)}
    if model.tail_pool != "none":
        last = model.layers[strategy.boundaries[-1] - 1]
        a, b = cuts_to_intervals(np.asarray(strategy.splits[-1], dtype=np.int64), last.h_out)
        counts = np.maximum(b - a + 1, 0)
        m = int(np.argmax(counts))
        out[(m, model.num_layers)] = float(problem.tail_s[m])
    return out


def _layer_ratios(
    problem: Problem,
    strategy: Strategy,
    layers: dict[tuple[int, int, int], tuple[float, ...]],
    images: set[int],
) -> tuple[float, float]:
    """Executed over tabled seconds of the parts' first layers, and of their other layers.

    ``layers``: ``ExecutionPool.part_layers`` (the emulated seconds of every layer of every
    executed part); only ``images`` count. The first layer of a part is charged the
    first-layer table (the worker slept before it), the others the chained one.
    """
    ran, tabled = [0.0, 0.0], [0.0, 0.0]
    for k, v, expected in _tabled_layers(problem, strategy):
        for image in images:
            for i, seconds in enumerate(layers.get((image, k, v), ())):
                ran[i > 0] += seconds
                tabled[i > 0] += expected[i]
    first, chained = (r / t if t > 0 else float("nan") for r, t in zip(ran, tabled, strict=True))
    return first, chained


def _tabled_layers(problem: Problem, strategy: Strategy) -> Iterator[tuple[int, int, list[float]]]:
    """``(device, volume, tabled seconds of each layer)`` of every non-empty split-part of
    ``strategy``, timed as the simulator times it (``Problem.volume_tables``)."""
    model = problem.model
    for v, cuts in enumerate(strategy.splits):
        first, last = strategy.boundaries[v], strategy.boundaries[v + 1] - 1
        a, b = cuts_to_intervals(np.asarray(cuts, dtype=np.int64), model.layers[last].h_out)
        rows = volume_rows(model.layers[first : last + 1], a, b)
        tables = problem.volume_tables(first, last)
        for k in range(len(a)):
            if b[k] >= a[k]:
                pairs = zip(tables, rows[:-1], strict=True)
                yield k, v, [float(t[k, hi[k] - lo[k] + 1]) for t, (lo, hi) in pairs]


def _loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (empty where /proc/loadavg is missing)."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return []
