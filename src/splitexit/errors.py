"""The one exception hierarchy of splitexit.

Every error a user can cause derives from :class:`SplitexitError`; the CLI prints its message
as a single line and exits with status 2. Messages follow one shape: where (file and field),
what is wrong, and what was expected, e.g.
``topology.yaml: links[1].bandwidth must be > 0, got -5 Mbps``.
"""

from __future__ import annotations

__all__ = ["InfeasibleError", "InputError", "SplitexitError", "UnitError"]


class SplitexitError(Exception):
    """Base class of every error splitexit raises on purpose."""


class InputError(SplitexitError):
    """A file or argument given by the user is malformed or inconsistent."""


class UnitError(InputError, ValueError):
    """A quantity such as ``"10Mbps"`` or ``"40ms"`` could not be parsed."""


class InfeasibleError(SplitexitError):
    """No configuration satisfies the user's requirement."""
