"""Kendall's tau of a study's predictions with and without the per-message term (docs/study.md).

A study run whose topology declares ``overheads`` predicts every strategy with them
(``RuntimeExecutor.predictions``). This script reads the run's folder (``report.md``'s
"Predicted against measured" table and ``latencies.csv``), takes the per-message cost of each
strategy's messages back out (``message_costs`` with and without the topology's overheads,
on the strategy's path: mobile source, its tiers, mobile destination; k pieces send k + 1
messages) and prints Kendall's tau (scipy, tau-b) of the predicted against the measured
medians, both ways, on the same measurements.

Run: ``PYTHONPATH=src python benchmarks/bench_study_overheads.py STUDY.yaml OUT_DIR``.
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

from splitexit.study import load_study
from splitexit.study._executor import message_costs
from splitexit.study._predict import kendall_tau
from splitexit.study._schedule import Strategy
from splitexit.topology import Overheads


def predicted_medians(report: Path) -> dict[str, float]:
    """Strategy label -> predicted median (s) from the report's table."""
    found: dict[str, float] = {}
    lines = report.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Predicted against measured")
    for line in lines[start:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 7 and "@" in cells[0]:
            found[cells[0]] = float(cells[1])
    return found


def measured_medians(latencies: Path) -> dict[str, float]:
    values: dict[str, list[float]] = defaultdict(list)
    with latencies.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            label = f"{row['subject']} {row['operator']}@{row['tiers']}"
            values[label].append(float(row["latency_s"]))
    return {k: float(np.median(v)) for k, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    study = load_study(args.study)
    topo = study.topology
    plain = replace(topo, overheads=Overheads())
    after = predicted_medians(args.out / "report.md")
    measured = measured_medians(args.out / "latencies.csv")
    before: dict[str, float] = {}
    for label, value in after.items():
        tiers = label.split("@")[1]
        idx = [topo.tier_index(t) for t in study.tier_names(tiers)]
        path = [topo.source, *idx, topo.destination]
        bits = [0.0] * (len(path) - 1)  # the overheads do not depend on the size
        extra = sum(message_costs(topo, path, bits)) - sum(message_costs(plain, path, bits))
        before[label] = value - extra
    print(
        f"topology {topo.name}: per message {topo.overheads.per_message * 1e3:.3f} ms, "
        f"per link {topo.overheads.per_hop * 1e3:.3f} ms"
    )
    keys = {k: Strategy(k.split(" ")[0], *k.split(" ")[1].split("@")) for k in after}
    meas = {keys[k]: measured[k] for k in after}
    for name, table in (("without the term", before), ("with the term", after)):
        tau, p = kendall_tau({keys[k]: v for k, v in table.items()}, meas)
        errors = [abs(table[k] - measured[k]) / measured[k] for k in table]
        print(
            f"{name:18s} Kendall's tau {tau:.3f} (p = {p:.2g}); median |error| of the "
            f"medians {np.median(errors):.0%}"
        )


if __name__ == "__main__":
    main()
