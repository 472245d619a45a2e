"""The split process as an MDP (seed 003, section IV-C, Eq. 6-9), a gymnasium environment.

One episode splits the layer-volumes of a fixed partition one after another.

- State ``s_l = (T_{l-1}, H^l, C^l, F^l, S^l)`` (Eq. 7): when each provider finishes its parts
  so far, and the height, depth, filter and stride of the last layer of volume ``l``. Times
  are divided by ``time_scale_s`` and the configuration by its largest value in the model,
  so that the networks see numbers near 1.
- Action: ``|D| - 1`` values in ``[A, B] = [-1, 1]`` (Eq. 6); they are sorted and mapped to
  split decisions by Eq. 9, ``x_i = round(H^l * (a_i - A) / (B - A))``.
- Reward ``0`` until the last volume, then ``1 / T`` (Eq. 8), multiplied by ``time_scale_s``
  so that it is near 1 (the same optimum).

The environment also remembers the best episode (Algorithm 2, lines 23-26).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import Run

__all__ = ["SplitEnv", "action_to_cuts"]

A, B = -1.0, 1.0


@validate_params(
    {"action": [InstanceOf(np.ndarray, list, tuple)], "height": [Interval(int, 0, None)]}
)
def action_to_cuts(action: npt.ArrayLike, height: int) -> tuple[int, ...]:
    """Eq. 9 on the sorted action: ``round(H * (a - A) / (B - A))``, clipped to ``[0, H]``."""
    sorted_action = np.sort(np.clip(np.asarray(action, dtype=np.float64), A, B))
    cuts = np.rint(height * (sorted_action - A) / (B - A)).astype(np.int64)
    return tuple(int(x) for x in np.clip(cuts, 0, height))


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "boundaries": [InstanceOf(tuple, list)],
        "time_scale_s": [Interval(float, 0, None, closed="neither")],
    }
)
class SplitEnv(gym.Env[npt.NDArray[np.float32], npt.NDArray[np.float32]]):
    """Split decisions of every layer-volume of ``boundaries``, one volume per step."""

    metadata = {"render_modes": []}  # noqa: RUF012 (gymnasium declares it so)

    def __init__(self, problem: Problem, boundaries: Sequence[int], *, time_scale_s: float):
        super().__init__()
        self.problem = problem
        self.boundaries = tuple(boundaries)
        self.time_scale_s = time_scale_s
        d = problem.num_devices
        lasts = [problem.model.layers[e - 1] for e in self.boundaries[1:]]
        config = np.array([[ly.h_out, ly.c_out, ly.f, ly.s] for ly in lasts], dtype=np.float64)
        self._config = (config / config.max(axis=0)).astype(np.float32)
        self._heights = [ly.h_out for ly in lasts]
        # Times are in units of time_scale_s; 1e6 of them is effectively unbounded.
        self.observation_space = gym.spaces.Box(0.0, 1e6, shape=(d + 4,), dtype=np.float32)
        self.action_space = gym.spaces.Box(A, B, shape=(max(d - 1, 1),), dtype=np.float32)
        self._run = Run(problem, self.boundaries)
        self._splits: list[tuple[int, ...]] = []
        self.best_latency_s = np.inf
        self.best_strategy: Strategy | None = None
        self.episodes = 0

    def _observe(self) -> npt.NDArray[np.float32]:
        volume = min(self._run.volume, len(self._heights) - 1)
        times = np.minimum(self._run.compute_free / self.time_scale_s, 1e6).astype(np.float32)
        return np.concatenate([times, self._config[volume]])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[npt.NDArray[np.float32], dict[str, Any]]:
        super().reset(seed=seed)
        self._run = Run(self.problem, self.boundaries)
        self._splits = []
        return self._observe(), {}

    def step(
        self, action: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.float32], float, bool, bool, dict[str, Any]]:
        height = self._heights[self._run.volume]
        cuts = action_to_cuts(action, height) if self.problem.num_devices > 1 else ()
        self._run.step(cuts)
        self._splits.append(cuts)
        if not self._run.done:
            return self._observe(), 0.0, False, False, {"cuts": cuts}
        latency = self._run.finish().latency_s
        self.episodes += 1
        if latency < self.best_latency_s:
            self.best_latency_s = latency
            self.best_strategy = Strategy(self.boundaries, tuple(self._splits))
        reward = self.time_scale_s / latency
        return self._observe(), reward, True, False, {"cuts": cuts, "latency_s": latency}
