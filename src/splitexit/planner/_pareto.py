"""Pareto frontiers of (latency, accuracy) points, with exact and reproducible ties.

Values are compared after rounding latency to 0.1 ns and accuracy to 1e-12, so that the
frontier does not depend on the order in which floating-point sums were taken.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ACCURACY_DECIMALS", "LATENCY_DECIMALS", "frontier_order"]

LATENCY_DECIMALS = 10  # seconds
ACCURACY_DECIMALS = 12


def frontier_order(
    latency: npt.NDArray[np.float64],
    accuracy: npt.NDArray[np.float64],
    *tie_keys: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Indices of the non-dominated points, by increasing latency.

    A point is kept when its accuracy is strictly above that of every point at lower or equal
    latency. Among points equal in both, the one smallest in ``tie_keys`` (compared in the
    order given, e.g. number of partitions then enumeration order) is kept. Inputs must be
    rounded already.
    """
    if latency.size == 0:
        return np.zeros(0, dtype=np.int64)
    keys = (*reversed(tie_keys), -accuracy, latency)  # np.lexsort: last key is primary
    order = np.lexsort(keys)
    acc_sorted = accuracy[order]
    best_before = np.maximum.accumulate(acc_sorted)
    keep = np.empty(order.size, dtype=bool)
    keep[0] = True
    keep[1:] = acc_sorted[1:] > best_before[:-1]
    return order[keep].astype(np.int64)
