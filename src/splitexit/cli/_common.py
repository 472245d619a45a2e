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
    "MAX_ERROR_CHARS",
    "USER_ERROR",
    "check_device_option",
    "check_json_out",
    "check_png",
    "check_threads",
    "console",
    "default_work_dir",
    "emit_json",
    "one_line",
    "passive_openmp",
    "print_error",
    "torch_threads",
    "user_errors",
]

USER_ERROR = 2
MAX_ERROR_CHARS = 1000
"""An error line longer than this is cut, ending in "..." (a hostile file cannot flood)."""


def one_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` on one line of at most ``limit`` characters.

    >>> one_line("a\\nb" + "c" * 400)[:5], len(one_line("x" * 2000))
    ('a bcc', 1000)
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def print_error(text: str) -> None:
    """Print ``error: <text>`` as one capped line on stderr."""
    Console(stderr=True, highlight=False, width=10_000).print(
        one_line(f"error: {text}"), markup=False, soft_wrap=True
    )


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
        print_error(str(exc))
        raise typer.Exit(USER_ERROR) from None


def check_png(plot: Path | None, option: str = "--plot") -> None:
    """Refuse a ``--plot`` that is not a writable .png file before any work starts."""
    from splitexit.cli._outputs import check_output_file

    if plot is not None and plot.suffix.lower() != ".png":
        raise InputError(f"{option} {plot}: the plot is a PNG file; give a name ending in .png")
    check_output_file(plot, option)


def check_plot(plot: Path | None, option: str = "--plot") -> None:
    """Refuse a ``--plot`` that is not a writable .png, .svg or .pdf file before any work."""
    from splitexit.cli._outputs import check_output_file
    from splitexit.reports import check_figure_path

    check_figure_path(plot)
    check_output_file(plot, option)


def check_json_out(path: Path | None, option: str = "--json") -> None:
    """Refuse a JSON output that cannot be written (``-`` is stdout) before any work starts."""
    from splitexit.cli._outputs import check_output_file

    check_output_file(path, option, allow_stdout=True)


def emit_json(path: Path | None, value: object, *, indent: int = 2) -> None:
    """Write ``value`` (no NaN, no Infinity) to ``path`` or stdout for ``-``; say where."""
    from splitexit._boundary import write_json

    if path is not None and write_json(path, value, indent=indent):
        print(f"wrote {path}")


def passive_openmp() -> None:
    """Idle OpenMP threads sleep instead of spinning: on a shared machine the spinning pools of
    several processes slow each other down several times over. Must run before torch loads."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def check_threads(threads: int) -> None:
    if threads < 1:
        raise InputError(f"--threads must be >= 1, got {threads}")


def check_device_option(device: str) -> None:
    """``--device``: cpu, or a CUDA device torch sees here (one line otherwise, exit 2)."""
    passive_openmp()
    from splitexit.training import check_device

    check_device(device, where="--device")


def torch_threads(threads: int) -> None:
    """Load torch with passive OpenMP and ``threads`` threads (checked)."""
    check_threads(threads)
    passive_openmp()
    import torch

    torch.set_num_threads(threads)


def _bare_number(text: str) -> bool:
    try:
        float(text.strip())
    except ValueError:
        return False
    return True


def cli_duration(text: str, option: str) -> float:
    """A duration typed on the command line, in seconds: a bare number is refused with a hint
    (files keep bare SI numbers).

    >>> cli_duration("80ms", "--max-latency")
    0.08
    """
    from splitexit.units import parse_duration

    if _bare_number(text):
        raise InputError(f"{option} needs a unit: {text.strip()}ms? {text.strip()}s?")
    try:
        return parse_duration(text)
    except InputError as exc:
        raise InputError(f"{option}: {exc}") from None


def cli_bandwidth(text: str | None, option: str) -> str | None:
    """A bandwidth typed on the command line, returned as typed once it names a unit."""
    if text is not None and _bare_number(text):
        raise InputError(f"{option} needs a unit: {text.strip()}Mbps? {text.strip()}kbps?")
    return text
