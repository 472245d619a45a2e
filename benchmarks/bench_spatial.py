"""Speed of the spatial room: simulator evaluations, planning time of every method, DDPG steps.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_spatial.py [--episodes 500]``. Prints
Markdown tables; docs/benchmarks.md records them with the command.

``--sensitivity`` prints instead the diagnostic of docs/spatial.md ("Why the targets are still
not met"): fast/AOFL on DB and DC when every board computes ``k`` times slower, or with another
per-transfer overhead, against the same network. It is a diagnostic, not a calibration.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable

from splitexit.spatial import (
    Cluster,
    OSDSConfig,
    Problem,
    Provider,
    SyntheticDevice,
    aofl,
    coedge,
    fast,
    group_cluster,
    lcpss,
    load_model,
    make_problem,
    offload,
    osds,
    simulate,
)


def _per_call(run: Callable[[], object], seconds: float = 1.0) -> float:
    calls, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        run()
        calls += 1
    return (time.perf_counter() - started) / calls


def simulator_speed() -> None:
    print("| case | strategy | volumes | one simulation |")
    print("|---|---|---|---|")
    for group, kwargs in (("DB", {"bandwidth": 50e6}), ("LB", {})):
        problem = make_problem(load_model("vgg16"), group_cluster(group, **kwargs))
        for name, strategy in (("CoEdge", coedge(problem)), ("AOFL", aofl(problem))):
            took = _per_call(lambda p=problem, s=strategy: simulate(p, s))  # type: ignore[misc]
            print(f"| vgg16 {group} | {name} | {strategy.num_volumes} | {took * 1e3:.3f} ms |")


def planning(problem: Problem, label: str, episodes: int) -> None:
    started = time.perf_counter()
    scheme = lcpss(problem)
    lcpss_s = time.perf_counter() - started
    started = time.perf_counter()
    aofl(problem)
    aofl_s = time.perf_counter() - started
    started = time.perf_counter()
    ours = simulate(problem, fast(problem)).ips
    fast_s = time.perf_counter() - started
    trained = osds(problem, scheme, OSDSConfig(episodes=episodes))
    steps = episodes * (len(scheme) - 1)
    print(
        f"| {label} | {lcpss_s:.2f} s | {aofl_s:.2f} s | {fast_s:.1f} s, {ours:.2f} IPS | "
        f"{trained.train_s:.1f} s, {1 / trained.latency_s:.2f} IPS | "
        f"{steps / trained.train_s:.0f} |"
    )


def _slowed(cluster: Cluster, k: float) -> Cluster:
    """Every (synthetic) board ``k`` times slower: throughputs / k, launch costs x k."""
    providers = []
    for p in cluster.providers:
        assert isinstance(p.device, SyntheticDevice)
        device = dataclasses.replace(
            p.device,
            flops_per_s=p.device.flops_per_s / k,
            launch_s=p.device.launch_s * k,
            mem_bytes_per_s=p.device.mem_bytes_per_s / k,
        )
        providers.append(Provider(p.name, device, p.bandwidth))
    return dataclasses.replace(cluster, providers=tuple(providers))


def sensitivity() -> None:
    print("| case | k | overhead | offload | aofl | fast | fast/AOFL | fast/offload |")
    print("|---|---|---|---|---|---|---|---|")
    variants = [(1.0, 2e-3), (2.0, 2e-3), (4.0, 2e-3), (1.0, 0.0), (1.0, 5e-3)]
    for k, overhead in variants:
        for group, bandwidth in (("DB", 50e6), ("DB", 300e6), ("DC", 50e6), ("DC", 300e6)):
            cluster = group_cluster(group, bandwidth=bandwidth, overhead_s=overhead)
            problem = make_problem(load_model("vgg16"), _slowed(cluster, k))
            alone = simulate(problem, offload(problem)).ips
            linear = simulate(problem, aofl(problem)).ips
            ours = simulate(problem, fast(problem)).ips
            print(
                f"| {group} {bandwidth / 1e6:.0f}Mbps | {k:g} | {overhead * 1e3:g} ms | "
                f"{alone:.2f} | {linear:.2f} | {ours:.2f} | {ours / linear:.2f}x | "
                f"{ours / alone:.2f}x |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=500, help="DDPG episodes per case")
    parser.add_argument(
        "--sensitivity", action="store_true", help="the diagnostic of docs/spatial.md instead"
    )
    args = parser.parse_args()
    if args.sensitivity:
        sensitivity()
        return
    simulator_speed()
    print()
    ddpg = f"DDPG {args.episodes} episodes"
    print(f"| case | LC-PSS | AOFL search | fast (ours) | {ddpg} | steps/s |")
    print("|---|---|---|---|---|---|")
    for group, kwargs in (("DB", {"bandwidth": 50e6}), ("NA", {"device": "nano"}), ("LB", {})):
        problem = make_problem(load_model("vgg16"), group_cluster(group, **kwargs))
        planning(problem, f"vgg16 {group}", args.episodes)


if __name__ == "__main__":
    main()
