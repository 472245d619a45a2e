"""Planner benchmarks (issue 2): evaluator throughput and the full Pareto frontier at scale.

Prints, for each case, the median of several runs, and the ratio to the plain-loop reference
(the way the public successor of seed 000 evaluates configurations) measured in the same run.

Usage: .venv/bin/python benchmarks/bench_planner.py [--repeats 3] [--blocks 55]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time

import numpy as np

from splitexit import random_profile
from splitexit.perfmodel import ModelInputs, coefficients, partition_terms, reference_estimate
from splitexit.planner import count_configurations, sweep
from splitexit.planner._space import iter_partitions, placements, thresholds_for
from splitexit.planner.reference import reference_configurations
from splitexit.topology import Topology


def bench_topology(num_tiers: int) -> Topology:
    rng = np.random.default_rng(7)
    return Topology.from_mapping(
        {
            "name": f"bench-{num_tiers}",
            "tiers": [
                {"name": f"tier{j}", "compute_ratio": float(r)}
                for j, r in enumerate(np.geomspace(200, 1, num_tiers))
            ],
            "links": [
                {"bandwidth": float(rng.uniform(1e6, 1e8)), "latency": float(rng.uniform(0, 0.05))}
                for _ in range(num_tiers - 1)
            ],
        }
    )


def median_time(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def evaluate_only(inputs: ModelInputs) -> int:
    """Latency and accuracy of every configuration, no frontier: the raw evaluator."""
    done = 0
    for num_parts in range(1, min(inputs.num_blocks, inputs.num_tiers) + 1):
        tiers = placements(inputs.num_tiers, num_parts)
        coef = coefficients(inputs, tiers)
        t_idx = thresholds_for(num_parts, inputs.num_thresholds)
        for parts in iter_partitions(inputs.num_blocks, num_parts, 8192):
            terms = partition_terms(inputs, parts, t_idx)
            done += (terms.features @ coef).size
    return done


def reference_rate(profile: object, topology: Topology, count: int) -> float:
    configs = list(itertools.islice(reference_configurations(profile, topology), count))  # type: ignore[arg-type]
    start = time.perf_counter()
    for config in configs:
        reference_estimate(profile, topology, config)  # type: ignore[arg-type]
    return len(configs) / (time.perf_counter() - start)


def check_against_reference(
    profile: object, topology: Topology, result: object, samples: int
) -> int:
    """Evaluate random configurations with the plain-loop model; count those that beat the
    frontier (must be 0), and check every frontier point's values with the reference."""
    frontier = result.frontier()  # type: ignore[attr-defined]
    rng = np.random.default_rng(1)
    n, m, nt = profile.num_blocks, topology.num_tiers, profile.num_thresholds  # type: ignore[attr-defined]
    from splitexit.configuration import Configuration

    grid = profile.thresholds.tolist()  # type: ignore[attr-defined]

    beaten = 0
    for _ in range(samples):
        parts = int(rng.integers(1, min(n, m) + 1))
        partition = tuple(sorted(rng.choice(n, parts, replace=False).tolist()))
        placement = tuple(rng.choice(m, parts, replace=False).tolist())
        t = int(rng.integers(nt))
        config = Configuration.from_indices(partition, placement, [t] * (parts - 1), grid)
        est = reference_estimate(profile, topology, config)  # type: ignore[arg-type]
        faster = frontier.latency <= est.latency_s + 1e-9
        if not faster.any() or frontier.accuracy[faster].max() < est.accuracy - 1e-9:
            beaten += 1
    return beaten


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blocks", type=int, default=55)
    parser.add_argument("--check-samples", type=int, default=20_000)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )

    # 1. Throughput of the vectorized evaluator: random 20 blocks, 4 tiers, 20 thresholds.
    profile, topology = random_profile(20, num_thresholds=20, seed=0), bench_topology(4)
    inputs = ModelInputs.build(profile, topology)
    total = count_configurations(20, 4, 20)
    raw = median_time(lambda: evaluate_only(inputs), args.repeats)
    full = median_time(lambda: sweep(inputs), args.repeats)
    ref = reference_rate(profile, topology, 20_000)
    print(f"\n[20 blocks x 4 tiers x 20 thresholds] {total:,} configurations")
    print(f"  evaluator only     : {raw:.3f} s  -> {total / raw:,.0f} configurations/s")
    print(f"  evaluate + frontier: {full:.3f} s  -> {total / full:,.0f} configurations/s")
    print(f"  plain-loop reference: {ref:,.0f} configurations/s (20,000 configurations)")
    print(
        f"  speedup over the reference: {total / raw / ref:,.0f}x (evaluator), "
        f"{total / full / ref:,.0f}x (with frontier)"
    )

    # 2. Full Pareto frontier at ResNet-110 size (55 blocks), 4 tiers, 20 thresholds.
    n = args.blocks
    profile, topology = random_profile(n, num_thresholds=20, seed=1), bench_topology(4)
    inputs = ModelInputs.build(profile, topology)
    total = count_configurations(n, 4, 20)
    holder: dict[str, object] = {}
    elapsed = median_time(lambda: holder.update(result=sweep(inputs)), args.repeats)
    result = holder["result"]
    frontier = result.frontier()  # type: ignore[attr-defined]
    print(f"\n[{n} blocks x 4 tiers x 20 thresholds] {total:,} configurations")
    print(
        f"  full frontier: {elapsed:.2f} s ({total / elapsed:,.0f} configurations/s), "
        f"{len(frontier)} frontier points"
    )
    print(
        f"  reference would need ~{total / ref / 60:,.0f} min at {ref:,.0f} configurations/s "
        f"-> {total / ref / elapsed:,.0f}x"
    )
    beaten = check_against_reference(profile, topology, result, args.check_samples)
    print(
        f"  {args.check_samples:,} random configurations re-evaluated with the plain-loop model: "
        f"{beaten} beat the frontier (must be 0)"
    )


if __name__ == "__main__":
    main()
