"""Speed of the spatial room: simulator evaluations, planning time of every method, DDPG steps.

Run: ``nice -n 10 .venv/bin/python benchmarks/bench_spatial.py [--episodes 500]``. Prints
Markdown tables; docs/benchmarks.md records them with the command.

``--sensitivity`` prints instead the sensitivity table of docs/spatial.md ("Sensitivity to
what the paper does not publish"): fast against AOFL and against the best of the seven
baselines on DB and DC, one unpublished setting changed at a time (input precision, the
requester's link, the per-transfer overhead, the devices' non-linearity). It is a
diagnostic, not a calibration: nothing is tuned to reach the paper's 1.1-3x.
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
    Strategy,
    SyntheticDevice,
    aofl,
    coedge,
    deeperthings,
    deepthings,
    fast,
    group_cluster,
    lcpss,
    load_model,
    make_problem,
    mednn,
    modnn,
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


def _linear(cluster: Cluster) -> Cluster:
    """The same boards without occupancy steps: latency linear in the height (wave of 1)."""
    providers = []
    for p in cluster.providers:
        assert isinstance(p.device, SyntheticDevice)
        device = dataclasses.replace(p.device, wave_elems=1)
        providers.append(Provider(p.name, device, p.bandwidth))
    return dataclasses.replace(cluster, providers=tuple(providers))


# One setting changed at a time from the defaults (8-bit image, 400 Mbps requester, 2 ms per
# transfer, step-shaped devices), then the two that favour splitting together.
SETTINGS: dict[str, Callable[[Cluster, float], Cluster]] = {
    "defaults": lambda c, b: c,
    "FP32 image": lambda c, b: dataclasses.replace(c, input_bits=32),
    "requester capped": lambda c, b: dataclasses.replace(c, requester_bandwidth=b),
    "overhead 0 ms": lambda c, b: dataclasses.replace(c, overhead_s=0.0),
    "overhead 5 ms": lambda c, b: dataclasses.replace(c, overhead_s=5e-3),
    "linear devices": lambda c, b: _linear(c),
    "FP32 + capped": lambda c, b: dataclasses.replace(c, input_bits=32, requester_bandwidth=b),
}
BASELINES: dict[str, Callable[[Problem], Strategy]] = {
    "offload": offload,
    "deepthings": deepthings,
    "deeperthings": deeperthings,
    "modnn": modnn,
    "mednn": mednn,
    "coedge": coedge,
    "aofl": aofl,
}


def sensitivity(evaluations: int) -> None:
    """fast against AOFL and the best baseline over the settings the paper does not publish."""
    print("| case | setting | best baseline | AOFL | fast | fast/AOFL | fast/best |")
    print("|---|---|---|---|---|---|---|")
    for group, bandwidth in (("DB", 50e6), ("DB", 300e6), ("DC", 50e6), ("DC", 300e6)):
        for label, change in SETTINGS.items():
            cluster = change(group_cluster(group, bandwidth=bandwidth), bandwidth)
            problem = make_problem(load_model("vgg16"), cluster)
            ips = {m: simulate(problem, plan(problem)).ips for m, plan in BASELINES.items()}
            best = max(ips, key=lambda m: ips[m])
            ours = simulate(problem, fast(problem, max_evaluations=evaluations)).ips
            print(
                f"| {group} {bandwidth / 1e6:.0f}Mbps | {label} | {best} {ips[best]:.2f} | "
                f"{ips['aofl']:.2f} | {ours:.2f} | {ours / ips['aofl']:.2f}x | "
                f"{ours / ips[best]:.2f}x |",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=500, help="DDPG episodes per case")
    parser.add_argument(
        "--sensitivity", action="store_true", help="the diagnostic of docs/spatial.md instead"
    )
    parser.add_argument(
        "--evaluations", type=int, default=5000, help="fast's evaluations (--sensitivity)"
    )
    args = parser.parse_args()
    if args.sensitivity:
        sensitivity(args.evaluations)
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
