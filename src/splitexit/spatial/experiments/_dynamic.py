"""The highly dynamic network of seed 003, section V-F, on the simulator.

Four Nanos; each has a fluctuating bandwidth trace (:func:`bandwidth_traces`: a mean that
changes at 20 and 40 minutes, times an AR(1) log-normal fluctuation, sampled every
``step_s``). Every slot, each method splits again from what it can observe:

- **CoEdge** re-solves its linear equal-finish split layer by layer on the monitored
  bandwidths;
- **AOFL** re-splits its volumes with its linear model on the monitored bandwidths, and
  re-runs its partition search when the mean bandwidth shifts (at 20 and 40 minutes);
- **DistrEdge** keeps LC-PSS's scheme (it depends on the layers only) and lets the trained
  actor split online: the environment runs on the current network, so the state (the
  accumulated latencies) reflects it. At each shift the actor is fine-tuned on the new mean
  network; until the fine-tuning ends (its measured time) the old actor keeps serving;
- **fast** (ours) re-runs our optimizer every slot with a budget of 1000 simulator
  evaluations (about 1 s here), warm-started from its previous strategy.

Everything is seeded; the one wall-clock dependence left is the paper's own: DistrEdge's
fine-tuned actor takes over after the fine-tuning's measured time.

The result is per-image latency over time for each method.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.spatial.devices._cluster import Cluster, Provider
from splitexit.spatial.devices._compile import make_problem
from splitexit.spatial.devices._devices import FloatArray, device_preset
from splitexit.spatial.experiments._report import LinesInfo
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods._baselines import aofl, coedge, offload
from splitexit.spatial.methods._env import SplitEnv
from splitexit.spatial.methods._equalize import LinearFinish, equal_finish_cuts
from splitexit.spatial.methods._fast import fast
from splitexit.spatial.methods._lcpss import lcpss
from splitexit.spatial.methods._osds import OSDSConfig, epsilon_noise, osds, rollout

__all__ = ["DynamicResult", "bandwidth_traces", "dynamic_study"]

# Mean bandwidth (Mbps) of each device in the three 20-minute phases.
PHASE_MEANS = (
    (150.0, 60.0, 220.0),
    (80.0, 220.0, 100.0),
    (220.0, 100.0, 50.0),
    (50.0, 150.0, 250.0),
)


@validate_params(
    {
        "minutes": [Interval(float, 0, None, closed="neither")],
        "step_s": [Interval(float, 0, None, closed="neither")],
        "sigma": [Interval(float, 0, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def bandwidth_traces(
    *, minutes: float = 60.0, step_s: float = 10.0, sigma: float = 0.35, seed: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Times (s) and bandwidths (bit/s, shape (4, slots)) of the four fluctuating links."""
    rng = np.random.default_rng(seed)
    slots = int(minutes * 60 / step_s)
    times = np.arange(slots) * step_s
    phase = np.minimum((times // 1200).astype(int), 2)
    traces = np.empty((4, slots))
    for d, means in enumerate(PHASE_MEANS):
        noise = 0.0
        for t in range(slots):
            noise = 0.7 * noise + rng.normal(0.0, sigma)
            traces[d, t] = means[phase[t]] * math.exp(noise) * 1e6
    return times.astype(np.float64), np.clip(traces, 10e6, 400e6)


@returned_type
@dataclass(frozen=True)
class DynamicResult:
    """Per-image latency (s) of each method in each slot, and what re-planning cost."""

    times_s: FloatArray
    latency_s: dict[str, FloatArray]
    notes: dict[str, Any]

    def phase_means_s(self) -> dict[str, list[float]]:
        """Mean per-image latency of each method in each 20-minute phase."""
        phase = (self.times_s // 1200).astype(int)
        return {
            name: [float(values[phase == p].mean()) for p in range(int(phase.max()) + 1)]
            for name, values in self.latency_s.items()
        }

    def markdown(self) -> str:
        """Mean per-image latency (ms) per phase, one row per method."""
        means = self.phase_means_s()
        phases = len(next(iter(means.values())))
        head = "| method | " + " | ".join(f"{20 * p}-{20 * p + 20} min" for p in range(phases))
        rows = [head + " |", "|---|" + "---|" * phases]
        for name, values in means.items():
            rows.append(f"| {name} | " + " | ".join(f"{v * 1e3:.1f} ms" for v in values) + " |")
        return "\n".join(rows) + "\n"

    def info(self) -> LinesInfo:
        names = tuple(self.latency_s)
        minutes = tuple(float(t) / 60 for t in self.times_s)
        return LinesInfo(
            "Per-image latency in a highly dynamic network (4 Nano)",
            "time (min)",
            "per-image latency (ms)",
            names,
            tuple(minutes for _ in names),
            tuple(tuple(float(v) * 1e3 for v in self.latency_s[n]) for n in names),
        )


def _cluster(bandwidths: FloatArray) -> Cluster:
    nano = device_preset("nano")
    providers = tuple(Provider(f"nano-{k + 1}", nano, float(b)) for k, b in enumerate(bandwidths))
    return Cluster(providers, 400e6, name="dynamic")


def _relinear(problem: Problem, boundaries: tuple[int, ...]) -> Strategy:
    """AOFL's online step: its linear equal-finish split of fixed volumes, current network."""
    from splitexit.spatial.methods._baselines import capability

    splits = []
    for start, end in itertools.pairwise(boundaries):
        model = LinearFinish(
            problem.model.layers[start:end],
            capability(problem),
            problem.bandwidth,
            problem.input_row_bits(start),
        )
        splits.append(equal_finish_cuts(model, problem.height(end - 1), problem.num_devices))
    return Strategy(boundaries, tuple(splits))


@validate_params(
    {
        "model": [InstanceOf(ModelSpec)],
        "osds_config": [InstanceOf(OSDSConfig)],
        "finetune_episodes": [Interval(int, 1, None)],
        "fast_evaluations": [Interval(int, None, None)],
        "minutes": [Interval(float, 0, None, closed="neither")],
        "step_s": [Interval(float, 0, None, closed="neither")],
        "seed": [Interval(int, 0, None)],
    }
)
def dynamic_study(
    model: ModelSpec,
    *,
    osds_config: OSDSConfig,
    finetune_episodes: int = 300,
    fast_evaluations: int = 1000,
    minutes: float = 60.0,
    step_s: float = 20.0,
    seed: int = 0,
) -> DynamicResult:
    """Run the four methods through the traces (see the module docstring)."""
    times, traces = bandwidth_traces(minutes=minutes, step_s=step_s, seed=seed)
    phase = np.minimum((times // 1200).astype(int), 2)
    means = [traces[:, phase == p].mean(axis=1) for p in range(int(phase.max()) + 1)]
    first = make_problem(model, _cluster(means[0]))
    scheme = lcpss(first, alpha=0.75, seed=seed)
    trained = osds(first, scheme, osds_config)
    agent = trained.agent
    scale = simulate(first, offload(first)).latency_s  # the time scale osds trained with
    started = time.perf_counter()
    aofl_scheme = aofl(first).boundaries
    notes: dict[str, Any] = {
        "distredge_train_s": trained.train_s,
        "aofl_search_s": [time.perf_counter() - started],
        "distredge_finetune_s": [],
    }
    serving: object = agent.policy  # type: ignore[attr-defined]
    ready_at = 0.0  # when the fine-tuned actor takes over from the one serving
    series: dict[str, list[float]] = {"CoEdge": [], "AOFL": [], "DistrEdge": [], "fast (ours)": []}
    ours: Strategy | None = None
    for t, now in enumerate(times):
        problem = make_problem(model, _cluster(traces[:, t]))
        if t > 0 and phase[t] != phase[t - 1]:
            mean_problem = make_problem(model, _cluster(means[phase[t]]))
            started = time.perf_counter()
            aofl_scheme = aofl(mean_problem).boundaries
            notes["aofl_search_s"].append(time.perf_counter() - started)
            serving = copy.deepcopy(agent.policy)  # type: ignore[attr-defined]
            started = time.perf_counter()
            env = SplitEnv(mean_problem, scheme, time_scale_s=scale)
            agent.set_env(env)  # type: ignore[attr-defined]
            agent.action_noise = epsilon_noise(  # type: ignore[attr-defined]
                len(means[0]) - 1, math.sqrt(0.1), osds_config.delta_epsilon, seed + t
            )
            agent.learn(  # type: ignore[attr-defined]
                total_timesteps=finetune_episodes * (len(scheme) - 1), reset_num_timesteps=False
            )
            took = time.perf_counter() - started
            notes["distredge_finetune_s"].append(took)
            ready_at = float(now) + took
        if now >= ready_at:
            serving = agent.policy  # type: ignore[attr-defined]
        env = SplitEnv(problem, scheme, time_scale_s=scale)
        series["DistrEdge"].append(simulate(problem, rollout(serving, env)).latency_s)
        series["CoEdge"].append(simulate(problem, coedge(problem)).latency_s)
        series["AOFL"].append(simulate(problem, _relinear(problem, aofl_scheme)).latency_s)
        warm = () if ours is None else (ours,)
        ours = fast(problem, max_evaluations=fast_evaluations, seed=seed, starts=warm)
        series["fast (ours)"].append(simulate(problem, ours).latency_s)
    return DynamicResult(times, {k: np.array(v) for k, v in series.items()}, notes)
