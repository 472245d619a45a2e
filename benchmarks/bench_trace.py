"""Trace estimator benchmarks (issue 3): cost of replaying the cascade for every (T, P).

For each case: building the table once (grouping samples by below-threshold pattern), then
the exit rates and accuracy of every partitioning with up to ``--max-parts`` partitions under
all 20 thresholds. Baselines measured in the same run: the paper's estimator
(``partition_terms``, alpha sums) on the same partitionings, and the per-sample loop
(``reference_trace_estimate``) on a sample of them, extrapolated.

Usage: .venv/bin/python benchmarks/bench_trace.py [--repeats 3] [--profile PROFILE.json]
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from collections.abc import Callable

import numpy as np

from splitexit import random_profile
from splitexit.perfmodel import ModelInputs, partition_terms
from splitexit.perfmodel._trace import CascadeTable, reference_trace_estimate
from splitexit.profile import exit_rates_from_entropy, load_profile, load_profile_trace
from splitexit.topology import load_topology

THRESHOLDS = np.arange(1, 21) / 20


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic_trace(samples: int, blocks: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Entropy falling with depth plus noise; correctness more likely where entropy is low."""
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(1.6, 2.2, size=(samples, 1))
    depth = np.arange(1, blocks + 1) / blocks
    noise = rng.normal(0, 0.06, (samples, blocks))
    entropy = np.clip(difficulty * (1.25 - depth) * 1.3 + noise, 0, 1).astype(np.float32)
    return entropy, rng.random((samples, blocks)) > entropy * 0.7


def all_partitions(blocks: int, max_parts: int) -> list[np.ndarray]:
    return [
        np.array(list(itertools.combinations(range(blocks), parts)))
        for parts in range(1, min(blocks, max_parts) + 1)
    ]


def run_case(
    name: str, entropy: np.ndarray, correct: np.ndarray, max_parts: int, repeats: int
) -> None:
    samples, blocks = entropy.shape
    t_idx = np.arange(len(THRESHOLDS))
    build_s = median_time(lambda: CascadeTable.build(entropy, correct, THRESHOLDS), repeats)
    table = CascadeTable.build(entropy, correct, THRESHOLDS)
    groups = all_partitions(blocks, max_parts)
    pairs = sum(len(g) for g in groups) * len(t_idx)
    eval_s = median_time(lambda: [table.evaluate(g, t_idx) for g in groups], repeats)

    profile = random_profile(blocks, num_thresholds=20, seed=1)
    rates = exit_rates_from_entropy(entropy.astype(np.float64), THRESHOLDS)
    profile = type(profile)(**{**profile.__dict__, "exit_rates": rates})
    inputs = ModelInputs.build(profile, load_topology("mobile"))
    paper_s = median_time(lambda: [partition_terms(inputs, g, t_idx) for g in groups], repeats)

    rng = np.random.default_rng(0)
    probes = [tuple(g[rng.integers(len(g))]) for g in groups for _ in range(3)]
    start = time.perf_counter()
    for partition in probes:
        reference_trace_estimate(entropy, correct, 0.5, partition)
    loop_per_pair = (time.perf_counter() - start) / len(probes)

    print(f"{name}: {samples} samples x {blocks} branches, {table.num_rows} distinct patterns")
    print(f"  build table once: {build_s * 1e3:.1f} ms")
    print(
        f"  evaluate {pairs:,} (T, P) pairs (L <= {max_parts}): {eval_s:.3f} s, "
        f"{pairs / eval_s:,.0f} pairs/s"
    )
    print(
        f"  paper estimator, same pairs: {paper_s:.3f} s ({pairs / paper_s:,.0f} pairs/s); "
        f"trace costs {eval_s / paper_s:.1f}x the paper's"
    )
    print(
        f"  per-sample loop: {loop_per_pair * 1e3:.2f} ms per pair, "
        f"{loop_per_pair * pairs:.0f} s for all pairs; trace is "
        f"{loop_per_pair * pairs / eval_s:,.0f}x faster"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-parts", type=int, default=4, help="L up to this (tiers)")
    parser.add_argument("--profile", help="also run on a real profile's trace (its joint arrays)")
    args = parser.parse_args()
    if args.profile:
        profile = load_profile(args.profile)
        trace = load_profile_trace(profile, args.profile)
        run_case(
            f"trace of {args.profile}",
            trace.entropy_joint,
            trace.correct_joint,
            args.max_parts,
            args.repeats,
        )
    for samples, blocks, max_parts in ((10_000, 10, args.max_parts), (10_000, 28, 3)):
        entropy, correct = synthetic_trace(samples, blocks)
        run_case("synthetic", entropy, correct, max_parts, args.repeats)
    print(f"(C(55, 3) = {math.comb(55, 3):,} partitionings: see --max-parts for larger runs)")


if __name__ == "__main__":
    main()
