"""A uniform random sample of configurations, evaluated, for plots when nothing is enumerated."""

from __future__ import annotations

import numpy as np

from splitexit.perfmodel import ModelInputs, coefficients, partition_terms
from splitexit.planner._space import count_for_length, thresholds_for
from splitexit.planner._sweep import SampledPoints

__all__ = ["sample_configurations"]


def sample_configurations(inputs: ModelInputs, size: int, *, seed: int = 0) -> SampledPoints:
    """Draw ``size`` configurations uniformly from the whole space and estimate them."""
    n, m, nt = inputs.num_blocks, inputs.num_tiers, inputs.num_thresholds
    rng = np.random.default_rng(seed)
    lengths = np.arange(1, min(n, m) + 1)
    weights = np.array([count_for_length(n, m, nt, int(k)) for k in lengths], dtype=float)
    per_length = rng.multinomial(size, weights / weights.sum())
    lat_parts, acc_parts, len_parts = [], [], []
    for length, drawn in zip(lengths, per_length, strict=True):
        num_parts, count = int(length), int(drawn)
        if count == 0:
            continue
        parts = np.sort(np.argsort(rng.random((count, n)), axis=1)[:, :num_parts], axis=1).astype(
            np.int64
        )
        tiers = np.argsort(rng.random((count, m)), axis=1)[:, :num_parts].astype(np.int64)
        t_all = thresholds_for(num_parts, nt)
        t_pick = rng.integers(t_all.size, size=count)
        terms = partition_terms(inputs, parts, t_all)
        rows = np.arange(count) * t_all.size + t_pick
        coef = coefficients(inputs, tiers)  # (features, count): one column per sample
        lat_parts.append(np.einsum("rf,fr->r", terms.features[rows], coef))
        acc_parts.append(terms.accuracy[rows])
        len_parts.append(np.full(count, num_parts, dtype=np.int64))
    return SampledPoints(
        latency=np.concatenate(lat_parts),
        accuracy=np.concatenate(acc_parts),
        num_parts=np.concatenate(len_parts),
    )
