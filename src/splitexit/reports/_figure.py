"""Saving matplotlib figures by the file's extension (PNG, SVG or PDF), through the Figure
API only: no pyplot, no global backend switch, so a notebook's backend stays as it was.

>>> figure_format(Path("pareto.svg"))
'svg'
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from splitexit._boundary import atomic_write_bytes
from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.errors import InputError

__all__ = ["FIGURE_FORMATS", "check_figure_path", "figure_format", "new_figure", "save_figure"]

FIGURE_FORMATS = ("png", "svg", "pdf")


def figure_format(path: Path) -> str:
    """The format ``path`` asks for by its extension; InputError when it is none of
    :data:`FIGURE_FORMATS`."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise InputError(
            f"{path}: a plot is written as PNG, SVG or PDF by its extension; "
            f"give a name ending in .png, .svg or .pdf"
        )
    return suffix


@validate_params({"path": [PathLike(), None], "option": [InstanceOf(str)]})
def check_figure_path(path: Path | None, option: str = "--plot") -> None:
    """Refuse a plot path with an unknown extension before any work starts."""
    if path is None:
        return
    try:
        figure_format(path)
    except InputError as exc:
        raise InputError(f"{option} {exc}") from None


def new_figure(width: float, height: float, dpi: int = 120) -> Any:
    """A matplotlib Figure not registered with pyplot (garbage-collected, no backend)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi)


@validate_params({"figure": [InstanceOf("matplotlib.figure:Figure")], "path": [PathLike()]})
def save_figure(figure: Any, path: Path, **savefig: Any) -> None:
    """Render ``figure`` in memory in the format of ``path``'s extension, then write it
    atomically (nothing half-written on error)."""
    fmt = figure_format(path)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, **savefig)
    atomic_write_bytes(Path(path), buffer.getvalue())
