"""Box plots and Q-Q plots of the study as PNG bytes, drawn through matplotlib's Figure
API (no pyplot, the global backend is never touched)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from splitexit.study._report_info import BoxPanel, QQPanel

__all__ = ["box_png", "qq_png"]

_COLUMNS = 3


def _grid(count: int) -> tuple[int, int]:
    cols = min(_COLUMNS, count)
    return math.ceil(count / cols), cols


def _png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)  # type: ignore[attr-defined]
    return buffer.getvalue()


def box_png(title: str, panels: Sequence[BoxPanel]) -> bytes:
    """One box plot per panel (latency in seconds), side by side."""
    from matplotlib.figure import Figure

    rows, cols = _grid(len(panels))
    figure = Figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        ax.boxplot(list(panel.data), tick_labels=list(panel.labels), showfliers=True)
        ax.set_title(panel.title, fontsize=9)
        ax.set_ylabel("latency (s)")
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle(title)
    return _png(figure)


def qq_png(title: str, panels: Sequence[QQPanel]) -> bytes:
    """Normal Q-Q plots: ordered latencies against theoretical quantiles, with the line
    through the quartiles."""
    from matplotlib.figure import Figure

    cols = min(6, len(panels))
    rows = math.ceil(len(panels) / cols)
    figure = Figure(figsize=(2.4 * cols, 2.2 * rows), layout="constrained")
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax, panel in zip(axes.flat, panels, strict=False):
        ax.plot(panel.theoretical, panel.ordered, ".", markersize=2)
        n = len(panel.ordered)
        lo, hi = panel.ordered[n // 4], panel.ordered[(3 * n) // 4]
        tlo, thi = panel.theoretical[n // 4], panel.theoretical[(3 * n) // 4]
        if thi > tlo:
            slope = (hi - lo) / (thi - tlo)
            xs = (panel.theoretical[0], panel.theoretical[-1])
            ax.plot(xs, [lo + slope * (x - tlo) for x in xs], "-", linewidth=0.8)
        ax.set_title(panel.title, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    figure.suptitle(title)
    return _png(figure)
