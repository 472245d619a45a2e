"""A testbed measurement printed with rich: the configuration, then latency, accuracy, exits."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from splitexit._validation import (
    InstanceOf,
    validate_params,
)
from splitexit.units import format_duration as format_latency

__all__ = ["print_measurement"]


@validate_params(
    {
        "console": [InstanceOf(Console)],
        "measurement": [InstanceOf(dict)],
    }
)
def print_measurement(console: Console, measurement: Mapping[str, Any]) -> None:
    """One table of the measured figures; failures are listed with their reasons."""
    config, summary = measurement["config"], measurement["summary"]
    threshold = config["thresholds"] if config["thresholds"] is not None else config["threshold"]
    console.print(
        f"[bold]{measurement['profile']}[/] on [bold]{measurement['topology']}[/]: "
        f"T={threshold}, P={config['partition']}, A={config['placement']}, "
        f"compute {measurement['compute_mode']}",
        highlight=False,
    )
    table = Table(title="Measured on the testbed")
    for name in ("samples", "delivered", "mean", "p50", "p95", "p99", "accuracy", "exit rates"):
        table.add_column(name, justify="right")
    rates = ", ".join(f"{k}: {v:.1%}" for k, v in summary["exit_rates"].items())

    def latency(key: str) -> str:
        value = summary[key]
        return "-" if value is None else format_latency(value)

    table.add_row(
        str(summary["samples"]),
        str(summary["delivered"]),
        latency("mean_s"),
        latency("p50_s"),
        latency("p95_s"),
        latency("p99_s"),
        "-" if summary["accuracy"] is None else f"{summary['accuracy']:.2%}",
        rates or "-",
    )
    console.print(table)
    reasons: dict[str, int] = {}
    for sample in measurement["samples"]:
        if sample["status"] != "delivered":
            reasons[sample["reason"]] = reasons.get(sample["reason"], 0) + 1
    for reason, count in reasons.items():
        console.print(f"[red]{count} failed[/]: {reason}", highlight=False)
