"""The exit rule in its two forms, held equal once; the configuration type's checks."""

from __future__ import annotations

import numpy as np
import pytest

from splitexit.configuration import (
    Configuration,
    below_threshold,
    check_exit_thresholds,
    exit_partitions,
    leaves_here,
)
from splitexit.errors import InputError


def _one_at_a_time(entropy: np.ndarray, thresholds: tuple[float, ...]) -> list[int]:
    leaves = []
    for row in entropy:
        for k, value in enumerate(row):
            threshold = thresholds[k] if k < len(thresholds) else None
            if leaves_here(float(value), threshold):
                leaves.append(k)
                break
    return leaves


@pytest.mark.parametrize("seed", range(5))
def test_exit_partitions_matches_per_sample_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    count = int(rng.integers(1, 6))
    entropy = rng.choice([0.1, 0.25, 0.5, 0.75, 1.0], size=(300, count))  # ties on purpose
    thresholds = tuple(float(t) for t in rng.choice([0.25, 0.5, 0.75], size=count - 1))
    assert exit_partitions(entropy, thresholds).tolist() == _one_at_a_time(entropy, thresholds)


def test_exit_partitions_is_strict_at_the_threshold() -> None:
    assert exit_partitions(np.array([[0.5, 0.9]]), 0.5).tolist() == [1]


def test_exit_partitions_global_threshold_equals_repeated() -> None:
    entropy = np.random.default_rng(1).random((50, 4))
    assert (exit_partitions(entropy, 0.4) == exit_partitions(entropy, [0.4] * 3)).all()


def test_exit_partitions_rejects_wrong_threshold_count() -> None:
    with pytest.raises(InputError, match="one threshold per partition but the last"):
        exit_partitions(np.zeros((2, 3)), [0.5])


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, float("nan")])
def test_check_exit_thresholds_refuses_outside_unit_interval(bad: float) -> None:
    with pytest.raises(InputError, match=r"thresholds\[0\] must be in \(0, 1\]"):
        check_exit_thresholds([bad], 2)


@pytest.mark.parametrize(
    ("partition", "placement", "thresholds", "message"),
    [
        ((), (), (), "at least one partition"),
        ((3, 2), (0, 1), (0.5,), "increasing"),
        ((1, 2), (0,), (0.5,), "one tier per partition"),
        ((1, 2), (1, 1), (0.5,), "different tier"),
        ((1, 2), (0, 1), (), "one threshold per partition"),
    ],
)
def test_configuration_refuses_inconsistent_triples(
    partition: tuple[int, ...],
    placement: tuple[int, ...],
    thresholds: tuple[float, ...],
    message: str,
) -> None:
    with pytest.raises(InputError, match=message):
        Configuration(partition=partition, placement=placement, thresholds=thresholds)


def test_configuration_is_a_hashable_value() -> None:
    a = Configuration(partition=(2, 9), placement=(0, 3), thresholds=(0.4,))
    b = Configuration(partition=(2, 9), placement=(0, 3), thresholds=(0.4,))
    assert a == b and len({a, b}) == 1
    assert a.threshold_of(1) is None


def test_configuration_threshold_indices_round_trip() -> None:
    grid = (0.25, 0.5, 0.75)
    config = Configuration.from_indices((1, 4, 6), (0, 2, 1), (2, 0), grid)
    assert config.thresholds == (0.75, 0.25)
    assert config.threshold_indices(grid) == (2, 0)
    with pytest.raises(InputError, match="not one of the profile's thresholds"):
        Configuration((1, 4), (0, 1), (0.3,)).threshold_indices(grid)


@pytest.mark.parametrize(
    ("config", "per_exit", "expected"),
    [
        (Configuration((9,), (2,)), False, None),
        (Configuration((2, 9), (0, 1), (0.4,)), False, 0.4),
        (Configuration((2, 5, 9), (0, 1, 2), (0.4, 0.4)), True, [0.4, 0.4]),
        (Configuration((2, 9), (0, 1), early_exit=False), False, None),
    ],
)
def test_configuration_to_json_is_one_based_with_tier_names(
    config: Configuration, per_exit: bool, expected: object
) -> None:
    data = config.to_json(["a", "b", "c"], per_exit=per_exit)
    assert data["threshold"] == expected
    assert data["partition"] == [p + 1 for p in config.partition]
    assert data["placement"] == [["a", "b", "c"][t] for t in config.placement]


def test_configuration_without_early_exit_lets_every_sample_through() -> None:
    config = Configuration((2, 9), (0, 1), early_exit=False)
    assert config.exit_thresholds is None and config.threshold_of(1) is None
    assert exit_partitions(np.zeros((3, 2)), config.exit_thresholds).tolist() == [1, 1, 1]
    with pytest.raises(InputError, match="has no exit"):
        config.threshold_of(0)
    with pytest.raises(InputError, match="takes no thresholds"):
        Configuration((2, 9), (0, 1), (0.5,), early_exit=False)


def test_below_threshold_is_the_strict_rule_of_leaves_here() -> None:
    values = np.array([0.0, 0.49, 0.5, 0.51, 1.0])
    assert below_threshold(values, 0.5).tolist() == [leaves_here(v, 0.5) for v in values]
