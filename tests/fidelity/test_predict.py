"""Trace replay per sample: its mean is the planner's trace estimate, its exits the same."""

from __future__ import annotations

import numpy as np
import pytest

from splitexit.fidelity import Deployment, exit_partitions, path_costs, predict_samples
from splitexit.perfmodel import CascadeTable, Config, ModelInputs, PerExitTable, estimate
from splitexit.topology import load_topology
from tests.fidelity.helpers import bundled

CONFIGS = [
    Config(None, (9,), (0,)),
    Config(None, (4,), (2,)),
    Config(7, (2, 9), (1, 2)),
    Config(11, (0, 5), (3, 0)),
    Config(3, (1, 4, 8), (0, 2, 1)),
    Config(15, (3, 6, 7, 9), (1, 3, 2, 0)),
]


@pytest.mark.parametrize("preset", ["mobile", "iot"])
@pytest.mark.parametrize("source", ["joint", "separate"])
@pytest.mark.parametrize("destination", [0, 3])
@pytest.mark.parametrize("config", CONFIGS)
def test_predict_samples_mean_is_trace_estimate(
    preset: str, source: str, destination: int, config: Config
) -> None:
    profile, trace = bundled()
    topology = load_topology(preset)
    topology = topology.with_destination(topology.tiers[destination].name)
    table = CascadeTable.from_trace(trace, profile.thresholds, source=source)
    inputs = ModelInputs.build(profile, topology, exit_model=table.evaluate)
    expected = estimate(inputs, config)
    pred = predict_samples(
        profile, trace, topology, Deployment.from_config(config, profile), trace_source=source
    )
    assert pred.latency_s.mean() == pytest.approx(expected.latency_s, rel=1e-9)
    assert pred.compute_s.mean() == pytest.approx(expected.compute_s, rel=1e-9)
    assert pred.transmission_s.mean() == pytest.approx(expected.transmission_s, rel=1e-9)
    assert pred.propagation_s.mean() == pytest.approx(expected.propagation_s, rel=1e-9, abs=1e-15)
    np.testing.assert_allclose(pred.exit_rates(), expected.exit_rates, rtol=0, atol=1e-12)
    assert pred.accuracy() == pytest.approx(expected.accuracy, abs=1e-12)


@pytest.mark.parametrize("code", [0, 7, 22, 399])
def test_predict_samples_per_exit_thresholds_match_per_exit_table(code: int) -> None:
    profile, trace = bundled()
    topology = load_topology("mobile")
    config = Config(code, (1, 4, 8), (0, 2, 1))
    entropy, correct = trace.arrays("joint")
    table = PerExitTable.build(entropy, correct, profile.thresholds)
    inputs = ModelInputs.build(
        profile, topology, exit_model=table.evaluate, per_exit_thresholds=True
    )
    expected = estimate(inputs, config)
    deployment = Deployment.from_config(config, profile, per_exit=True)
    pred = predict_samples(profile, trace, topology, deployment)
    assert pred.latency_s.mean() == pytest.approx(expected.latency_s, rel=1e-9)
    np.testing.assert_allclose(pred.exit_rates(), expected.exit_rates, rtol=0, atol=1e-12)


def test_exit_partitions_strictly_below_threshold() -> None:
    entropy = np.array([[0.5, 0.1, 0.9], [0.49, 0.9, 0.9], [0.9, 0.3, 0.0]], dtype=np.float32)
    plan = Deployment(partition=(0, 1, 2), placement=(0, 1, 2), exit_thresholds=(0.5, 0.3))
    # row 0: 0.5 is not below 0.5, 0.1 < 0.3; row 2: 0.3 is not below 0.3 -> last
    assert exit_partitions(entropy, plan).tolist() == [1, 0, 2]


def test_path_costs_runtime_uses_measured_reference_times() -> None:
    profile, _ = bundled()
    topology = load_topology("iot")
    plan = Deployment(partition=(2, 9), placement=(0, 1), exit_thresholds=(0.5,))
    paper = path_costs(profile, topology, plan)
    expected_work = topology.compute_ratios[[0, 1]] * np.array(
        [
            profile.block_compute_s[:3].sum() + profile.branch_compute_s[2],
            profile.block_compute_s[3:].sum() + profile.branch_compute_s[9],
        ]
    )
    np.testing.assert_allclose(paper.work_s, expected_work)
    # leaving at partition 2: input (local), both computes, one forward, result back to tier 0
    forward = topology.transfer_s(float(profile.output_bits[2]), 0, 1)
    back = topology.transfer_s(profile.result_bits, 1, 0)
    assert paper.latency_s[1] == pytest.approx(expected_work.sum() + forward + back)


@pytest.mark.parametrize("count", [1, 5, 10, 1000])
def test_configurations_to_measure_recommendation_first(count: int) -> None:
    from splitexit import plan
    from splitexit.fidelity import configurations_to_measure

    profile, trace = bundled()
    result = plan(profile, load_topology("iot"), trace=trace)
    points = configurations_to_measure(result, count)
    assert points[0].config == result.best.config
    distinct = {p.config for p in result.pareto} | {result.best.config}
    assert len(points) == min(count, len(distinct))
    assert len({p.config for p in points}) == len(points)


@pytest.mark.parametrize(("mode", "stretched"), [("sleep", True), ("none", False)])
def test_path_costs_runtime_stretches_as_the_workers_do(mode: str, stretched: bool) -> None:
    from splitexit.fidelity import measurement_from_mapping
    from tests.fidelity.helpers import measurement_mapping

    profile, _ = bundled()
    topology = load_topology("mobile")
    plan = Deployment(partition=(2, 9), placement=(0, 3), exit_thresholds=(0.5,))
    data = {**measurement_mapping(topology, plan, rows=5), "compute_mode": mode}
    measurement = measurement_from_mapping(data)
    costs = path_costs(profile, topology, plan, compute="runtime", measurement=measurement)
    reference = np.array([p.reference_s for p in measurement.partitions])
    # the cloud (R = 1) is never stretched; the smartwatch (R = 500) only in sleep mode
    ratio = np.array([500.0 if stretched else 1.0, 1.0])
    np.testing.assert_allclose(costs.work_s, ratio * reference)
