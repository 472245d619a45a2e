from __future__ import annotations

import itertools

import numpy as np
import pytest

from splitexit.perfmodel._per_exit import (
    PerExitTable,
    decode_thresholds,
    reference_per_exit_estimate,
)
from splitexit.perfmodel._trace import CascadeTable


def _trace(samples: int, blocks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    hardness = rng.random((samples, 1))
    entropy = np.clip(
        hardness * np.linspace(1.1, 0.2, blocks) + rng.normal(0, 0.1, (samples, blocks)), 0, 1
    )
    correct = rng.random((samples, blocks)) > hardness * 0.8
    return entropy, correct


def test_decode_thresholds_leading_digit_is_exit_one() -> None:
    assert decode_thresholds(np.array([0, 1, 5, 23]), 2, 5).tolist() == [
        [0, 0],
        [0, 1],
        [1, 0],
        [4, 3],
    ]


@pytest.mark.parametrize(("blocks", "num_parts", "seed"), [(5, 2, 0), (6, 3, 1), (7, 4, 2)])
def test_per_exit_table_matches_per_sample_replay(blocks: int, num_parts: int, seed: int) -> None:
    entropy, correct = _trace(120, blocks, seed)
    thresholds = np.array([0.2, 0.4, 0.6, 1.0])
    table = PerExitTable.build(entropy, correct, thresholds)
    partitions = np.array(list(itertools.combinations(range(blocks), num_parts)))
    codes = np.arange(len(thresholds) ** (num_parts - 1))
    exits, accuracy = table.evaluate(partitions, codes)
    vectors = decode_thresholds(codes, num_parts - 1, len(thresholds))
    for c, partition in enumerate(partitions):
        for q, vector in enumerate(vectors):
            want_exits, want_acc = reference_per_exit_estimate(
                entropy, correct, tuple(thresholds[vector]), tuple(partition)
            )
            assert exits[c, q] == pytest.approx(want_exits, abs=1e-12)
            assert accuracy[c, q] == pytest.approx(want_acc, abs=1e-12)


def test_per_exit_with_equal_thresholds_is_the_global_cascade() -> None:
    entropy, correct = _trace(200, 6, 4)
    thresholds = np.array([0.25, 0.5, 0.75])
    partitions = np.array(list(itertools.combinations(range(6), 3)))
    per_exit = PerExitTable.build(entropy, correct, thresholds)
    cascade = CascadeTable.build(entropy, correct, thresholds)
    same_vector = np.array([t * len(thresholds) + t for t in range(3)])  # (t, t)
    exits, accuracy = per_exit.evaluate(partitions, same_vector)
    want_exits, want_accuracy = cascade.evaluate(partitions, np.arange(3))
    assert np.allclose(exits, want_exits) and np.allclose(accuracy, want_accuracy)


def test_per_exit_single_partition_takes_everyone() -> None:
    entropy, correct = _trace(50, 4, 5)
    table = PerExitTable.build(entropy, correct, np.array([0.5, 1.0]))
    exits, accuracy = table.evaluate(np.array([[2], [3]]), np.array([0]))
    assert np.all(exits == 1.0)
    assert accuracy[:, 0] == pytest.approx(correct[:, [2, 3]].mean(axis=0))
