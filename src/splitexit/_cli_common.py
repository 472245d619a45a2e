"""What every command shares: the console and the mapping of user errors to exit status 2."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from splitexit.errors import SplitexitError

__all__ = ["USER_ERROR", "console", "user_errors"]

USER_ERROR = 2


def console() -> Console:
    """Stdout console; piped output gets 120 columns rather than rich's default of 80."""
    out = Console()
    return out if out.is_terminal else Console(width=120)


@contextmanager
def user_errors() -> Iterator[None]:
    """Print a SplitexitError as one line on stderr and exit with status 2."""
    try:
        yield
    except SplitexitError as exc:
        Console(stderr=True, highlight=False).print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(USER_ERROR) from None
