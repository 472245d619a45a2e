"""OSDS: Optimal Split Decision Search with DDPG (seed 003, Algorithm 2), on stable-baselines3.

The DDPG itself is stable-baselines3's. What Algorithm 2 adds is kept here:

- exploration: in episode ``e`` an action gets Gaussian noise ``N(0, sigma^2)`` with probability
  ``epsilon = 1 - (e * delta_epsilon)^2`` (line 8-13), :func:`epsilon_noise`;
- the paper's hyper-parameters (section V): 4000 episodes, delta_epsilon = 1/250, sigma^2 = 0.1
  for four providers and 1 for sixteen, N_b = 64, gamma = 0.99, learning rates 1e-4 (actor)
  and 1e-3 (critic), actor {400, 200, 100}, critic {400, 200, 100, 100};
- the best split decisions seen in training are the output (lines 23-26), compared with one
  greedy roll-out of the final actor.

SB3 gives actor and critic one learning rate; :class:`_DDPG` keeps the critic's at 10x the
actor's, as in the paper.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import simulate

if TYPE_CHECKING:
    from splitexit.spatial.methods._env import SplitEnv

__all__ = ["OSDSConfig", "OSDSResult", "epsilon_noise", "osds", "rollout"]


@validate_params(
    {
        "episodes": [Interval(int, 1, None)],
        "delta_epsilon": [Interval(float, 0, 1)],
        "sigma2": [Interval(float, 0, None, closed="neither"), None],
        "batch_size": [Interval(int, 1, None)],
        "gamma": [Interval(float, 0, 1)],
        "actor_lr": [Interval(float, 0, None, closed="neither")],
        "critic_lr": [Interval(float, 0, None, closed="neither")],
        "actor_layers": [InstanceOf(tuple, list)],
        "critic_layers": [InstanceOf(tuple, list)],
        "learning_starts": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
        "threads": [Interval(int, 1, None)],
    }
)
@dataclass(frozen=True)
class OSDSConfig:
    """Hyper-parameters of Algorithm 2; the defaults are the paper's."""

    episodes: int = 4000
    delta_epsilon: float = 1 / 250
    sigma2: float | None = None  # None: 0.1 up to four providers, 1.0 beyond
    batch_size: int = 64
    gamma: float = 0.99
    actor_lr: float = 1e-4
    critic_lr: float = 1e-3
    actor_layers: tuple[int, ...] = (400, 200, 100)
    critic_layers: tuple[int, ...] = (400, 200, 100, 100)
    learning_starts: int = 100
    seed: int = 0
    threads: int = 1


@returned_type
@dataclass(frozen=True, eq=False)
class OSDSResult:
    """The best strategy found, its latency, training time, and the trained agent."""

    strategy: Strategy
    latency_s: float
    train_s: float
    episodes: int
    agent: object = field(repr=False)


@validate_params(
    {
        "dim": [Interval(int, 1, None)],
        "sigma": [Interval(float, 0, None)],
        "delta": [Interval(float, 0, None)],
        "seed": [Interval(int, 0, None)],
    }
)
def epsilon_noise(dim: int, sigma: float, delta: float, seed: int) -> Any:
    """Algorithm 2's exploration as an SB3 ``ActionNoise``: ``N(0, sigma^2)`` with probability
    ``1 - (episode * delta)^2``, zero otherwise; SB3 calls ``reset`` after every episode.
    """
    from stable_baselines3.common.noise import ActionNoise

    class EpsilonNormalNoise(ActionNoise):
        """Gaussian noise with probability ``1 - (episode * delta)^2`` (Algorithm 2)."""

        def __init__(self, dim: int, sigma: float, delta: float, seed: int):
            super().__init__()
            self.dim, self.sigma, self.delta = dim, sigma, delta
            self.episode = 1
            self.rng = np.random.default_rng(seed)

        def __call__(self) -> npt.NDArray[np.float64]:
            epsilon = 1.0 - (self.episode * self.delta) ** 2
            if self.rng.random() < epsilon:
                return self.rng.normal(0.0, self.sigma, self.dim)
            return np.zeros(self.dim)

        def reset(self) -> None:
            self.episode += 1

    return EpsilonNormalNoise(dim, sigma, delta, seed)


def _agent(env: SplitEnv, config: OSDSConfig, noise: Any) -> object:
    from stable_baselines3 import DDPG
    from stable_baselines3.common.logger import Logger

    ratio = config.critic_lr / config.actor_lr

    class _DDPG(DDPG):
        def _update_learning_rate(self, optimizers: Any) -> None:
            super()._update_learning_rate(optimizers)
            for group in self.critic.optimizer.param_groups:
                group["lr"] *= ratio

    agent = _DDPG(
        "MlpPolicy",
        env,
        learning_rate=config.actor_lr,
        batch_size=config.batch_size,
        gamma=config.gamma,
        learning_starts=config.learning_starts,
        action_noise=noise,
        policy_kwargs={
            "net_arch": {"pi": list(config.actor_layers), "qf": list(config.critic_layers)}
        },
        seed=config.seed,
        device="cpu",
        verbose=0,
    )
    # a logger with no outputs: without one, SB3's learn() makes an empty SB3-<time> folder
    # in the temporary directory on every call
    agent.set_logger(Logger(folder=None, output_formats=[]))
    return agent


@validate_params(
    {
        "agent": [
            InstanceOf(
                "stable_baselines3.common.base_class:BaseAlgorithm",
                "stable_baselines3.common.policies:BasePolicy",
                name="a stable-baselines3 agent or policy",
            )
        ],
        "env": [InstanceOf("splitexit.spatial.methods._env:SplitEnv")],
    }
)
def rollout(agent: object, env: SplitEnv) -> Strategy:
    """Split decisions of a trained actor (an SB3 agent or policy), without noise.

    Online re-splitting (section V-F) calls this on an environment of the current network.
    """
    obs, _ = env.reset()
    splits: list[tuple[int, ...]] = []
    done = False
    while not done:
        action, _ = agent.predict(obs, deterministic=True)  # type: ignore[attr-defined]
        obs, _, done, _, info = env.step(action)
        splits.append(info["cuts"])
    return Strategy(env.boundaries, tuple(splits))


@validate_params(
    {
        "problem": [InstanceOf(Problem)],
        "boundaries": [InstanceOf(tuple, list)],
        "config": [InstanceOf(OSDSConfig)],
        "time_scale_s": [Interval(float, 0, None, closed="neither"), None],
    }
)
def osds(
    problem: Problem,
    boundaries: Sequence[int],
    config: OSDSConfig = OSDSConfig(),
    *,
    time_scale_s: float | None = None,
) -> OSDSResult:
    """Train DDPG on the split MDP of ``boundaries``; return the best split decisions."""
    import torch

    from splitexit.spatial.methods._env import SplitEnv

    torch.set_num_threads(config.threads)
    if time_scale_s is None:
        from splitexit.spatial.methods._baselines import offload

        time_scale_s = simulate(problem, offload(problem)).latency_s
    env = SplitEnv(problem, boundaries, time_scale_s=time_scale_s)
    sigma2 = config.sigma2
    if sigma2 is None:
        sigma2 = 0.1 if problem.num_devices <= 4 else 1.0
    dim = max(problem.num_devices - 1, 1)
    noise = epsilon_noise(dim, float(np.sqrt(sigma2)), config.delta_epsilon, config.seed)
    agent = _agent(env, config, noise)
    started = time.perf_counter()
    agent.learn(total_timesteps=config.episodes * (len(env.boundaries) - 1))  # type: ignore[attr-defined]
    train_s = time.perf_counter() - started
    greedy = rollout(agent, env)
    best = env.best_strategy if env.best_strategy is not None else greedy
    best_latency = simulate(problem, best).latency_s
    greedy_latency = simulate(problem, greedy).latency_s
    if greedy_latency < best_latency:
        best, best_latency = greedy, greedy_latency
    return OSDSResult(best, best_latency, train_s, env.episodes, agent)
