"""All nine methods on one case: images per second, planning time, where the time goes.

DistrEdge is LC-PSS (Algorithm 1) followed by OSDS (Algorithm 2); ``fast`` is ours; the seven
others are the baselines. Every strategy is timed by the same simulator. DistrEdge and
``fast`` are always reported apart (never one "best" of both); the notes say ``fast``'s
starting points and its evaluation budget. Everything but ``plan_s`` is the same for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods import _baselines as baselines
from splitexit.spatial.methods._fast import FAST_EVALUATIONS, FAST_STARTS, fast
from splitexit.spatial.methods._lcpss import lcpss
from splitexit.spatial.methods._osds import OSDSConfig, osds

__all__ = ["METHODS", "Comparison", "MethodResult", "compare"]

METHODS = (
    "offload",
    "deepthings",
    "deeperthings",
    "modnn",
    "mednn",
    "coedge",
    "aofl",
    "distredge",
    "fast",
)
_BASELINES: dict[str, Callable[[Problem], Strategy]] = {
    "offload": baselines.offload,
    "deepthings": baselines.deepthings,
    "deeperthings": baselines.deeperthings,
    "modnn": baselines.modnn,
    "mednn": baselines.mednn,
    "coedge": baselines.coedge,
    "aofl": baselines.aofl,
}


@returned_type
@dataclass(frozen=True)
class MethodResult:
    """One method's strategy and its simulated performance."""

    method: str
    strategy: Strategy
    latency_s: float
    plan_s: float  # seconds to find the strategy on this machine (DDPG training included)
    max_compute_s: float  # the busiest provider's computing seconds (Fig. 14)
    max_send_s: float  # the busiest sender's transmission seconds, requester included
    busy_providers: int  # providers that compute anything

    @property
    def ips(self) -> float:
        return 1.0 / self.latency_s


@returned_type
@dataclass(frozen=True, eq=False)
class Comparison:
    """The info object of one case; rendered as a table, JSON or a bar plot."""

    model: str
    cluster: str
    devices: tuple[str, ...]
    bandwidths: tuple[float, ...]  # bit/s
    results: tuple[MethodResult, ...]
    notes: dict[str, Any] = field(default_factory=dict)

    def result(self, method: str) -> MethodResult:
        return next(r for r in self.results if r.method == method)

    def to_dict(self, problem: Problem) -> dict[str, Any]:
        return {
            "model": self.model,
            "cluster": self.cluster,
            "devices": list(self.devices),
            "bandwidths_mbps": [b / 1e6 for b in self.bandwidths],
            "notes": self.notes,
            "results": [
                {
                    "method": r.method,
                    "ips": r.ips,
                    "latency_ms": r.latency_s * 1e3,
                    "plan_s": r.plan_s,
                    "max_compute_ms": r.max_compute_s * 1e3,
                    "max_send_ms": r.max_send_s * 1e3,
                    "busy_providers": r.busy_providers,
                    "strategy": r.strategy.to_dict(problem),
                }
                for r in self.results
            ],
        }


def _measure(problem: Problem, method: str, strategy: Strategy, plan_s: float) -> MethodResult:
    sim = simulate(problem, strategy)
    return MethodResult(
        method,
        strategy,
        sim.latency_s,
        plan_s,
        float(sim.compute_s.max()),
        float(max(sim.send_s.max(), sim.requester_send_s)),
        int((sim.compute_s > 0).sum()),
    )


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "methods": [InstanceOf(tuple, list)],
        "osds_config": [InstanceOf(OSDSConfig), None],
        "alpha": [Interval(float, None, None)],
        "samples": [Interval(int, None, None)],
        "fast_evaluations": [Interval(int, None, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def compare(
    problem: Problem,
    *,
    methods: Sequence[str] = METHODS,
    osds_config: OSDSConfig | None = None,
    alpha: float = 0.75,
    samples: int = 100,
    fast_evaluations: int = FAST_EVALUATIONS,
    seed: int = 0,
) -> Comparison:
    """Run ``methods`` on ``problem`` and time every strategy with the simulator."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}; methods: {', '.join(METHODS)}")
    results = []
    notes: dict[str, Any] = {}
    for method in methods:
        started = time.perf_counter()
        if method == "distredge":
            boundaries = lcpss(problem, alpha=alpha, samples=samples, seed=seed)
            config = osds_config if osds_config is not None else OSDSConfig(seed=seed)
            trained = osds(problem, boundaries, config)
            strategy = trained.strategy
            notes["distredge_train_s"] = trained.train_s
            notes["distredge_episodes"] = config.episodes
        elif method == "fast":
            strategy = fast(problem, max_evaluations=fast_evaluations, alpha=alpha, seed=seed)
            notes["fast_evaluations"] = fast_evaluations
            notes["fast_starts"] = FAST_STARTS
        else:
            strategy = _BASELINES[method](problem)
        results.append(_measure(problem, method, strategy, time.perf_counter() - started))
    cluster = problem.cluster
    return Comparison(
        problem.model.name,
        cluster.name,
        cluster.names,
        tuple(float(b) for b in problem.bandwidth),
        tuple(results),
        notes,
    )
