"""Cliff's delta and its magnitude labels (seed 004, section 4.6, after Romano et al.).

Cliff's delta is not in scipy, so it is written here: for samples x (n) and y (m),
d = (#{x_i > y_j} - #{x_i < y_j}) / (n m), in [-1, 1]. Negative d means the left sample
(x) tends to be lower, the seed's convention. Counting goes through one sort of y and two
binary searches per x, O((n + m) log m), instead of the n x m comparison matrix.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params

__all__ = ["MAGNITUDE_BOUNDS", "cliffs_delta", "magnitude", "magnitude_letter"]

# |d| < 0.147 negligible, < 0.33 small, < 0.474 medium, else large (Romano et al. 2006)
MAGNITUDE_BOUNDS: tuple[tuple[float, str], ...] = (
    (0.147, "negligible"),
    (0.33, "small"),
    (0.474, "medium"),
)


@validate_params(
    {
        "x": [
            InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence"),
            InstanceOf(np.ndarray),
        ],
        "y": [
            InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence"),
            InstanceOf(np.ndarray),
        ],
    }
)
def cliffs_delta(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Cliff's delta of ``x`` against ``y``.

    >>> cliffs_delta([1, 2, 3], [2, 4])
    -0.5
    """
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.sort(np.asarray(y, dtype=np.float64).ravel())
    if a.size == 0 or b.size == 0:
        raise ValueError(f"Cliff's delta needs two non-empty samples, got {a.size} and {b.size}")
    below = np.searchsorted(b, a, side="left")  # y_j < x_i
    above = b.size - np.searchsorted(b, a, side="right")  # y_j > x_i
    return float((below.sum() - above.sum()) / (a.size * b.size))


@validate_params({"delta": [Interval(float, -1, 1)]})
def magnitude(delta: float) -> str:
    """The seed's label of ``|delta|``.

    >>> magnitude(-0.5), magnitude(0.147), magnitude(0.1)
    ('large', 'small', 'negligible')
    """
    size = abs(delta)
    for bound, label in MAGNITUDE_BOUNDS:
        if size < bound:
            return label
    return "large"


@validate_params({"delta": [Interval(float, -1, 1)]})
def magnitude_letter(delta: float) -> str:
    """The seed's table cell: sign and first letter, e.g. ``-L`` or ``S``.

    In the seed's tables a positive cell means the column's latency is lower than the
    row's, i.e. delta(row, column) > 0.

    >>> magnitude_letter(-0.5)
    '-L'
    """
    letter = magnitude(delta)[0].upper()
    return f"-{letter}" if delta < 0 else letter
