"""Speed of the spatial room: simulator evaluations, planning time of every method, DDPG steps.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_spatial.py [--episodes 500]``. Prints
Markdown tables; docs/benchmarks.md records them with the command.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from splitexit.spatial import (
    OSDSConfig,
    Problem,
    aofl,
    coedge,
    fast,
    group_cluster,
    lcpss,
    load_model,
    make_problem,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=500, help="DDPG episodes per case")
    args = parser.parse_args()
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
