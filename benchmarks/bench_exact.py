"""Exact-solver benchmarks (issue 6): scaling table and identity with enumeration.

1. Scaling: for each (blocks, tiers) at 20 thresholds, the exact frontier's time, states and
   labels; where enumeration is affordable it runs in the same process for the ratio and the
   two frontiers are compared point by point.
2. Identity: the exact frontier against enumeration on many random instances small enough to
   enumerate (the tests cover 40 more), configurations included.

Usage: .venv/bin/python benchmarks/bench_exact.py [--instances 200] [--max-enumerate 2e8]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from bench_planner import bench_topology
from splitexit import Profile, random_profile
from splitexit.perfmodel import ModelInputs
from splitexit.planner import count_configurations, sweep
from splitexit.planner._exact import exact_frontier

CASES = [(20, 4), (55, 4), (55, 5), (110, 4), (110, 5), (55, 6), (110, 6), (200, 6)]


def same(a: object, b: object) -> bool:
    width = min(a.partition.shape[1], b.partition.shape[1])  # type: ignore[attr-defined]
    return bool(
        len(a) == len(b)  # type: ignore[arg-type]
        and all(
            np.array_equal(getattr(a, f), getattr(b, f))
            for f in ("latency", "accuracy", "num_parts", "threshold")
        )
        and np.array_equal(a.partition[:, :width], b.partition[:, :width])  # type: ignore[attr-defined]
        and np.array_equal(a.placement[:, :width], b.placement[:, :width])  # type: ignore[attr-defined]
    )


def scaling(max_enumerate: float) -> None:
    columns = ["blocks", "tiers", "configurations", "exact", "states", "labels", "frontier"]
    columns += ["enumeration", "ratio", "identical"]
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")
    for n, m in CASES:
        inputs = ModelInputs.build(random_profile(n, num_thresholds=20, seed=1), bench_topology(m))
        total = count_configurations(n, m, 20)
        start = time.perf_counter()
        exact = exact_frontier(inputs)
        took = time.perf_counter() - start
        row = (
            f"| {n} | {m} | {total:.3g} | {took:.2f} s | {exact.states_explored:,} | "
            f"{exact.labels_kept:,} | {len(exact.frontier)} |"
        )
        if total <= max_enumerate:
            start = time.perf_counter()
            enumerated = sweep(inputs, sample_size=10).frontier()
            enum_took = time.perf_counter() - start
            identical = same(exact.frontier, enumerated)
            row += f" {enum_took:.2f} s | {enum_took / took:.0f}x | {identical} |"
        else:
            row += " - | - | - |"
        print(row, flush=True)


def identity(instances: int) -> None:
    identical = 0
    for seed in range(1000, 1000 + instances):
        rng = np.random.default_rng(seed)
        n, m, nt = int(rng.integers(1, 15)), int(rng.integers(1, 6)), int(rng.integers(1, 9))
        profile = random_profile(n, num_thresholds=nt, seed=seed)
        if seed % 4 == 0:  # exact ties: everything leaves at branch 1 at the last threshold
            rates = profile.exit_rates.copy()
            rates[-1] = 0.0
            rates[-1, 0] = 1.0
            profile = Profile(**{**profile.__dict__, "exit_rates": rates})
        topology = bench_topology(m)
        inputs = ModelInputs.build(
            profile, topology, accuracy="joint" if seed % 3 == 0 else "separate"
        )
        identical += same(exact_frontier(inputs).frontier, sweep(inputs, sample_size=10).frontier())
    print(
        f"\nidentity: {identical} of {instances} random instances give the same frontier "
        "(points and configurations)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--max-enumerate", type=float, default=2e8)
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores)\n")
    scaling(args.max_enumerate)
    identity(args.instances)


if __name__ == "__main__":
    main()
