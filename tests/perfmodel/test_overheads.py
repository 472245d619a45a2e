"""The topology's per-message overheads in the performance model and the exact planner."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from splitexit import Configuration, load_topology, plan, random_profile
from splitexit.cli import app
from splitexit.perfmodel import ModelInputs, estimate, reference_estimate
from splitexit.planner import sweep
from splitexit.planner._exact import exact_frontier
from splitexit.planner.reference import reference_configurations
from splitexit.topology import Overheads, Topology
from tests.helpers import random_topology
from tests.perfmodel.test_model import TWO_TIERS, two_block_profile

MESSAGE, HOP = 0.001, 0.0005
WITH_OVERHEADS = replace(TWO_TIERS, overheads=Overheads(per_message=MESSAGE, per_hop=HOP))

# Worked by hand (tier 0 is source and destination, one link; a message costs 1 ms, plus
# 0.5 ms when it crosses the link):
#   P = (1, 2), A = [0, 1], T = 0.5 (E = 0.25, 0.75; S_1 = 0.75):
#     input 0 -> 0: 1 ms; forward 0 -> 1: 0.75 * 1.5 ms; results: 0.25 * 1 ms + 0.75 * 1.5 ms
#     = 1 + 1.125 + 0.25 + 1.125 = 3.5 ms
#   P = (1,), A = [1]: input 0 -> 1 and result 1 -> 0, 1.5 ms each = 3 ms
#   P = (1, 2), A = [0, 1], T = 1 (everything leaves at partition 1): input + result = 2 ms
#   P = (1, 2), A = [1, 0], T = 0.5: input 1.5; forward 0.75 * 1.5; results 0.25 * 1.5 +
#     0.75 * 1 = 1.5 + 1.125 + 0.375 + 0.75 = 3.75 ms
HAND = [
    (Configuration((0, 1), (0, 1), (0.5,)), 0.0035),
    (Configuration((0,), (1,)), 0.003),
    (Configuration((0, 1), (0, 1), (1.0,)), 0.002),
    (Configuration((0, 1), (1, 0), (0.5,)), 0.00375),
]


@pytest.mark.parametrize("case", HAND, ids=lambda c: str(c[0]))
@pytest.mark.parametrize("implementation", ["vectorized", "reference"])
def test_overheads_add_the_hand_worked_message_costs(
    case: tuple[Configuration, float], implementation: str
) -> None:
    config, overhead = case
    profile = two_block_profile()
    if implementation == "vectorized":
        before = estimate(ModelInputs.build(profile, TWO_TIERS), config)
        after = estimate(ModelInputs.build(profile, WITH_OVERHEADS), config)
    else:
        before = reference_estimate(profile, TWO_TIERS, config)
        after = reference_estimate(profile, WITH_OVERHEADS, config)
    assert before.overhead_s == 0.0
    assert after.overhead_s == pytest.approx(overhead, rel=1e-12)
    assert after.latency_s == pytest.approx(before.latency_s + overhead, rel=1e-12)
    for part in ("compute_s", "transmission_s", "propagation_s", "accuracy"):
        assert getattr(after, part) == getattr(before, part), part


def test_topology_message_cost_matrix() -> None:
    topology = replace(load_topology("iot"), overheads=Overheads(0.002, 0.0003))
    assert topology.message_s(0, 0) == pytest.approx(0.002)
    assert topology.message_s(0, 3) == pytest.approx(0.002 + 3 * 0.0003)
    assert topology.message_s(3, 1) == pytest.approx(0.002 + 2 * 0.0003)
    assert not load_topology("iot").path_message.any()


def _with_random_overheads(topology: Topology, seed: int) -> Topology:
    rng = np.random.default_rng(1000 + seed)
    return replace(
        topology, overheads=Overheads(float(rng.uniform(0, 0.02)), float(rng.uniform(0, 0.01)))
    )


@pytest.mark.parametrize("seed", range(5))
def test_overheads_vectorized_match_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    profile = random_profile(n, num_thresholds=3, seed=seed)
    topology = _with_random_overheads(random_topology(m, seed=seed), seed)
    inputs = ModelInputs.build(profile, topology)
    for config in itertools.islice(reference_configurations(profile, topology), 0, None, 3):
        fast = estimate(inputs, config)
        slow = reference_estimate(profile, topology, config)
        assert slow.overhead_s > 0
        assert fast.overhead_s == pytest.approx(slow.overhead_s, rel=1e-9, abs=1e-15)
        assert fast.latency_s == pytest.approx(slow.latency_s, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("seed", range(12))
def test_exact_frontier_with_overheads_identical_to_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m, nt = int(rng.integers(2, 10)), int(rng.integers(2, 5)), int(rng.integers(1, 5))
    profile = random_profile(n, num_thresholds=nt, seed=seed)
    topology = _with_random_overheads(random_topology(m, seed=seed), seed)
    inputs = ModelInputs.build(profile, topology)
    exact = exact_frontier(inputs).frontier
    enumerated = sweep(inputs, sample_size=10).frontier()
    assert len(exact) == len(enumerated)
    for name in ("latency", "accuracy", "num_parts", "threshold"):
        assert np.array_equal(getattr(exact, name), getattr(enumerated, name)), name
    width = enumerated.partition.shape[1]
    assert np.array_equal(exact.partition[:, :width], enumerated.partition)
    assert np.array_equal(exact.placement[:, :width], enumerated.placement)
    # and the frontier's latencies are the reference model's, overheads included
    for i in range(len(exact)):
        k = int(exact.num_parts[i])
        config = Configuration(
            tuple(int(p) for p in exact.partition[i, :k]),
            tuple(int(a) for a in exact.placement[i, :k]),
            (float(profile.thresholds[int(exact.threshold[i])]),) * (k - 1),
        )
        slow = reference_estimate(profile, topology, config)
        assert exact.latency[i] == pytest.approx(slow.latency_s, abs=1e-9)


def test_overheads_penalize_partitions_in_the_recommendation() -> None:
    # a large per-message cost makes every forward expensive: the fastest plan keeps one
    # partition where the paper's model splits
    profile = random_profile(6, num_thresholds=3, seed=3)
    topology = random_topology(3, seed=3)
    base = plan(profile, topology, solver="exact")
    heavy = plan(profile, replace(topology, overheads=Overheads(per_message=10.0)))
    assert heavy.best.config.num_partitions <= base.best.config.num_partitions
    assert heavy.best.config.num_partitions == 1
    assert heavy.best.estimate.overhead_s == pytest.approx(20.0)


def _write(path: Path, overheads: object) -> Path:
    data = load_topology("iot").to_mapping()
    data["overheads"] = overheads
    path.write_text(yaml.safe_dump(data))
    return path


def test_topology_file_overheads_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.yaml", {"per_message": "1.1ms", "per_hop": "250us", "note": "x"})
    topology = load_topology(str(path))
    assert topology.overheads == Overheads(0.0011, 0.00025, "x")
    assert Topology.from_mapping(topology.to_mapping()) == topology
    # without the section the file means the paper's model
    assert "overheads" not in load_topology("iot").to_mapping()


@pytest.mark.parametrize(
    ("overheads", "expected"),
    [
        ({"per_message": "-1ms"}, "overheads.per_message must be >= 0"),
        ({"per_hop": "fast"}, "overheads.per_hop"),
        ({"per_message": "2000s"}, "overheads.per_message must be at most"),
        ({"per_packet": "1ms"}, "overheads.per_packet"),
    ],
)
def test_topology_bad_overheads_one_line_exit_2(
    tmp_path: Path, overheads: object, expected: str
) -> None:
    path = _write(tmp_path / "bad.yaml", overheads)
    result = CliRunner().invoke(app, ["plan", "--topology", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.output
