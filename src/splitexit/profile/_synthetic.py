"""Synthetic profiles with the structure of real ones, for tests, benchmarks and examples.

Exit rates come from a simulated cascade rather than from independent random numbers: each
sample gets a difficulty, its normalized entropy at branch i falls with depth, and it exits at
the first branch whose entropy is below T (at branch N if none is), exactly the rule a real
profiler applies. Latencies and sizes are drawn at random in plausible ranges.
"""

from __future__ import annotations

import numpy as np

from splitexit._validation import (
    InstanceOf,
    Interval,
    validate_params,
)
from splitexit.configuration import exit_partitions
from splitexit.profile._model import Profile

__all__ = ["exit_rates_from_entropy", "random_profile"]


@validate_params(
    {
        "entropy": [InstanceOf(np.ndarray)],
        "thresholds": [InstanceOf(np.ndarray)],
    }
)
def exit_rates_from_entropy(entropy: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """alpha_i(T) from per-sample normalized entropies of shape (samples, N).

    A sample exits at the first branch with entropy < T, or at branch N if there is none.
    Returns shape (len(thresholds), N); every row sums to 1.
    """
    samples, n = entropy.shape
    rates = np.zeros((len(thresholds), n))
    for t, threshold in enumerate(thresholds):
        first = exit_partitions(entropy, float(threshold))  # every branch selected
        rates[t] = np.bincount(first, minlength=n) / samples
    return rates


@validate_params(
    {
        "num_blocks": [Interval(int, 1, None)],
        "num_thresholds": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
        "samples": [Interval(int, 1, None)],
    }
)
def random_profile(
    num_blocks: int,
    *,
    num_thresholds: int = 20,
    seed: int = 0,
    samples: int = 2000,
) -> Profile:
    """A random but structurally realistic profile with ``num_blocks`` blocks.

    >>> random_profile(5, num_thresholds=3, seed=1).exit_rates.shape
    (3, 5)
    """
    rng = np.random.default_rng(seed)
    n = num_blocks
    depth = np.arange(1, n + 1) / n
    thresholds = np.arange(1, num_thresholds + 1) / num_thresholds
    difficulty = rng.beta(2.0, 2.0, size=(samples, 1))
    entropy = np.clip(
        difficulty * (1.2 - depth) + rng.normal(0.0, 0.08, size=(samples, n)), 0.0, 1.0
    )
    accuracy = np.clip(0.45 + 0.5 * depth**0.6 + rng.normal(0.0, 0.01, n), 0.0, 1.0)
    return Profile(
        model=f"random-{n}-blocks",
        dataset="synthetic",
        num_classes=10,
        input_bits=float(rng.uniform(2e4, 2e5)),
        result_bits=320.0,
        thresholds=thresholds,
        block_names=tuple(f"block{i + 1}" for i in range(n)),
        output_bits=rng.uniform(5e4, 6e5, size=n) * np.linspace(1.0, 0.25, n),
        block_compute_s=rng.uniform(1e-4, 6e-4, size=n),
        branch_compute_s=rng.uniform(2e-5, 1e-4, size=n),
        accuracy=accuracy,
        accuracy_joint=np.clip(accuracy - rng.uniform(0.0, 0.05, n), 0.0, 1.0),
        exit_rates=exit_rates_from_entropy(entropy, thresholds),
        reference_device="synthetic",
        notes=f"synthetic profile from splitexit.profile.random_profile(seed={seed})",
    )
