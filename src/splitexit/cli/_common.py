"""What every command shares: the console and the mapping of user errors to exit status 2."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from splitexit.errors import InputError, SplitexitError
from splitexit.experiment import default_work_dir

__all__ = [
    "USER_ERROR",
    "check_png",
    "check_threads",
    "console",
    "default_work_dir",
    "passive_openmp",
    "torch_threads",
    "user_errors",
]

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


def check_png(plot: Path | None) -> None:
    """Refuse a ``--plot`` that is not a .png file before any work starts."""
    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError(f"--plot {plot}: the plot is a PNG file; give a name ending in .png")


def passive_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning: on a shared machine the spinning pools of
    several processes slow each other down several times over. Must run before torch loads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def check_threads(threads: int) -> None:
    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")


def torch_threads(threads: int) -> None:
    """Load torch with passive OpenMP and ``threads`` threads (checked)."""
    check_threads(threads)
    passive_openmp()
    import torch

    torch.set_num_threads(threads)
