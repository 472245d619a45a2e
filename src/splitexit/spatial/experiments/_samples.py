"""Fig. 5 of seed 003: the effect of |R_s^r|, the random split decisions LC-PSS averages over.

For each size, LC-PSS runs ``repeats`` times with different random decisions (seeds
``seed, seed + 1, ...``); each scheme it picks is split by our equal-finish splitter and
polished on that fixed scheme (as ``alpha_sweep`` with ``splitter="fast"``; the paper runs
OSDS), and the minimum, mean and maximum images per second over the repeats are reported.
A scheme that comes back is timed once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from splitexit._validation import Callable_, InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.spatial.devices._cluster import group_cluster
from splitexit.spatial.devices._compile import make_problem
from splitexit.spatial.experiments._report import LinesInfo
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods._fast import polish, split_volumes
from splitexit.spatial.methods._lcpss import lcpss

__all__ = ["SAMPLE_SIZES", "samples_markdown", "samples_sweep"]

SAMPLE_SIZES = (5, 10, 25, 50, 100, 200)


@validate_params(
    {
        "model": [InstanceOf(ModelSpec)],
        "sizes": [InstanceOf(tuple, list)],
        "repeats": [Interval(int, None, None)],
        "seed": [Interval(int, 0, None)],
        "polish_evaluations": [Interval(int, None, None)],
        "progress": [Callable_(), None],
    }
)
def samples_sweep(
    model: ModelSpec,
    *,
    sizes: Sequence[int] = SAMPLE_SIZES,
    repeats: int = 50,
    seed: int = 0,
    polish_evaluations: int = 2000,
    progress: Callable[[str], None] | None = None,
) -> tuple[LinesInfo, dict[str, Any]]:
    """Fig. 5: min, mean and max IPS over ``repeats`` LC-PSS runs for each ``|R_s^r|``.

    The cases are the paper's: (a) DB at 50 Mbps, (b) NA with Nanos.
    """
    if repeats < 1:
        raise InputError(f"repeats must be >= 1, got {repeats}")
    if not sizes or any(n < 1 for n in sizes):
        raise InputError(f"sizes must be >= 1, got {list(sizes)}")
    cases = [
        ("(a) DB 50Mbps", group_cluster("DB", bandwidth=50e6)),
        ("(b) NA Nano", group_cluster("NA", device="nano")),
    ]
    labels: list[str] = []
    ys: list[tuple[float, ...]] = []
    raw: dict[str, Any] = {}
    for label, cluster in cases:
        problem = make_problem(model, cluster)
        timed: dict[tuple[int, ...], float] = {}
        stats: list[tuple[float, float, float]] = []
        rows = []
        for size in sizes:
            ips, picked = [], set()
            for r in range(repeats):
                scheme = lcpss(problem, samples=size, seed=seed + r)
                if scheme not in timed:
                    start = split_volumes(problem, scheme)
                    tuned = polish(problem, start, max_evaluations=polish_evaluations)
                    timed[scheme] = simulate(problem, tuned).ips
                ips.append(timed[scheme])
                picked.add(scheme)
            schemes = sorted(picked)
            low, mean, high = min(ips), sum(ips) / len(ips), max(ips)
            stats.append((low, mean, high))
            rows.append(
                {
                    "samples": size,
                    "min": low,
                    "mean": mean,
                    "max": high,
                    "ips": ips,
                    "schemes": [[b + 1 for b in s[:-1]] for s in schemes],
                }
            )
            if progress is not None:
                progress(
                    f"{label} |R|={size}: {len(schemes)} schemes, "
                    f"IPS {low:.2f} / {mean:.2f} / {high:.2f}"
                )
        raw[label] = rows
        for k, name in enumerate(("min", "mean", "max")):
            labels.append(f"{label} {name}")
            ys.append(tuple(s[k] for s in stats))
    info = LinesInfo(
        f"IPS over {repeats} LC-PSS runs per |R_s^r| ({model.name}, splitter: fast)",
        "|R_s^r| (random split decisions)",
        "images per second",
        tuple(labels),
        tuple(tuple(float(n) for n in sizes) for _ in labels),
        tuple(ys),
    )
    return info, raw


@validate_params({"raw": [InstanceOf(dict)]})
def samples_markdown(raw: dict[str, Any]) -> str:
    """One row per case and size: min, mean, max IPS and the number of distinct schemes."""
    lines = ["| case | \\|R_s^r\\| | min IPS | mean IPS | max IPS | distinct schemes |"]
    lines.append("|---|---|---|---|---|---|")
    for label, rows in raw.items():
        for row in rows:
            lines.append(
                f"| {label} | {row['samples']} | {row['min']:.2f} | {row['mean']:.2f} | "
                f"{row['max']:.2f} | {len(row['schemes'])} |"
            )
    return "\n".join(lines) + "\n"
