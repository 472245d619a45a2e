"""Trace replay per sample: its mean is the planner's trace estimate, its exits the same."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from splitexit.configuration import Configuration, exit_partitions
from splitexit.errors import InputError
from splitexit.fidelity import path_costs, predict_samples
from splitexit.perfmodel import (
    CascadeTable,
    ModelInputs,
    PerExitTable,
    decode_thresholds,
    estimate,
)
from splitexit.topology import load_topology
from tests.fidelity.helpers import bundled

# (threshold index into the bundled profile's thresholds, P, A)
CONFIGS = [
    (0, (9,), (0,)),
    (0, (4,), (2,)),
    (7, (2, 9), (1, 2)),
    (11, (0, 5), (3, 0)),
    (3, (1, 4, 8), (0, 2, 1)),
    (15, (3, 6, 7, 9), (1, 3, 2, 0)),
]
Triple = tuple[int, tuple[int, ...], tuple[int, ...]]


@functools.cache
def _table(source: str) -> CascadeTable:
    """The bundled trace's exit table, built once per source (a tenth of a second each)."""
    profile, trace = bundled()
    return CascadeTable.from_trace(trace, profile.thresholds, source=source)


def _config(triple: Triple) -> Configuration:
    profile, _ = bundled()
    t, partition, placement = triple
    exits = len(partition) - 1
    return Configuration.from_indices(partition, placement, [t] * exits, profile.thresholds)


@pytest.mark.parametrize("preset", ["mobile", "iot"])
@pytest.mark.parametrize("source", ["joint", "separate"])
@pytest.mark.parametrize("destination", [0, 3])
@pytest.mark.parametrize("config", CONFIGS)
def test_predict_samples_mean_is_trace_estimate(
    preset: str, source: str, destination: int, config: Triple
) -> None:
    profile, trace = bundled()
    deployment = _config(config)
    topology = load_topology(preset)
    topology = topology.with_destination(topology.tiers[destination].name)
    inputs = ModelInputs.build(profile, topology, exit_model=_table(source).evaluate)
    expected = estimate(inputs, deployment)
    pred = predict_samples(profile, trace, topology, deployment, trace_source=source)
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
    vector = decode_thresholds(np.array([code]), 2, profile.num_thresholds)[0]
    config = Configuration.from_indices((1, 4, 8), (0, 2, 1), vector, profile.thresholds)
    entropy, correct = trace.arrays("joint")
    table = PerExitTable.build(entropy, correct, profile.thresholds)
    inputs = ModelInputs.build(
        profile, topology, exit_model=table.evaluate, per_exit_thresholds=True
    )
    expected = estimate(inputs, config)
    pred = predict_samples(profile, trace, topology, config)
    assert pred.latency_s.mean() == pytest.approx(expected.latency_s, rel=1e-9)
    np.testing.assert_allclose(pred.exit_rates(), expected.exit_rates, rtol=0, atol=1e-12)


def test_exit_partitions_strictly_below_threshold() -> None:
    entropy = np.array([[0.5, 0.1, 0.9], [0.49, 0.9, 0.9], [0.9, 0.3, 0.0]], dtype=np.float32)
    plan = Configuration(partition=(0, 1, 2), placement=(0, 1, 2), thresholds=(0.5, 0.3))
    # row 0: 0.5 is not below 0.5, 0.1 < 0.3; row 2: 0.3 is not below 0.3 -> last
    chosen = entropy[:, list(plan.partition)]
    assert exit_partitions(chosen, plan.exit_thresholds).tolist() == [1, 0, 2]


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (Configuration((2, 10), (0, 1), (0.5,)), "goes beyond the 10 blocks"),
        (Configuration((2, 9), (0, 7), (0.5,)), "names a tier beyond the 4 tiers"),
    ],
)
def test_predict_samples_bad_deployment_one_line(plan: Configuration, message: str) -> None:
    profile, trace = bundled()
    with pytest.raises(InputError, match=message):
        predict_samples(profile, trace, load_topology("mobile"), plan)


def test_path_costs_runtime_uses_measured_reference_times() -> None:
    profile, _ = bundled()
    topology = load_topology("iot")
    plan = Configuration(partition=(2, 9), placement=(0, 1), thresholds=(0.5,))
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


@pytest.mark.parametrize(
    ("mode", "stretched"), [("sleep", True), ("cpu-quota", True), ("none", False)]
)
def test_path_costs_runtime_stretches_as_the_workers_do(mode: str, stretched: bool) -> None:
    from splitexit.fidelity import measurement_from_mapping
    from tests.fidelity.helpers import measurement_mapping

    profile, _ = bundled()
    topology = load_topology("mobile")
    plan = Configuration(partition=(2, 9), placement=(0, 3), thresholds=(0.5,))
    data = {**measurement_mapping(topology, plan, rows=5), "compute_mode": mode}
    measurement = measurement_from_mapping(data)
    costs = path_costs(profile, topology, plan, compute="runtime", measurement=measurement)
    reference = np.array([p.reference_s for p in measurement.partitions])
    # the cloud (R = 1) is never stretched; the smartwatch (R = 500) in sleep and cpu-quota
    ratio = np.array([500.0 if stretched else 1.0, 1.0])
    np.testing.assert_allclose(costs.work_s, ratio * reference)
