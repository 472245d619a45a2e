"""Predicted against measured: an info object from a fidelity summary, then
a Markdown table, a JSON dict and a plot of predicted vs measured mean and p99 latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from splitexit._validation import (
    InstanceOf,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.fidelity import (
    MEAN_TARGET,
    P99_TARGET,
    Comparison,
    FidelitySummary,
    LatencyStats,
    ModelErrors,
)
from splitexit.reports._figure import new_figure, save_figure

__all__ = [
    "FidelityInfo",
    "FidelityRow",
    "fidelity_info",
    "fidelity_json",
    "fidelity_markdown",
    "render_fidelity_plot",
]

Quartet = tuple[float, float, float, float]  # mean, p50, p95, p99 in ms


def _ms(stats: LatencyStats) -> Quartet:
    return (stats.mean_s * 1e3, stats.p50_s * 1e3, stats.p95_s * 1e3, stats.p99_s * 1e3)


@returned_type
@dataclass(frozen=True)
class FidelityRow:
    """One measured configuration, in milliseconds and fractions."""

    name: str
    label: str
    topology: str
    delivered: int
    failed: int
    measured_ms: Quartet
    predicted_ms: dict[str, Quartet]  # model -> sample-matched figures
    predicted_full_ms: dict[str, Quartet]  # model -> over the whole trace
    mean_error: dict[str, float]  # model -> relative error of the mean
    p99_error: dict[str, float]
    measured_accuracy: float
    predicted_accuracy: float
    predicted_accuracy_full: float
    planner_accuracy: float
    measured_exit_rates: tuple[float, ...]
    predicted_exit_rates: tuple[float, ...]
    predicted_exit_rates_full: tuple[float, ...]
    exit_agreement: float

    @property
    def max_exit_rate_gap(self) -> float:
        pairs = zip(self.measured_exit_rates, self.predicted_exit_rates, strict=True)
        return max(abs(a - b) for a, b in pairs)


@returned_type
@dataclass(frozen=True)
class FidelityInfo:
    """What the fidelity report shows."""

    models: tuple[str, ...]
    rows: tuple[FidelityRow, ...]
    errors: tuple[ModelErrors, ...]
    calibration: dict[str, Any] | None
    trace_source: str
    before: str  # model drawn as "before" in the plot
    after: str  # and as "after"


def _row(c: Comparison) -> FidelityRow:
    return FidelityRow(
        name=c.name,
        label=c.label,
        topology=c.topology,
        delivered=c.delivered,
        failed=c.failed,
        measured_ms=_ms(c.measured),
        predicted_ms={f.model: _ms(f.matched) for f in c.models},
        predicted_full_ms={f.model: _ms(f.full) for f in c.models},
        mean_error={f.model: f.mean_error for f in c.models},
        p99_error={f.model: f.p99_error for f in c.models},
        measured_accuracy=c.measured_accuracy,
        predicted_accuracy=c.predicted_accuracy,
        predicted_accuracy_full=c.predicted_accuracy_full,
        planner_accuracy=c.planner_accuracy,
        measured_exit_rates=tuple(float(e) for e in c.measured_exit_rates),
        predicted_exit_rates=tuple(float(e) for e in c.predicted_exit_rates),
        predicted_exit_rates_full=tuple(float(e) for e in c.predicted_exit_rates_full),
        exit_agreement=c.exit_agreement,
    )


@validate_params(
    {
        "summary": [InstanceOf(FidelitySummary)],
    }
)
def fidelity_info(summary: FidelitySummary) -> FidelityInfo:
    """Compute the report's content from a summary (``compare_many``)."""
    models = tuple(e.model for e in summary.errors)
    return FidelityInfo(
        models=models,
        rows=tuple(_row(c) for c in summary.comparisons),
        errors=summary.errors,
        calibration=None if summary.calibration is None else summary.calibration.to_dict(),
        trace_source=summary.trace_source,
        before="paper",
        after="calibrated" if "calibrated" in models else "runtime-timed",
    )


def _pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


@validate_params(
    {
        "info": [InstanceOf(FidelityInfo)],
    }
)
def fidelity_markdown(info: FidelityInfo) -> str:
    """Markdown tables: per configuration (latency, accuracy, exits), then errors per model."""
    lines = [
        "| configuration | measured mean / p50 / p95 / p99 (ms) | "
        + " | ".join(f"{m} mean / p99 (ms, error)" for m in info.models)
        + " |"
    ]
    lines.append("|" + "---|" * (2 + len(info.models)))
    for row in info.rows:
        cells = [
            f"{row.name}: {row.label} ({row.topology})",
            " / ".join(f"{v:.1f}" for v in row.measured_ms),
        ]
        for m in info.models:
            if m in row.predicted_ms:
                pred = row.predicted_ms[m]
                cells.append(
                    f"{pred[0]:.1f} ({_pct(row.mean_error[m])}) / "
                    f"{pred[3]:.1f} ({_pct(row.p99_error[m])})"
                )
            else:
                cells.append("-")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| configuration | accuracy measured / predicted (same rows) / planner | "
        "exit rates measured | predicted | exit agreement | delivered (failed) |",
        "|---|---|---|---|---|---|",
    ]
    for row in info.rows:
        lines.append(
            f"| {row.name} | {row.measured_accuracy:.2%} / {row.predicted_accuracy:.2%} / "
            f"{row.planner_accuracy:.2%} | "
            + ", ".join(f"{e:.3f}" for e in row.measured_exit_rates)
            + " | "
            + ", ".join(f"{e:.3f}" for e in row.predicted_exit_rates)
            + " | "
            f"{row.exit_agreement:.2%} | {row.delivered} ({row.failed}) |"
        )
    lines += [
        "",
        f"| model | configurations | MAPE of mean (target {MEAN_TARGET:.0%}) | max "
        f"| mean abs. p99 error | max (target {P99_TARGET:.0%}) | meets targets |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in info.errors:
        lines.append(
            f"| {e.model} | {e.configurations} | {e.mean_ape:.2%} | {e.max_mean_ape:.2%} | "
            f"{e.p99_ape:.2%} | {e.max_p99_ape:.2%} | {'yes' if e.meets_targets else 'no'} |"
        )
    if info.calibration is not None:
        c = info.calibration
        lines += [
            "",
            f"Calibrated model ({c['compute']} compute; fitted on all {len(c['fitted_on'])} "
            "files, for reading: each row's calibrated figures were fitted on the others): "
            f"input {c['input_s'] * 1e3:.3f} ms (no link: {c['input_local_s'] * 1e3:.3f} ms), "
            f"result {c['result_s'] * 1e3:.3f} ms (no link: {c['result_local_s'] * 1e3:.3f} ms), "
            "forward "
            f"{c['forward_s'] * 1e3:.3f} ms + {c['per_bit_s'] * 1e9:.3f} ns per bit, per call "
            f"{c['call_s'] * 1e3:.3f} ms {c['call_scale']:+.4f} x R t; every message "
            f"{c.get('idle_scale', 0.0):.3f} ms more per ms of cycle up to 10 ms "
            f"(pause {c.get('pause_s', 0.0) * 1e3:.2f} ms); residual p50 "
            f"{c['jitter_quantiles_s']['p50'] * 1e3:.3f} ms, p99 "
            f"{c['jitter_quantiles_s']['p99'] * 1e3:.3f} ms.",
        ]
    return "\n".join(lines) + "\n"


@validate_params(
    {
        "info": [InstanceOf(FidelityInfo)],
    }
)
def fidelity_json(info: FidelityInfo) -> dict[str, Any]:
    """The report as a JSON-ready dict (seconds become milliseconds as in the tables)."""
    rows = []
    for row in info.rows:
        rows.append(
            {
                "file": row.name,
                "configuration": row.label,
                "topology": row.topology,
                "delivered": row.delivered,
                "failed": row.failed,
                "measured_ms": dict(
                    zip(("mean", "p50", "p95", "p99"), row.measured_ms, strict=True)
                ),
                "predicted_ms": {
                    m: dict(zip(("mean", "p50", "p95", "p99"), v, strict=True))
                    for m, v in row.predicted_ms.items()
                },
                "predicted_full_trace_ms": {
                    m: dict(zip(("mean", "p50", "p95", "p99"), v, strict=True))
                    for m, v in row.predicted_full_ms.items()
                },
                "mean_error": row.mean_error,
                "p99_error": row.p99_error,
                "accuracy": {
                    "measured": row.measured_accuracy,
                    "predicted": row.predicted_accuracy,
                    "predicted_full_trace": row.predicted_accuracy_full,
                    "planner": row.planner_accuracy,
                },
                "exit_rates": {
                    "measured": list(row.measured_exit_rates),
                    "predicted": list(row.predicted_exit_rates),
                    "predicted_full_trace": list(row.predicted_exit_rates_full),
                },
                "exit_agreement": row.exit_agreement,
            }
        )
    return {
        "trace_source": info.trace_source,
        "targets": {"mean_mape": MEAN_TARGET, "p99_error": P99_TARGET},
        "configurations": rows,
        "errors": [
            {
                "model": e.model,
                "configurations": e.configurations,
                "mean_mape": e.mean_ape,
                "mean_max_ape": e.max_mean_ape,
                "p99_mean_ape": e.p99_ape,
                "p99_max_ape": e.max_p99_ape,
                "meets_targets": e.meets_targets,
            }
            for e in info.errors
        ],
        "calibration": info.calibration,
    }


@validate_params(
    {
        "info": [InstanceOf(FidelityInfo)],
        "path": [PathLike()],
    }
)
def render_fidelity_plot(info: FidelityInfo, path: Path) -> None:
    """Predicted against measured mean and p99 latency, before and after; PNG, SVG or PDF by
    ``path``'s extension, written atomically."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    fig = new_figure(10, 4.8)
    axes = fig.subplots(1, 2)
    for ax, stat, name, band in (
        (axes[0], 0, "mean", MEAN_TARGET),
        (axes[1], 3, "p99", P99_TARGET),
    ):
        measured = np.array([row.measured_ms[stat] for row in info.rows])
        values = [measured]
        for model, marker in ((info.before, "o"), (info.after, "^")):
            rows = [r for r in info.rows if model in r.predicted_ms]
            x = np.array([r.measured_ms[stat] for r in rows])
            y = np.array([r.predicted_ms[model][stat] for r in rows])
            values.append(y)
            kind = "before" if model == info.before else "after"
            ax.scatter(x, y, marker=marker, s=28, label=f"{model} ({kind})", alpha=0.8)
        every = np.concatenate(values)
        lo, hi = float(every.min()) * 0.9, float(every.max()) * 1.1
        line = np.array([lo, hi])
        ax.plot(line, line, color="black", linewidth=1, label="y = x")
        ax.fill_between(
            line,
            line * (1 - band),
            line * (1 + band),
            color="gray",
            alpha=0.15,
            label=f"±{band:.0%}",
        )
        if hi / max(lo, 1e-12) > 30:
            ax.set_xscale("log")
            ax.set_yscale("log")
            for axis in (ax.xaxis, ax.yaxis):  # decades only: minor labels collide
                axis.set_minor_formatter(NullFormatter())
                axis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel(f"measured {name} latency (ms)")
        ax.set_ylabel(f"predicted {name} latency (ms)")
        ax.set_title(f"{name} latency, {len(info.rows)} configurations")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    save_figure(fig, path)
