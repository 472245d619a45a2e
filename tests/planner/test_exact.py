from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit import InputError, Profile, load_profile, load_topology, plan, random_profile
from splitexit.cli import app
from splitexit.perfmodel import ModelInputs
from splitexit.planner import sweep
from splitexit.planner._exact import exact_box, exact_frontier
from splitexit.planner._plan import AUTO_EXACT_ABOVE, _choose_solver
from tests.helpers import random_topology, seeds


def _instance(seed: int) -> tuple[Profile, ModelInputs]:
    rng = np.random.default_rng(seed)
    n, m, nt = int(rng.integers(1, 13)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    profile = random_profile(n, num_thresholds=nt, seed=seed)
    if seed % 4 == 0:
        # exact ties: a threshold at which everything leaves at branch 1, and zero exit rates
        rates = profile.exit_rates.copy()
        rates[-1] = 0.0
        rates[-1, 0] = 1.0
        profile = Profile(**{**profile.__dict__, "exit_rates": rates})
    accuracy = "joint" if seed % 3 == 0 else "separate"
    topology = random_topology(m, seed=seed)
    return profile, ModelInputs.build(profile, topology, accuracy=accuracy)


@pytest.mark.parametrize("seed", range(40))
def test_exact_frontier_identical_to_enumeration(seed: int) -> None:
    _, inputs = _instance(seed)
    exact = exact_frontier(inputs).frontier
    enumerated = sweep(inputs, sample_size=10).frontier()
    assert len(exact) == len(enumerated)
    for name in ("latency", "accuracy", "num_parts", "threshold"):
        assert np.array_equal(getattr(exact, name), getattr(enumerated, name)), name
    width = enumerated.partition.shape[1]
    assert np.array_equal(exact.partition[:, :width], enumerated.partition)
    assert np.array_equal(exact.placement[:, :width], enumerated.placement)


@pytest.mark.parametrize("seed", seeds(range(0, 40, 3), slow={9, 15}))
def test_exact_constrained_answers_equal_enumeration(seed: int) -> None:
    # the enumerating planner's answers are held equal to a plain scan in test_planner.py
    profile, inputs = _instance(seed)
    topology = random_topology(inputs.num_tiers, seed=seed)
    accuracy = "joint" if seed % 3 == 0 else "separate"
    frontier = sweep(inputs, sample_size=10).frontier()
    # requirements placed exactly on frontier values (ties) and between them
    picks = np.unique(np.linspace(0, len(frontier) - 1, 4).round().astype(int))
    for i in picks:
        for kwargs in (
            {"min_accuracy": float(frontier.accuracy[i])},
            {"max_latency_s": float(frontier.latency[i])},
            {"max_latency_s": float(frontier.latency[i]) * 1.03},
        ):
            got = plan(profile, topology, solver="exact", accuracy=accuracy, **kwargs).best  # type: ignore[arg-type]
            config = plan(
                profile, topology, solver="enumerate", accuracy=accuracy, **kwargs
            ).best.config  # type: ignore[arg-type]
            assert got.config.partition == config.partition, kwargs
            assert got.config.placement == config.placement, kwargs
            if config.num_partitions > 1:
                assert got.config.thresholds == config.thresholds, kwargs


def test_exact_box_keeps_only_plans_inside() -> None:
    profile = random_profile(6, num_thresholds=4, seed=5)
    inputs = ModelInputs.build(profile, random_topology(4, seed=5))
    everything = sweep(inputs, sample_size=10).per_length[3]
    cap = float(np.median(everything.latency))
    floor = float(np.median(everything.accuracy))
    box = exact_box(inputs, 3, max_latency_s=cap, min_accuracy=floor)
    assert len(box) > 0
    assert np.all(box.latency <= cap) and np.all(box.accuracy >= floor)
    assert np.all(box.num_parts == 3)
    inside = everything.take(
        np.flatnonzero((everything.latency <= cap) & (everything.accuracy >= floor))
    ).frontier()
    assert np.array_equal(box.latency, inside.latency)
    assert np.array_equal(box.accuracy, inside.accuracy)


def test_exact_reports_search_effort_and_same_plan() -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    exact = plan(profile, topology, solver="exact", max_latency_s=0.15)
    enumerated = plan(profile, topology, solver="enumerate", max_latency_s=0.15)
    assert exact.solver == "exact" and enumerated.solver == "enumerate"
    assert exact.best.config == enumerated.best.config
    assert [p.config for p in exact.pareto] == [p.config for p in enumerated.pareto]
    data = exact.to_dict()
    assert data["states_explored"] > 0 and data["labels_kept"] > 0
    assert enumerated.to_dict()["states_explored"] is None
    # the plot's sample is drawn, not enumerated, and covers every L
    assert set(np.unique(exact.samples.num_parts)) == {1, 2, 3, 4}


def test_exact_solver_choice() -> None:
    assert _choose_solver("auto", AUTO_EXACT_ABOVE) == "enumerate"
    assert _choose_solver("auto", AUTO_EXACT_ABOVE + 1) == "exact"
    assert _choose_solver("enumerate", 10) == "enumerate"
    with pytest.raises(InputError, match="too many to enumerate"):
        _choose_solver("enumerate", 10**13)
    with pytest.raises(InputError, match="`solver` must be one of 'auto', 'exact', 'enumerate'"):
        plan(random_profile(3, seed=0), random_topology(2, seed=0), solver="fast")  # type: ignore[arg-type]


def test_exact_auto_on_large_instance_without_enumerating() -> None:
    # 40 blocks x 5 tiers x 10 thresholds: ~1.9e8 configurations, solved in about a second
    profile = random_profile(40, num_thresholds=10, seed=3)
    topology = random_topology(5, seed=3)
    result = plan(profile, topology)
    assert result.solver == "exact"
    expected = 40 * 5 + sum(math.comb(40, k) * math.perm(5, k) * 10 for k in range(2, 6))
    assert result.configurations_evaluated == expected > AUTO_EXACT_ABOVE
    lat = np.array([p.latency_s for p in result.pareto])
    acc = np.array([p.accuracy for p in result.pareto])
    assert np.all(np.diff(lat) > 0) and np.all(np.diff(acc) > 0)
    # nothing in a uniform sample of the space beats the frontier
    for latency, accuracy in zip(result.samples.latency, result.samples.accuracy, strict=True):
        faster = lat <= latency + 1e-9
        assert not faster.any() or acc[faster].max() >= accuracy - 1e-9


def test_cli_plan_solver_flag(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "plan.json"
    result = runner.invoke(app, ["plan", "--solver", "exact", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["solver"] == "exact" and data["labels_kept"] > 0
    bad = runner.invoke(app, ["plan", "--solver", "magic"])
    assert bad.exit_code == 2
    assert "`solver` must be one of 'auto', 'exact', 'enumerate'" in bad.output


def test_exact_handles_free_compute_and_links() -> None:
    # zero compute times and zero-latency links: many exact ties, bounds of 0 * inf
    profile = random_profile(6, num_thresholds=3, seed=8)
    zero = Profile(
        **{
            **profile.__dict__,
            "block_compute_s": np.zeros(6),
            "branch_compute_s": np.zeros(6),
        }
    )
    inputs = ModelInputs.build(zero, random_topology(4, seed=8))
    with np.errstate(all="raise"):
        exact = exact_frontier(inputs).frontier
    enumerated = sweep(inputs, sample_size=10).frontier()
    assert np.array_equal(exact.latency, enumerated.latency)
    assert np.array_equal(exact.accuracy, enumerated.accuracy)
    assert np.array_equal(exact.num_parts, enumerated.num_parts)
