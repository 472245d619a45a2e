from __future__ import annotations

import itertools

import numpy as np
import pytest

from splitexit import Configuration, Profile, random_profile
from splitexit.errors import InputError
from splitexit.perfmodel import ModelInputs, estimate, reference_estimate
from splitexit.planner.reference import reference_configurations
from tests.helpers import profile_from, random_topology, tiny_topology, valid_profile_mapping


def two_block_profile() -> Profile:
    data = valid_profile_mapping()
    data.update(
        input_bits=1000,
        result_bits=100,
        thresholds=[0.5, 1.0],
        blocks=[
            {"name": "b1", "output_bits": 4000, "compute_s": 0.01},
            {"name": "b2", "output_bits": 2000, "compute_s": 0.02},
        ],
        branches=[
            {"compute_s": 0.001, "accuracy": 0.6},
            {"compute_s": 0.002, "accuracy": 0.9},
        ],
        exit_rates=[[0.25, 0.75], [1.0, 0.0]],
    )
    return profile_from(data)


TWO_TIERS = tiny_topology([10.0, 1.0], [1e5], [0.005])

# Worked by hand (tier 0 is the source and the destination; one link of 100 kbit/s, 5 ms):
#   T = 0.5: E = (0.25, 0.75), S_1 = 0.75.
#   A = [0, 1]: compute 1 * 10 * (0.01 + 0.001) + 0.75 * 1 * (0.02 + 0.002) = 0.1265
#               transmission 0.75 * 4000/1e5 + 0.75 * 100/1e5 = 0.03075
#               propagation  0.75 * 0.005 + 0.75 * 0.005 = 0.0075
#   A = [1, 0]: compute 1 * 1 * 0.011 + 0.75 * 10 * 0.022 = 0.176
#               transmission 1000/1e5 + 0.25 * 100/1e5 + 0.75 * 4000/1e5 = 0.04025
#               propagation  0.005 + 0.25 * 0.005 + 0.75 * 0.005 = 0.01
#   accuracy 0.6 * 0.25 + 0.9 * 0.75 = 0.825
HAND_CASES = [
    (Configuration((0, 1), (0, 1), (0.5,)), 0.825, 0.1265, 0.03075, 0.0075, (0.25, 0.75)),
    (Configuration((0, 1), (1, 0), (0.5,)), 0.825, 0.176, 0.04025, 0.01, (0.25, 0.75)),
    # Partial DNN on the second tier: input there, result back.
    (Configuration((0,), (1,)), 0.6, 0.011, 0.01 + 0.001, 0.01, (1.0,)),
    # T = 1: every sample leaves at branch 1, nothing crosses to partition 2.
    (Configuration((0, 1), (0, 1), (1.0,)), 0.6, 0.11, 0.0, 0.0, (1.0, 0.0)),
]


@pytest.mark.parametrize("case", HAND_CASES, ids=lambda c: str(c[0]))
@pytest.mark.parametrize("implementation", ["vectorized", "reference"])
def test_model_two_blocks_two_tiers_by_hand(
    case: tuple[Configuration, float, float, float, float, tuple[float, ...]], implementation: str
) -> None:
    config, accuracy, compute, transmission, propagation, exits = case
    profile = two_block_profile()
    if implementation == "vectorized":
        est = estimate(ModelInputs.build(profile, TWO_TIERS), config)
    else:
        est = reference_estimate(profile, TWO_TIERS, config)
    assert est.accuracy == pytest.approx(accuracy)
    assert est.compute_s == pytest.approx(compute)
    assert est.transmission_s == pytest.approx(transmission)
    assert est.propagation_s == pytest.approx(propagation)
    assert est.latency_s == pytest.approx(compute + transmission + propagation)
    assert est.exit_rates == pytest.approx(exits)


def test_model_partial_dnn_accounts_for_every_sample() -> None:
    profile = random_profile(6, num_thresholds=4, seed=2)
    inputs = ModelInputs.build(profile, random_topology(3, seed=2))
    for t in range(4):
        config = Configuration((1, 3), (2, 0), (float(profile.thresholds[t]),))
        est = estimate(inputs, config)
        assert sum(est.exit_rates) == pytest.approx(1.0)
        # the last partition takes every sample that would have left at branches 3..N
        assert est.exit_rates[1] == pytest.approx(profile.exit_rates[t, 2:].sum())


@pytest.mark.parametrize("seed", range(6))
def test_model_vectorized_matches_reference_on_random_instances(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(2, 6)), int(rng.integers(2, 5))
    profile = random_profile(n, num_thresholds=3, seed=seed)
    topology = random_topology(m, seed=seed)
    inputs = ModelInputs.build(profile, topology, accuracy="joint" if seed % 2 else "separate")
    accuracy = "joint" if seed % 2 else "separate"
    for config in itertools.islice(reference_configurations(profile, topology), 0, None, 3):
        fast = estimate(inputs, config)
        slow = reference_estimate(profile, topology, config, accuracy=accuracy)
        assert fast.accuracy == pytest.approx(slow.accuracy, rel=1e-12, abs=1e-12)
        for part in ("compute_s", "transmission_s", "propagation_s"):
            assert getattr(fast, part) == pytest.approx(getattr(slow, part), rel=1e-9, abs=1e-15)
        assert fast.exit_rates == pytest.approx(slow.exit_rates, abs=1e-12)


def test_model_single_partition_takes_no_threshold() -> None:
    profile = random_profile(5, num_thresholds=6, seed=9)
    inputs = ModelInputs.build(profile, random_topology(3, seed=9))
    assert estimate(inputs, Configuration((3,), (1,))).exit_rates == (1.0,)
    with pytest.raises(InputError, match="one threshold per partition but the last"):
        Configuration((3,), (1,), (0.5,))


def test_model_threshold_off_the_profile_grid_is_refused() -> None:
    profile = random_profile(5, num_thresholds=4, seed=9)
    inputs = ModelInputs.build(profile, random_topology(3, seed=9))
    with pytest.raises(InputError, match="not one of the profile's thresholds"):
        estimate(inputs, Configuration((1, 3), (1, 0), (0.123,)))
