"""A search budget counted in simulator evaluations, so that a seed gives the same result.

Wall-clock budgets make a search stop at a point that depends on the machine's load; a count
of evaluations does not. One evaluation is one simulation of a strategy (complete, or resumed
from a stored prefix by :func:`~splitexit.spatial.polish`); splitting one layer-volume by
equal finish is charged :data:`SPLIT_VOLUME_COST` evaluations (it costs about that much).
An optional wall-clock guard, off by default, stops a search early on a slow machine: with
it the result may depend on the load again.

>>> budget = Budget(3)
>>> budget.spend(2); budget.exhausted()
False
>>> budget.spend(); budget.exhausted()
True
"""

from __future__ import annotations

import time

from splitexit.errors import InputError

__all__ = ["SPLIT_VOLUME_COST", "Budget", "check_evaluations"]

SPLIT_VOLUME_COST = 10


def check_evaluations(value: object, name: str = "max_evaluations") -> int:
    """``value`` if it is an integer >= 1, else :class:`InputError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} must be an integer >= 1, got {value!r}")
    return value


def check_time_limit(value: object, name: str = "time_limit_s") -> float | None:
    """``None`` (no guard) or a number of seconds > 0, else :class:`InputError`."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InputError(f"{name} must be None or a number of seconds > 0, got {value!r}")
    return float(value)


class Budget:
    """Evaluations left to a search, and the optional wall-clock guard."""

    def __init__(self, evaluations: int, *, time_limit_s: float | None = None):
        self.total = check_evaluations(evaluations)
        limit = check_time_limit(time_limit_s)
        self.used = 0
        self._stop_at = None if limit is None else time.monotonic() + limit

    def spend(self, evaluations: int = 1) -> None:
        self.used += evaluations

    @property
    def left(self) -> int:
        return max(self.total - self.used, 0)

    def exhausted(self, share: float = 1.0) -> bool:
        """True when ``share`` of the evaluations is spent (or the guard, if set, passed)."""
        if self._stop_at is not None and time.monotonic() >= self._stop_at:
            return True
        return self.used >= share * self.total

    def sub(self, evaluations: int) -> Budget:
        """A budget of at most ``evaluations`` (>= 1) inside this one, sharing its guard."""
        inner = Budget(max(1, min(evaluations, self.left)))
        inner._stop_at = self._stop_at
        return inner
