"""Output files checked before any work starts (folders: see ``splitexit._boundary``).

A command calls :func:`check_output_file` on every file output option first, so a bad path
fails in one line before minutes of work.

>>> check_output_file("-", "--json", allow_stdout=True)
>>> check_output_file("plan.json", "--json", suffixes=(".json",))
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from splitexit._boundary import check_parent_writable, is_system_path
from splitexit.errors import InputError

__all__ = ["check_output_file", "is_stdout"]


def is_stdout(path: Path | str | None) -> bool:
    """True for ``-`` (write to standard output)."""
    return path is not None and str(path) == "-"


def check_output_file(
    path: Path | str | None,
    option: str,
    *,
    suffixes: Iterable[str] = (),
    allow_stdout: bool = False,
) -> None:
    """Refuse a file output that cannot be written: a folder, a system path, an unwritable
    parent, or a name without one of ``suffixes`` (when given)."""
    if path is None or (allow_stdout and is_stdout(path)):
        return
    path = Path(path)
    wanted = tuple(suffixes)
    if str(path) == "-":
        raise InputError(f"{option} -: this output cannot go to stdout; give a file name")
    if is_system_path(path):
        raise InputError(f"{option} {path}: refusing to write under /proc, /sys or /dev")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a folder; give a file name")
    if wanted and path.suffix.lower() not in wanted:
        raise InputError(f"{option} {path}: give a name ending in {' or '.join(wanted)}")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option} {path}: the file is not writable")
    check_parent_writable(path, option)
