"""Trace estimator and per-exit thresholds in the planner (issues 3 and 6): cost of the search.

A synthetic trace (S samples, N blocks) with a matching profile, the mobile preset (4 tiers),
20 thresholds. For each estimator mode: configurations, planner time (enumeration), and the
rate of a plain per-sample replay of single configurations measured in the same run.

Usage: .venv/bin/python benchmarks/bench_per_exit.py [--samples 10000] [--blocks 10]
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

from splitexit import Profile, load_topology, plan, random_profile
from splitexit.perfmodel import reference_per_exit_estimate
from splitexit.planner.reference import reference_configurations
from splitexit.profile import Trace, exit_rates_from_entropy


def synthetic(samples: int, blocks: int) -> tuple[Profile, Trace]:
    rng = np.random.default_rng(0)
    depth = np.arange(1, blocks + 1) / blocks
    hardness = rng.beta(2, 2, (samples, 1))
    entropy = np.clip(hardness * (1.2 - depth) + rng.normal(0, 0.08, (samples, blocks)), 0, 1)
    correct = rng.random((samples, blocks)) > hardness * (1.1 - depth)
    base = random_profile(blocks, num_thresholds=20, seed=0)
    profile = Profile(
        **{**base.__dict__, "exit_rates": exit_rates_from_entropy(entropy, base.thresholds)}
    )
    trace = Trace(
        profile.model,
        profile.dataset,
        "profiling",
        np.zeros(samples, dtype=np.int64),
        entropy.astype(np.float32),
        correct,
        entropy.astype(np.float32),
        correct,
    )
    return profile, trace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--blocks", type=int, default=10)
    args = parser.parse_args()
    profile, trace = synthetic(args.samples, args.blocks)
    topology = load_topology("mobile")
    # plain replay, one configuration and one sample at a time (the oracle of the tests)
    configs = list(
        itertools.islice(reference_configurations(profile, topology, per_exit=True), 2000, 2200)
    )
    start = time.perf_counter()
    for config in configs:
        reference_per_exit_estimate(
            trace.entropy_separate, trace.correct_separate, config.thresholds, config.partition
        )
    naive_rate = len(configs) / (time.perf_counter() - start)
    print(f"{args.blocks} blocks, 4 tiers (mobile), 20 thresholds, {args.samples:,} samples")
    print(f"plain per-sample replay: {naive_rate:,.0f} configurations/s\n")
    columns = ["estimator", "thresholds", "configurations", "planner time", "configurations/s"]
    print("| " + " | ".join([*columns, "vs plain replay"]) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for estimator, per_exit in (("paper", False), ("trace", False), ("trace", True)):
        start = time.perf_counter()
        result = plan(
            profile,
            topology,
            estimator=estimator,
            trace=trace if estimator == "trace" else None,
            per_exit_thresholds=per_exit,
            solver="enumerate",
        )
        took = time.perf_counter() - start
        rate = result.configurations_evaluated / took
        print(
            f"| {estimator} | {'per exit' if per_exit else 'global'} | "
            f"{result.configurations_evaluated:,} | {took:.2f} s | {rate:,.0f} | "
            f"{'-' if estimator == 'paper' else f'{rate / naive_rate:,.0f}x'} |"
        )


if __name__ == "__main__":
    main()
