from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from splitexit import (
    InfeasibleError,
    InputError,
    Profile,
    Topology,
    load_profile,
    load_topology,
    plan,
    random_profile,
)
from splitexit.configuration import Configuration
from splitexit.perfmodel import reference_estimate
from splitexit.planner import count_configurations, reference_frontier, reference_optimum
from splitexit.planner.reference import reference_configurations
from tests.helpers import profile_from, random_topology, tiny_topology, valid_profile_mapping
from tests.perfmodel.test_model import TWO_TIERS, two_block_profile

# (blocks, tiers, thresholds, seed): small enough for the plain-Python planner; the larger
# four take seconds each in its naive scans (slow: the small ones cover the same code)
INSTANCES = [
    (1, 3, 4, 0),
    (3, 1, 4, 1),
    (4, 2, 5, 2),
    (5, 3, 4, 3),
    pytest.param(6, 4, 3, 4, marks=pytest.mark.slow),
    pytest.param(7, 3, 6, 5, marks=pytest.mark.slow),
    pytest.param(8, 4, 3, 6, marks=pytest.mark.slow),
    pytest.param(5, 5, 3, 7, marks=pytest.mark.slow),
]


def _frontier_key(
    config: Configuration,
) -> tuple[tuple[float, ...], tuple[int, ...], tuple[int, ...]]:
    return config.thresholds, config.partition, config.placement


@pytest.mark.parametrize(("n", "m", "nt", "seed"), INSTANCES)
def test_planner_frontier_equals_naive_enumeration(n: int, m: int, nt: int, seed: int) -> None:
    profile = random_profile(n, num_thresholds=nt, seed=seed)
    topology = random_topology(m, seed=seed)
    result = plan(profile, topology)
    naive = reference_frontier(profile, topology)
    assert [_frontier_key(p.config) for p in result.pareto] == [_frontier_key(c) for c, *_ in naive]
    for point, (_, latency, accuracy, _) in zip(result.pareto, naive, strict=True):
        assert point.latency_s == pytest.approx(latency, rel=1e-9, abs=1e-9)
        assert point.accuracy == pytest.approx(accuracy, abs=1e-12)
    assert result.configurations_evaluated == sum(
        1 for _ in reference_configurations(profile, topology)
    )


@pytest.mark.parametrize(("n", "m", "nt", "seed"), INSTANCES[2:])
@pytest.mark.parametrize("quantile", [0.2, 0.5, 0.9])
def test_planner_constrained_optima_equal_naive_scan(
    n: int, m: int, nt: int, seed: int, quantile: float
) -> None:
    profile = random_profile(n, num_thresholds=nt, seed=seed)
    topology = random_topology(m, seed=seed + 100)
    frontier = plan(profile, topology).pareto
    accuracies = sorted(p.accuracy for p in frontier)
    latencies = sorted(p.latency_s for p in frontier)
    eps_acc = accuracies[int(quantile * (len(accuracies) - 1))] - 1e-4
    eps_lat = latencies[int(quantile * (len(latencies) - 1))] * 1.0001
    for kwargs in ({"min_accuracy": eps_acc}, {"max_latency_s": eps_lat}):
        got = plan(profile, topology, **kwargs).best  # type: ignore[arg-type]
        want = reference_optimum(profile, topology, **kwargs)  # type: ignore[arg-type]
        assert want is not None
        assert _frontier_key(got.config) == _frontier_key(want[0]), kwargs
        if "min_accuracy" in kwargs:
            assert got.accuracy >= eps_acc
        else:
            assert got.latency_s <= eps_lat


def test_planner_frontier_is_monotone_and_non_dominated() -> None:
    result = plan(load_profile("example"), load_topology("mobile"))
    lat = np.array([p.latency_s for p in result.pareto])
    acc = np.array([p.accuracy for p in result.pareto])
    assert np.all(np.diff(lat) > 0) and np.all(np.diff(acc) > 0)
    # no sampled configuration beats the frontier
    samples = result.samples
    for latency, accuracy in zip(samples.latency, samples.accuracy, strict=True):
        faster = lat <= latency + 1e-9
        assert not faster.any() or acc[faster].max() >= accuracy - 1e-9


def test_planner_exact_tie_keeps_fewer_partitions() -> None:
    # With T = 1 every sample exits at branch 1, so P = [1, 2] on (t0, t1) costs exactly what
    # P = [1] on t0 costs: same accuracy, same latency. The frontier must keep P = [1].
    data = valid_profile_mapping()
    data.update(thresholds=[1.0], exit_rates=[[1.0, 0.0, 0.0]])
    profile = profile_from(data)
    result = plan(profile, TWO_TIERS)
    firsts = [p for p in result.pareto if p.accuracy == pytest.approx(0.6)]
    assert len(firsts) == 1 and firsts[0].config.num_partitions == 1
    tie = reference_estimate(profile, TWO_TIERS, Configuration((0, 1), (0, 1), (1.0,)))
    assert tie.latency_s == pytest.approx(firsts[0].latency_s)


def test_planner_default_is_fastest_within_one_point_of_best() -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    result = plan(profile, topology)
    best_accuracy = max(p.accuracy for p in result.pareto)
    assert result.requirement.kind == "near_best_accuracy"
    assert result.best.accuracy >= best_accuracy - 0.01 - 1e-12
    eligible = [p for p in result.pareto if p.accuracy >= best_accuracy - 0.01 - 1e-12]
    assert result.best.latency_s == pytest.approx(min(p.latency_s for p in eligible))
    assert "1 percentage point" in result.requirement.describe()


def test_planner_reads_requirements_written_with_units() -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    assert (
        plan(profile, topology, min_accuracy="85%").best
        == plan(profile, topology, min_accuracy=0.85).best
    )
    assert (
        plan(profile, topology, max_latency_s="80ms").best
        == plan(profile, topology, max_latency_s=0.08).best
    )


def test_planner_infeasible_requirements_raise() -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    with pytest.raises(InfeasibleError, match=r"accuracy >= 99.00%; the best achievable is 91.70%"):
        plan(profile, topology, min_accuracy=0.99)
    with pytest.raises(InfeasibleError, match="latency <= 1 ms; the fastest takes"):
        plan(profile, topology, max_latency_s=0.001)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_accuracy": 1.5}, "`min_accuracy` must be a fraction"),
        ({"max_latency_s": -1.0}, "`max_latency_s` must be a duration"),
        ({"sample_size": -3}, "plan: `sample_size` must be an int >= 1, got -3"),
        ({"min_accuracy": "0.9x"}, "`min_accuracy` must be a fraction"),
        ({"min_accuracy": [0.9]}, "`min_accuracy` must be a fraction"),
        ({"min_accuracy": 0.5, "max_latency_s": 1.0}, "not both"),
        ({"destination": "moon"}, "destination 'moon' is not a tier"),
        ({"accuracy": "vibes"}, "`accuracy` must be one of 'separate', 'joint'"),
    ],
)
def test_planner_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        plan(load_profile("example"), load_topology("mobile"), **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_planner_destination_changes_result_costs() -> None:
    profile, topology = two_block_profile(), TWO_TIERS
    near = plan(profile, topology)
    far = plan(profile, topology, destination="t1")
    assert far.topology.destination == 1
    est = reference_estimate(profile, far.topology, far.best.config)
    assert far.best.latency_s == pytest.approx(est.latency_s)
    assert near.best.config != far.best.config or near.best.latency_s != far.best.latency_s


def test_planner_baselines_match_definitions() -> None:
    profile, topology = load_profile("example"), load_topology("mobile")
    result = plan(profile, topology)
    by_name = {b.name: b for b in result.baselines}
    n = profile.num_blocks
    whole_source = reference_estimate(profile, topology, Configuration((n - 1,), (0,)))
    assert by_name["source"].point.latency_s == pytest.approx(whole_source.latency_s)
    whole_cloud = reference_estimate(profile, topology, Configuration((n - 1,), (3,)))
    assert by_name["fastest"].point.latency_s == pytest.approx(whole_cloud.latency_s)
    # single cut, no exit branch before the end: brute force over cuts and tier pairs
    best_cut = math.inf
    for cut, (a, b) in itertools.product(range(n - 1), itertools.permutations(range(4), 2)):
        head = profile.block_compute_s[: cut + 1].sum()
        tail = profile.block_compute_s[cut + 1 :].sum() + profile.branch_compute_s[-1]
        latency = (
            topology.transfer_s(profile.input_bits, 0, a)
            + topology.tiers[a].compute_ratio * head
            + topology.transfer_s(profile.output_bits[cut], a, b)
            + topology.tiers[b].compute_ratio * tail
            + topology.transfer_s(profile.result_bits, b, 0)
        )
        best_cut = min(best_cut, latency)
    assert by_name["single-cut"].point.latency_s == pytest.approx(best_cut)
    for baseline in result.baselines:
        assert baseline.speedup == pytest.approx(baseline.point.latency_s / result.best.latency_s)
        assert baseline.point.accuracy == pytest.approx(profile.accuracy[-1])


@pytest.mark.parametrize(("n", "m", "nt"), [(10, 4, 20), (1, 1, 5), (3, 6, 2), (55, 4, 20)])
def test_count_configurations_formula(n: int, m: int, nt: int) -> None:
    expected = n * m + sum(math.comb(n, k) * math.perm(m, k) * nt for k in range(2, min(n, m) + 1))
    assert count_configurations(n, m, nt) == expected


def _reducer_profile() -> tuple[Profile, Topology]:
    # Block 1 shrinks the data 100x; block 2 is heavy. Nobody exits at branch 1 (alpha_1 = 0),
    # so P = [1, 2] has exactly the accuracy of P = [2]. Worked by hand:
    #   [2] on t1 (cloud):    0.1 (input) + 0.1 * 1.011 + 0.001 (result)     = 0.2021 s
    #   [1, 2] on (t0, t1):   1 * 0.011 + 0.001 (10 bits) + 0.1 * 1.001 + 0.001 = 0.1131 s
    data = valid_profile_mapping()
    data.update(
        input_bits=1000,
        result_bits=10,
        thresholds=[0.5],
        blocks=[
            {"name": "reduce", "output_bits": 10, "compute_s": 0.01},
            {"name": "heavy", "output_bits": 10, "compute_s": 1.0},
        ],
        branches=[{"compute_s": 0.001, "accuracy": 0.5}, {"compute_s": 0.001, "accuracy": 0.9}],
        exit_rates=[[0.0, 1.0]],
    )
    return profile_from(data), tiny_topology([1.0, 0.1], [1e4], [0.0])


@pytest.mark.parametrize("solver", ["enumerate", "exact"])
def test_planner_accuracy_tie_prefers_fewer_partitions(solver: str) -> None:
    profile, topology = _reducer_profile()
    roomy = plan(profile, topology, max_latency_s=0.5, solver=solver)
    assert roomy.best.config == Configuration((1,), (1,))
    assert roomy.best.latency_s == pytest.approx(0.2021)
    assert roomy.best.accuracy == pytest.approx(0.9)
    # the frontier itself keeps the faster two-partition plan at the same accuracy
    assert roomy.pareto[-1].config == Configuration((0, 1), (0, 1), (0.5,))
    assert roomy.pareto[-1].latency_s == pytest.approx(0.1131)
    tight = plan(profile, topology, max_latency_s=0.15, solver=solver)
    assert tight.best.config == Configuration((0, 1), (0, 1), (0.5,))
    want = reference_optimum(profile, topology, max_latency_s=0.5)
    assert want is not None and want[0] == roomy.best.config
