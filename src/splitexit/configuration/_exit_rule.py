"""The exit rule of seed 000, written once.

A sample leaves at the first selected exit whose normalized entropy H(p)/log C is strictly
below that exit's threshold; a sample that reaches the last partition leaves there, whatever
its entropy. Every room that decides or counts exits (the planner's estimators, the export's
chain runner, the tier worker, the fidelity replay, the synthetic profiles) calls this module.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    validate_params,
)
from splitexit.errors import InputError

__all__ = ["below_threshold", "check_exit_thresholds", "exit_partitions", "leaves_here"]

IntArray = npt.NDArray[np.int64]


def leaves_here(entropy: float, threshold: float | None) -> bool:
    """Whether one sample leaves at this partition: ``threshold`` is T_k of the partition's
    exit, ``None`` for the last partition (which takes every sample that reaches it).

    >>> leaves_here(0.2, 0.5), leaves_here(0.5, 0.5), leaves_here(0.9, None)
    (True, False, True)
    """
    return threshold is None or entropy < threshold


@validate_params(
    {
        "entropy": [InstanceOf(np.ndarray)],
        "threshold": [Interval(float, None, None), InstanceOf(np.ndarray)],
    }
)
def below_threshold(
    entropy: npt.NDArray[np.floating], threshold: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Where a sample would leave if the exit were selected: entropy strictly below T,
    elementwise (broadcast), compared in float64. The vectorized form of :func:`leaves_here`
    for an exit that is not the last.

    >>> below_threshold(np.array([0.2, 0.5, 0.9]), 0.5).tolist()
    [True, False, False]
    """
    return np.asarray(entropy, dtype=np.float64) < np.asarray(threshold, dtype=np.float64)


@validate_params(
    {
        "thresholds": [InstanceOf(list, tuple), InstanceOf(np.ndarray)],
        "num_partitions": [Interval(int, 1, None)],
        "where": [InstanceOf(str)],
    }
)
def check_exit_thresholds(
    thresholds: Sequence[float], num_partitions: int, *, where: str = "thresholds"
) -> tuple[float, ...]:
    """One threshold per partition but the last, each in (0, 1]; returned as floats.

    >>> check_exit_thresholds([0.4, 0.4], 3)
    (0.4, 0.4)
    """
    values = tuple(float(t) for t in thresholds)
    if len(values) != num_partitions - 1:
        raise InputError(
            f"{where} must hold one threshold per partition but the last "
            f"({num_partitions - 1}), got {len(values)}"
        )
    for k, value in enumerate(values):
        if not 0.0 < value <= 1.0:  # also refuses NaN
            raise InputError(f"{where}[{k}] must be in (0, 1], got {value!r}")
    return values


@validate_params(
    {
        "entropy": [InstanceOf(np.ndarray)],
        "thresholds": [
            Interval(float, 0, 1, closed="right"),
            InstanceOf(list, tuple),
            InstanceOf(np.ndarray),
            None,
        ],
    }
)
def exit_partitions(
    entropy: npt.NDArray[np.floating], thresholds: Sequence[float] | float | None
) -> IntArray:
    """0-based partition where each sample leaves, vectorized over samples.

    ``entropy`` is (S, L): each sample's normalized entropy at the exit of every partition
    (column k is the exit of partition k; select the columns of P from a trace first).
    ``thresholds`` is one T_k per partition but the last, or one T for every exit, or
    ``None`` for a single partition. Compared in float64, as the planner counts exits.

    >>> exit_partitions(np.array([[0.2, 0.1], [0.6, 0.9]]), 0.5).tolist()
    [0, 1]
    >>> exit_partitions(np.array([[0.3, 0.3, 0.9], [0.3, 0.3, 0.9]]), [0.2, 0.4]).tolist()
    [1, 1]
    """
    values = np.asarray(entropy, dtype=np.float64)
    if values.ndim != 2:
        raise InputError(f"entropy must be 2-D (samples, partitions), got shape {values.shape}")
    samples, count = values.shape
    if thresholds is None or count == 1:
        return np.full(samples, count - 1, dtype=np.int64)
    limits = np.asarray(thresholds, dtype=np.float64)
    if limits.ndim == 1 and limits.shape[0] != count - 1:
        raise InputError(
            f"thresholds must hold one threshold per partition but the last ({count - 1}), "
            f"got {limits.shape[0]}"
        )
    below = below_threshold(values[:, :-1], limits)
    first: IntArray = np.where(below.any(axis=1), below.argmax(axis=1), count - 1).astype(np.int64)
    return first
