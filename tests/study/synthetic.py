"""Synthetic latencies with known differences, shared by the study tests."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from splitexit.study import LatencyLog, Strategy

# median latency (s) per (operator, tiers): E clearly fastest for I; ME clearly best for P
MEDIANS = {
    ("I", "M"): 2.0,
    ("I", "E"): 1.0,
    ("I", "C"): 3.0,
    ("Q", "M"): 2.1,
    ("Q", "E"): 0.8,
    ("Q", "C"): 3.0,
    ("P", "ME"): 1.5,
    ("P", "EC"): 12.0,
    ("P", "MC"): 14.0,
}


def latency(strategy: Strategy, sample: int, repetition: int) -> float:
    """Deterministic, lognormal-looking noise around the strategy's median."""
    rng = np.random.default_rng([zlib.crc32(strategy.label.encode()), sample, repetition])
    base = MEDIANS[(strategy.operator, strategy.tiers)]
    return float(base * (1 + 0.02 * sample % 7) * rng.lognormal(0.0, 0.05))


def synthetic_log(
    subjects: Sequence[str] = ("a",), repetitions: int = 3, samples: int = 20
) -> LatencyLog:
    log = LatencyLog()
    for subject in subjects:
        for op, tiers in MEDIANS:
            s = Strategy(subject, op, tiers)
            for r in range(1, repetitions + 1):
                ids = range(samples)
                log.add(s, r, ids, [latency(s, i, r) for i in ids])
    return log
