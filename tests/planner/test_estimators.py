"""One suite for every estimator of exit rates and accuracy (paper, trace)."""

from __future__ import annotations

import numpy as np
import pytest

from splitexit import InputError, Profile, plan
from splitexit.configuration import Configuration
from splitexit.perfmodel import (
    CascadeTable,
    ModelInputs,
    partition_terms,
    reference_per_exit_estimate,
    reference_trace_estimate,
)
from splitexit.planner import reference_frontier
from splitexit.profile import Trace, exit_rates_from_entropy, random_profile
from tests.helpers import random_topology


def traced(num_blocks: int, num_thresholds: int, seed: int) -> tuple[Profile, Trace]:
    """A profile and a trace that agree: exit rates replayed from the trace's entropies."""
    rng = np.random.default_rng(seed)
    samples = 300
    depth = np.arange(1, num_blocks + 1) / num_blocks
    difficulty = rng.beta(2, 2, (samples, 1))
    entropy = np.clip(difficulty * (1.2 - depth) + rng.normal(0, 0.1, (samples, num_blocks)), 0, 1)
    # correctness depends on the sample, so branches are far from independent
    correct = rng.random((samples, num_blocks)) > difficulty * (1.1 - depth)
    base = random_profile(num_blocks, num_thresholds=num_thresholds, seed=seed)
    joint = correct.mean(axis=0)
    profile = Profile(
        **{
            **base.__dict__,
            "exit_rates": exit_rates_from_entropy(entropy, base.thresholds),
            "accuracy": joint,
            "accuracy_joint": joint,
        }
    )
    trace = Trace(
        model=profile.model,
        dataset=profile.dataset,
        split="profiling",
        labels=np.zeros(samples, dtype=np.int64),
        entropy_joint=entropy.astype(np.float32),
        correct_joint=correct,
        entropy_separate=entropy.astype(np.float32),
        correct_separate=correct,
    )
    return profile, trace


def _inputs(estimator: str, profile: Profile, trace: Trace, seed: int) -> ModelInputs:
    model = None
    if estimator == "trace":
        model = CascadeTable.from_trace(trace, profile.thresholds, source="joint").evaluate
    return ModelInputs.build(profile, random_topology(3, seed=seed), exit_model=model)


@pytest.mark.parametrize("estimator", ["paper", "trace"])
@pytest.mark.parametrize("seed", [0, 1])
def test_estimator_exit_rates_are_a_distribution(estimator: str, seed: int) -> None:
    profile, trace = traced(7, 5, seed)
    inputs = _inputs(estimator, profile, trace, seed)
    partitions = np.array([[0, 3, 6], [1, 2, 4], [2, 5, 6]])
    terms = partition_terms(inputs, partitions, np.arange(5))
    assert np.allclose(terms.exit_rates.sum(axis=1), 1.0)
    assert np.all(terms.exit_rates >= -1e-12)
    assert np.all((terms.accuracy >= 0) & (terms.accuracy <= 1))
    single = partition_terms(inputs, np.array([[4]]), np.arange(5))
    assert np.allclose(single.exit_rates, 1.0)  # one partition: everyone leaves at its exit


@pytest.mark.parametrize("estimator", ["paper", "trace"])
def test_estimator_first_exit_rate_by_definition(estimator: str) -> None:
    # E_1 of P = [3, 6]. Paper: alpha_1 + alpha_2 + alpha_3 of the full configuration, i.e.
    # the samples below T at branch 1, 2 or 3. Trace: only branch 3 is an exit, so the
    # samples below T at branch 3 itself.
    profile, trace = traced(6, 4, 3)
    inputs = _inputs(estimator, profile, trace, 3)
    terms = partition_terms(inputs, np.array([[2, 5]]), np.arange(4))
    first_below = [
        float((trace.entropy_joint[:, :3] < t).any(axis=1).mean()) for t in profile.thresholds
    ]
    if estimator == "trace":
        assert terms.exit_rates[:, 0] == pytest.approx(
            [float((trace.entropy_joint[:, 2] < t).mean()) for t in profile.thresholds]
        )
    else:
        assert terms.exit_rates[:, 0] == pytest.approx(first_below)


def test_trace_estimator_planner_equals_naive_replay() -> None:
    profile, trace = traced(5, 3, 7)
    topology = random_topology(3, seed=7)

    def replay(config: Configuration) -> tuple[tuple[float, ...], float]:
        t = config.global_threshold or 1.0  # a single partition has no threshold
        return reference_trace_estimate(
            trace.entropy_joint, trace.correct_joint, t, config.partition
        )

    result = plan(profile, topology, estimator="trace", trace=trace, accuracy="joint")
    assert result.solver == "enumerate" and result.estimator == "trace"
    naive = reference_frontier(profile, topology, accuracy="joint", replay=replay)
    assert [(p.config.partition, p.config.placement) for p in result.pareto] == [
        (c.partition, c.placement) for c, *_ in naive
    ]
    for point, (_, latency, accuracy, _) in zip(result.pareto, naive, strict=True):
        assert point.latency_s == pytest.approx(latency, rel=1e-9, abs=1e-9)
        assert point.accuracy == pytest.approx(accuracy, abs=1e-12)


def test_trace_estimator_refuses_exact_solver_and_missing_trace() -> None:
    profile, trace = traced(4, 3, 2)
    topology = random_topology(3, seed=2)
    with pytest.raises(InputError, match="exact solver needs the paper estimator"):
        plan(profile, topology, estimator="trace", trace=trace, solver="exact")
    with pytest.raises(InputError, match="estimator 'trace' needs the per-sample trace"):
        plan(profile, topology, estimator="trace")
    with pytest.raises(InputError, match="`estimator` must be one of 'auto', 'paper', 'trace'"):
        plan(profile, topology, estimator="oracle")


def test_per_exit_thresholds_planner_equals_naive_replay() -> None:
    profile, trace = traced(5, 3, 11)
    topology = random_topology(3, seed=11)

    def replay(config: Configuration) -> tuple[tuple[float, ...], float]:
        return reference_per_exit_estimate(
            trace.entropy_joint, trace.correct_joint, config.thresholds, config.partition
        )

    result = plan(
        profile,
        topology,
        estimator="trace",
        trace=trace,
        accuracy="joint",
        per_exit_thresholds=True,
    )
    # 5 blocks, 3 tiers, 3 thresholds: 15 + 10 * 6 * 3 + 10 * 6 * 9 configurations
    assert result.configurations_evaluated == 15 + 180 + 540
    naive = reference_frontier(profile, topology, accuracy="joint", replay=replay, per_exit=True)
    assert [p.config for p in result.pareto] == [c for c, *_ in naive]
    for point, (_, latency, accuracy, _) in zip(result.pareto, naive, strict=True):
        assert point.latency_s == pytest.approx(latency, rel=1e-9, abs=1e-9)
        assert point.accuracy == pytest.approx(accuracy, abs=1e-12)
        if point.config.num_partitions > 1:
            assert isinstance(point.threshold, tuple)
            assert len(point.threshold) == point.config.num_partitions - 1


def test_per_exit_thresholds_never_worse_than_one_threshold() -> None:
    profile, trace = traced(6, 4, 12)
    topology = random_topology(3, seed=12)
    common = {"estimator": "trace", "trace": trace, "accuracy": "joint"}
    single = plan(profile, topology, **common)  # type: ignore[arg-type]
    per_exit = plan(profile, topology, per_exit_thresholds=True, **common)  # type: ignore[arg-type]
    lat = np.array([p.latency_s for p in per_exit.pareto])
    acc = np.array([p.accuracy for p in per_exit.pareto])
    for point in single.pareto:  # (T, ..., T) is one of the vectors
        faster = lat <= point.latency_s + 1e-12
        assert faster.any() and acc[faster].max() >= point.accuracy - 1e-12
    assert per_exit.to_dict()["per_exit_thresholds"] is True


def test_per_exit_thresholds_need_the_trace_estimator() -> None:
    profile, _ = traced(4, 3, 2)
    with pytest.raises(InputError, match="per-exit thresholds need the trace estimator"):
        plan(profile, random_topology(3, seed=2), per_exit_thresholds=True)


def test_per_exit_space_too_large_is_refused_with_advice() -> None:
    profile, trace = traced(40, 20, 3)
    topology = random_topology(5, seed=3)
    with pytest.raises(InputError, match="trace estimator cannot use the exact solver"):
        plan(profile, topology, estimator="trace", trace=trace, per_exit_thresholds=True)


def test_estimator_auto_prefers_the_trace_when_it_can() -> None:
    profile, trace = traced(5, 3, 4)
    topology = random_topology(3, seed=4)
    assert plan(profile, topology, trace=trace).estimator == "trace"
    assert plan(profile, topology).estimator == "paper"  # no trace given
    exact = plan(profile, topology, trace=trace, solver="exact")
    assert (exact.estimator, exact.solver) == ("paper", "exact")
