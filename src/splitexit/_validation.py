"""Constraints on public parameters, declared once and checked at the entry of the function.

In the spirit of scikit-learn's ``_param_validation``: a public function or constructor says
what each parameter accepts with :func:`validate_params`; a value that meets none of its
constraints raises an :class:`~splitexit.errors.InputError` of one line naming the function,
the parameter, what was expected and what came, e.g.
``plan: `sample_size` must be an int >= 1, got -3``. Inside the function, values are
trusted. A constraint may also normalize: :class:`Unit` turns ``"80ms"`` into ``0.08``.

>>> @validate_params({"size": [Interval(int, 1, None, closed="left")]})
... def grow(size: int) -> int:
...     return size + 1
>>> grow(size=2)
3
>>> grow(size=-3)
Traceback (most recent call last):
...
splitexit.errors.InputError: grow: `size` must be an int >= 1, got -3
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import numbers
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from splitexit.errors import InputError, UnitError

__all__ = [
    "CONSTRAINTS_ATTRIBUTE",
    "Callable_",
    "Constraint",
    "InstanceOf",
    "Interval",
    "Options",
    "PathLike",
    "Unit",
    "constraints_of",
    "is_returned_type",
    "returned_type",
    "validate_params",
]

CONSTRAINTS_ATTRIBUTE = "__splitexit_constraints__"
RETURNED_ATTRIBUTE = "__splitexit_returned__"
_T = TypeVar("_T")
_MISSING = object()


class Constraint(ABC):
    """What one parameter accepts; ``check`` returns the (possibly normalized) value or
    raises ``ValueError``."""

    @abstractmethod
    def check(self, value: Any) -> Any: ...

    @abstractmethod
    def describe(self) -> str: ...

    def bad_value(self) -> Any:
        """A value of an accepted type that this constraint refuses (for the meta-test), or
        ``_MISSING`` when every value of the type is fine."""
        return _MISSING


class InstanceOf(Constraint):
    """An instance of one of ``types`` (``bool`` is not an int here). A type may be named
    ``"package.module:Name"``, imported at the first check, where importing it at
    declaration would be circular or heavy.
    """

    def __init__(self, *types: type | str, name: str | None = None) -> None:
        self._given = types
        self._types: tuple[type, ...] | None = None
        self.name = name or " or ".join(_article(_type_name(t)) for t in types)

    @property
    def types(self) -> tuple[type, ...]:
        if self._types is None:
            self._types = tuple(_resolve(t) for t in self._given)
        return self._types

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) and bool not in self.types:
            raise ValueError
        if not isinstance(value, self.types):
            raise ValueError
        return value

    def describe(self) -> str:
        return self.name


class PathLike(InstanceOf):
    """A file-system path given as ``str`` or ``os.PathLike``; the function receives a
    :class:`~pathlib.Path`, so its body may use ``Path`` methods whatever the caller gave."""

    def __init__(self) -> None:
        super().__init__(str, os.PathLike, name="a path (str or Path)")

    def check(self, value: Any) -> Any:
        return Path(super().check(value))


def _type_name(kind: type | str) -> str:
    return kind.rsplit(":", 1)[-1] if isinstance(kind, str) else kind.__name__


def _resolve(kind: type | str) -> type:
    if not isinstance(kind, str):
        return kind
    module, _, name = kind.partition(":")
    found: type = getattr(importlib.import_module(module), name)
    return found


class Callable_(Constraint):
    """Any callable."""

    def check(self, value: Any) -> Any:
        if not callable(value):
            raise ValueError
        return value

    def describe(self) -> str:
        return "a callable"


class Interval(Constraint):
    """A real number (``float``: int or float, finite) or an ``int`` in [left, right]; a
    bound of ``None`` is open-ended; ``closed`` says which bounds belong."""

    def __init__(
        self,
        kind: type[int] | type[float],
        left: float | None,
        right: float | None,
        *,
        closed: Literal["both", "left", "right", "neither"] = "both",
    ) -> None:
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def _typed(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError
        if self.kind is int:
            if not isinstance(value, numbers.Integral):
                raise ValueError
            return int(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError
        return number

    def _inside(self, number: float) -> bool:
        lo_ok = self.left is None or (
            number >= self.left if self.closed in ("both", "left") else number > self.left
        )
        hi_ok = self.right is None or (
            number <= self.right if self.closed in ("both", "right") else number < self.right
        )
        return lo_ok and hi_ok

    def check(self, value: Any) -> Any:
        number = self._typed(value)
        if not self._inside(number):
            raise ValueError
        return number

    def bounds(self) -> str:
        """``>= 1``, ``in (0, 1]``, or ``""`` without bounds."""
        low_in = self.closed in ("both", "left")
        high_in = self.closed in ("both", "right")
        if self.left is not None and self.right is not None:
            opening, closing = "[" if low_in else "(", "]" if high_in else ")"
            return f"in {opening}{self.left:g}, {self.right:g}{closing}"
        if self.left is not None:
            return f"{'>=' if low_in else '>'} {self.left:g}"
        if self.right is not None:
            return f"{'<=' if high_in else '<'} {self.right:g}"
        return ""

    def describe(self) -> str:
        kind = "an int" if self.kind is int else "a finite number"
        return f"{kind} {self.bounds()}".strip()

    def bad_value(self) -> Any:
        if self.left is not None:
            return self.kind(self.left - 1)
        if self.right is not None:
            return self.kind(self.right + 1)
        return _MISSING


class Options(Constraint):
    """One of a fixed set of values (a ``Literal`` in the signature)."""

    def __init__(self, values: Iterable[Any]) -> None:
        self.values = tuple(values)

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or value not in self.values:
            raise ValueError
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def bad_value(self) -> Any:
        return "not-an-option"


_UNIT_TEXT = {
    "duration": 'a duration ("80ms" or seconds)',
    "bandwidth": 'a bandwidth ("10Mbps" or bit/s)',
    "fraction": 'a fraction ("92%" or 0.92)',
}


class Unit(Constraint):
    """A quantity people write with a unit (``"80ms"``, ``"10Mbps"``, ``"92%"``) or as a
    bare number in SI units; normalized to that number, then held to ``within``."""

    def __init__(
        self,
        parse: Callable[[str | float], float],
        kind: Literal["duration", "bandwidth", "fraction"],
        within: Interval | None = None,
    ) -> None:
        # the parser comes from the caller (``units.parse_duration``...): this module sits
        # below ``units``, which validates its own parameters with it
        self.parse, self.kind, self.within = parse, kind, within

    def check(self, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | numbers.Real):
            raise ValueError
        try:
            number = self.parse(value if isinstance(value, str) else float(value))
        except UnitError:
            raise ValueError from None
        return number if self.within is None else self.within.check(number)

    def describe(self) -> str:
        text = _UNIT_TEXT[self.kind]
        return text if self.within is None else f"{text} {self.within.bounds()}"

    def bad_value(self) -> Any:
        return "-5 parsecs"


def _article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _check(
    where: str,
    name: str,
    value: Any,
    accepted: Sequence[Constraint | None],
    error: type[InputError] = InputError,
) -> Any:
    for constraint in accepted:
        if constraint is None:
            if value is None:
                return None
            continue
        try:
            return constraint.check(value)
        except ValueError:
            continue
    texts = [c.describe() if c is not None else "None" for c in accepted]
    raise error(f"{where}: `{name}` must be {' or '.join(texts)}, got {value!r}")


def validate_params(
    constraints: Mapping[str, Sequence[Constraint | None]],
    *,
    name: str | None = None,
    error: type[InputError] = InputError,
) -> Callable[[_T], _T]:
    """Check the named parameters at every call of a function, or of a class's ``__init__``,
    before the body runs; ``None`` in a list accepts ``None``. A refused value raises
    ``error`` (an :class:`InputError` subclass, e.g. ``UnitError`` for the unit parsers)."""

    def decorate(target: _T) -> _T:
        function: Any = target.__init__ if isinstance(target, type) else target  # type: ignore[misc]
        label = str(name or getattr(target, "__name__", "function"))
        signature = inspect.signature(function)
        unknown = set(constraints) - set(signature.parameters)
        if unknown:
            raise TypeError(f"{label}: constraints for unknown parameters {sorted(unknown)}")

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args, **kwargs)
            for param, accepted in constraints.items():
                if param in bound.arguments:
                    value = bound.arguments[param]
                    bound.arguments[param] = _check(label, param, value, accepted, error)
            return function(*bound.args, **bound.kwargs)

        setattr(checked, CONSTRAINTS_ATTRIBUTE, dict(constraints))
        if isinstance(target, type):
            target.__init__ = checked  # type: ignore[misc]
        else:
            target = checked  # type: ignore[assignment]
        setattr(target, CONSTRAINTS_ATTRIBUTE, dict(constraints))
        return target

    return decorate


def constraints_of(target: object) -> dict[str, Sequence[Constraint | None]] | None:
    """The constraints declared on a function or a class, ``None`` when none were."""
    found = getattr(target, CONSTRAINTS_ATTRIBUTE, None)
    return None if found is None else dict(found)


def returned_type(cls: _T) -> _T:
    """Mark a class whose instances the library builds and returns (results, info objects,
    validated file contents): users read them and never construct them, so the constructor
    trusts its arguments, which were checked where they were computed or loaded."""
    setattr(cls, RETURNED_ATTRIBUTE, True)
    return cls


def is_returned_type(target: object) -> bool:
    """Whether ``target`` was marked with :func:`returned_type` (itself, not a base)."""
    return isinstance(target, type) and RETURNED_ATTRIBUTE in vars(target)
