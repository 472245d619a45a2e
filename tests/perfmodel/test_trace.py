from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from splitexit import random_profile
from splitexit.perfmodel import ModelInputs, partition_terms
from splitexit.perfmodel import _trace as trace_module
from splitexit.perfmodel._trace import CascadeTable, reference_trace_estimate
from splitexit.profile import Trace, exit_rates_from_entropy
from tests.helpers import random_topology

THRESHOLDS = np.arange(1, 21) / 20


def random_trace_arrays(samples: int, blocks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Entropies that fall with depth but not monotonically, and correctness tied to them."""
    rng = np.random.default_rng(seed)
    difficulty = rng.beta(2.0, 2.0, size=(samples, 1))
    depth = np.arange(1, blocks + 1) / blocks
    entropy = np.clip(difficulty * (1.2 - depth) + rng.normal(0, 0.15, (samples, blocks)), 0, 1)
    correct = rng.random((samples, blocks)) > entropy * 0.8
    return entropy.astype(np.float32), correct


def random_partitions(blocks: int, parts: int, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.array([np.sort(rng.choice(blocks, parts, replace=False)) for _ in range(count)])


@pytest.mark.parametrize(
    ("samples", "blocks", "parts", "seed"),
    [(200, 5, 1, 0), (200, 5, 2, 1), (300, 10, 3, 2), (150, 10, 4, 3), (120, 70, 3, 4)],
)
def test_trace_estimator_matches_per_sample_loop(
    samples: int, blocks: int, parts: int, seed: int
) -> None:
    entropy, correct = random_trace_arrays(samples, blocks, seed)
    table = CascadeTable.build(entropy, correct, THRESHOLDS)
    partitions = random_partitions(blocks, parts, 12, seed)
    t_idx = np.array([0, 3, 9, 14, 19])
    exits, accuracy = table.evaluate(partitions, t_idx)
    assert exits.shape == (12, 5, parts) and accuracy.shape == (12, 5)
    for c, t in itertools.product(range(12), range(5)):
        rates, acc = reference_trace_estimate(
            entropy, correct, THRESHOLDS[t_idx[t]], tuple(partitions[c])
        )
        assert exits[c, t].tolist() == pytest.approx(rates, abs=1e-12)
        assert accuracy[c, t] == pytest.approx(acc, abs=1e-12)


def test_trace_estimator_chunks_give_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    entropy, correct = random_trace_arrays(400, 8, 5)
    table = CascadeTable.build(entropy, correct, THRESHOLDS)
    partitions = random_partitions(8, 3, 50, 5)
    whole = table.evaluate(partitions, np.arange(20))
    monkeypatch.setattr(trace_module, "_CHUNK_CELLS", 7)
    chunked = table.evaluate(partitions, np.arange(20))
    assert np.array_equal(whole[0], chunked[0]) and np.array_equal(whole[1], chunked[1])


def test_trace_estimator_full_configuration_gives_the_profile_alphas() -> None:
    entropy, correct = random_trace_arrays(500, 6, 6)
    table = CascadeTable.build(entropy, correct, THRESHOLDS)
    exits, accuracy = table.evaluate(np.arange(6)[None, :], np.arange(20))
    alpha = exit_rates_from_entropy(entropy.astype(np.float64), THRESHOLDS)
    assert np.allclose(exits[0], alpha, atol=1e-12)
    assert np.allclose(exits.sum(axis=-1), 1.0)
    assert (accuracy >= 0).all() and (accuracy <= 1).all()


def test_trace_estimator_single_partition_takes_every_sample() -> None:
    entropy, correct = random_trace_arrays(300, 6, 7)
    table = CascadeTable.build(entropy, correct, THRESHOLDS)
    exits, accuracy = table.evaluate(np.array([[2], [5]]), np.array([0, 19]))
    assert np.array_equal(exits, np.ones((2, 2, 1)))
    assert accuracy[:, 0].tolist() == pytest.approx(correct[:, [2, 5]].mean(axis=0).tolist())
    assert np.array_equal(accuracy[:, 0], accuracy[:, 1])  # the threshold does not matter


def test_trace_estimator_differs_from_the_paper_where_branches_disagree() -> None:
    # Two samples, three branches. Sample 0 is confident at branch 1 only; sample 1 at 3 only.
    entropy = np.array([[0.1, 0.9, 0.9], [0.9, 0.9, 0.1]])
    correct = np.array([[True, False, True], [False, False, True]])
    table = CascadeTable.build(entropy, correct, np.array([0.5]))
    exits, accuracy = table.evaluate(np.array([[1, 2]]), np.array([0]))
    # P = [2, 3]: neither sample is confident at branch 2, so both go on to branch 3 ...
    assert exits[0, 0].tolist() == [0.0, 1.0] and accuracy[0, 0] == 1.0
    # ... while the paper sums alpha over partitions: alpha = (0.5, 0, 0.5) -> E = (0.5, 0.5).
    alpha = exit_rates_from_entropy(entropy, np.array([0.5]))
    assert alpha[0].tolist() == [0.5, 0.0, 0.5]


def test_trace_estimator_full_configuration_exit_rates_equal_the_papers() -> None:
    # With every exit selected the cascade is the profiled one, so E_k = alpha_k exactly.
    entropy, correct = random_trace_arrays(400, 5, 8)
    profile = random_profile(5, num_thresholds=20, seed=4)
    alpha = exit_rates_from_entropy(entropy.astype(np.float64), profile.thresholds)
    profile = dataclasses.replace(profile, exit_rates=alpha)
    inputs = ModelInputs.build(profile, random_topology(3, seed=1))
    partitions = np.array([[0, 1, 2, 3, 4]])
    paper = partition_terms(inputs, partitions, np.arange(20)).exit_rates
    exits, _ = CascadeTable.build(entropy, correct, profile.thresholds).evaluate(
        partitions, np.arange(20)
    )
    assert np.allclose(exits[0], paper, atol=1e-12)


def test_cascade_table_from_trace_picks_the_source() -> None:
    entropy, correct = random_trace_arrays(50, 3, 9)
    trace = Trace(
        model="m",
        dataset="d",
        split="profile",
        labels=np.zeros(50, dtype=np.int64),
        entropy_joint=entropy,
        correct_joint=correct,
        entropy_separate=entropy[:, ::-1].copy(),
        correct_separate=~correct,
    )
    joint = CascadeTable.from_trace(trace, THRESHOLDS, source="joint")
    separate = CascadeTable.from_trace(trace, THRESHOLDS, source="separate")
    parts, t_idx = np.array([[0, 2]]), np.array([10])
    assert joint.evaluate(parts, t_idx)[1] != separate.evaluate(parts, t_idx)[1]
    assert joint.num_samples == 50 and joint.num_blocks == 3
