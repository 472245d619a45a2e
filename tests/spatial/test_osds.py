from __future__ import annotations

import numpy as np
import pytest

from splitexit.spatial import (
    OSDSConfig,
    SplitEnv,
    Strategy,
    action_to_cuts,
    epsilon_noise,
    group_cluster,
    load_model,
    make_problem,
    osds,
    simulate,
)


@pytest.fixture(scope="module")
def problem():  # type: ignore[no-untyped-def]
    return make_problem(load_model("tinycnn"), group_cluster("DB", bandwidth=50e6))


def test_env_passes_gymnasium_check(problem) -> None:  # type: ignore[no-untyped-def]
    from gymnasium.utils.env_checker import check_env

    check_env(SplitEnv(problem, (0, 3, 7), time_scale_s=0.01), skip_render_check=True)


@pytest.mark.parametrize(
    ("action", "height", "cuts"),
    [
        ([-1.0, 1.0, 0.0], 10, (0, 5, 10)),  # Eq. 9 with [A, B] = [-1, 1]
        ([0.2, -0.6, 1.0], 10, (2, 6, 10)),  # sorted first
        ([-2.0, 3.0, 0.0], 8, (0, 4, 8)),  # outside [A, B] is clipped
    ],
)
def test_action_to_cuts_is_eq9(action: list[float], height: int, cuts: tuple[int, ...]) -> None:
    assert action_to_cuts(np.array(action), height) == cuts


def test_env_episode_rewards_one_over_latency_at_the_end(problem) -> None:  # type: ignore[no-untyped-def]
    env = SplitEnv(problem, (0, 3, 7), time_scale_s=0.01)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4 + 4,) and np.all(obs[:4] == 0.0)  # T_0 = 0
    obs, reward, done, _, info = env.step(np.array([-1.0, 0.0, 0.0], dtype=np.float32))
    assert reward == 0.0 and not done and info["cuts"] == (0, 8, 8)
    assert obs[:4].max() > 0  # accumulated latencies now observed
    _, reward, done, _, info = env.step(np.array([1.0, 1.0, -1.0], dtype=np.float32))
    assert done
    latency = simulate(problem, Strategy((0, 3, 7), ((0, 8, 8), (0, 6, 6)))).latency_s
    assert info["latency_s"] == pytest.approx(latency)
    assert reward == pytest.approx(0.01 / latency)
    assert env.best_latency_s == pytest.approx(latency)


def test_epsilon_noise_stops_after_one_over_delta_episodes() -> None:
    noise = epsilon_noise(3, 1.0, 0.25, 0)
    assert any(np.any(noise() != 0) for _ in range(20))  # episode 1: epsilon = 15/16
    for _ in range(4):
        noise.reset()
    assert all(np.all(noise() == 0) for _ in range(20))  # episode 5: epsilon < 0


def test_osds_trains_sb3_ddpg_and_returns_its_best(problem) -> None:  # type: ignore[no-untyped-def]
    config = OSDSConfig(
        episodes=60, learning_starts=20, batch_size=16, actor_layers=(32,), critic_layers=(32,)
    )
    result = osds(problem, (0, 3, 7), config)
    assert result.episodes >= 60
    assert result.latency_s == pytest.approx(simulate(problem, result.strategy).latency_s)
    agent = result.agent
    actor_lr = agent.actor.optimizer.param_groups[0]["lr"]  # type: ignore[attr-defined]
    critic_lr = agent.critic.optimizer.param_groups[0]["lr"]  # type: ignore[attr-defined]
    assert actor_lr == pytest.approx(1e-4) and critic_lr == pytest.approx(1e-3)


def test_osds_same_seed_same_result(problem) -> None:  # type: ignore[no-untyped-def]
    config = OSDSConfig(
        episodes=20, learning_starts=8, batch_size=8, actor_layers=(8,), critic_layers=(8,), seed=5
    )
    first = osds(problem, (0, 3, 7), config)
    second = osds(problem, (0, 3, 7), config)
    assert first.strategy == second.strategy
    assert first.latency_s == second.latency_s
    assert first.episodes == second.episodes


def test_osds_leaves_no_log_folder_behind(problem, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # SB3's learn() makes an empty SB3-<time> folder in the temporary directory unless the
    # agent has a logger; 528 of them had piled up in /tmp on the project's machine
    import tempfile

    monkeypatch.delenv("SB3_LOGDIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    config = OSDSConfig(
        episodes=4, learning_starts=2, batch_size=2, actor_layers=(4,), critic_layers=(4,)
    )
    osds(problem, (0, 3, 7), config)
    assert [p.name for p in tmp_path.glob("SB3-*")] == []
