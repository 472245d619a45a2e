"""Predicted against measured, as Fig. 3 of Ebrahimi et al., Combining DNN Partitioning and Early
Exit (EdgeSys '22): accuracy and exit rates, one colour per
estimator, with the y = x line. The info is the :class:`ValidationResult`; this draws it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splitexit._boundary import atomic_write_png
from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.profiling._validate import ValidationResult

__all__ = ["render_validation_plot"]


@validate_params({"result": [InstanceOf(ValidationResult)], "path": [PathLike()]})
def render_validation_plot(result: ValidationResult, path: Path) -> None:
    """Draw ``result`` to a PNG file, written atomically."""
    from matplotlib.figure import Figure  # no pyplot: the global backend stays as it was

    fig = Figure(figsize=(11, 5), dpi=120)
    axes = fig.subplots(1, 2)
    measured_acc = np.concatenate([m.accuracy for m in result.measured]) * 100
    measured_rates = np.concatenate([m.exit_rates.ravel() for m in result.measured]) * 100
    for name, guesses in result.predicted.items():
        acc = np.concatenate([g.accuracy for g in guesses]) * 100
        rates = np.concatenate([g.exit_rates.ravel() for g in guesses]) * 100
        fit_a, fit_r = result.accuracy_fit[name], result.exit_rate_fit[name]
        axes[0].scatter(
            acc, measured_acc, s=8, alpha=0.6, label=f"{name} (MAE {fit_a.mae * 100:.2f} pp)"
        )
        axes[1].scatter(
            rates,
            measured_rates,
            s=8,
            alpha=0.6,
            label=f"{name} (MAE {fit_r.mae * 100:.2f} pp)",
        )
    for ax, what in zip(axes, ("accuracy (%)", "exit rate (%)"), strict=True):
        low, high = ax.get_xlim()
        low, high = min(low, ax.get_ylim()[0]), max(high, ax.get_ylim()[1])
        ax.plot([low, high], [low, high], color="black", linewidth=1, label="y = x")
        ax.set_xlabel(f"predicted {what}")
        ax.set_ylabel(f"measured {what} (final models, test split)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{len(result.partitions)} final models x {len(result.thresholds)} thresholds")
    fig.tight_layout()
    atomic_write_png(fig, path)
