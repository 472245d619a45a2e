"""Kendall's tau of a study's predictions with and without the per-message term (docs/study.md).

A study run whose topology declares ``overheads`` predicts every strategy with them
(``RuntimeExecutor.predictions``). This script reads the run's folder (``report.md``'s
"Predicted against measured" table and ``latencies.csv``), takes the per-message cost of each
strategy's messages back out (``message_costs`` with and without the topology's overheads,
on the strategy's path: mobile source, its tiers, mobile destination; k pieces send k + 1
messages) and prints Kendall's tau (scipy, tau-b) of the predicted against the measured
medians, both ways, on the same measurements. It also fits the term on the study itself,
once per fold and never on a predicted strategy: the strategies of one subject are predicted
with a term fitted (``least_absolute``, as ``fit_overheads`` does) on the other subject's
residuals (measured median - predicted median without the term) against their messages and
links crossed. It also prints Kendall's tau between the strategies' medians of each pair of
repetitions: how well the measurement ranks the strategies against itself, a ceiling for
any prediction.

Run: ``PYTHONPATH=src python benchmarks/bench_study_overheads.py STUDY.yaml OUT_DIR``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from splitexit.fidelity._overheads import least_absolute
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


def repetition_taus(latencies: Path) -> list[float]:
    """Kendall's tau between the strategies' medians of each pair of repetitions: how well
    the measurement ranks the strategies against itself (a ceiling for the prediction)."""
    from scipy.stats import kendalltau

    from splitexit.study._recommend import repetition_medians

    reps = repetition_medians(latencies)
    count = min(len(v) for v in reps.values())
    keys = sorted(reps)
    return [
        float(kendalltau([reps[k][a] for k in keys], [reps[k][b] for k in keys]).statistic)
        for a, b in itertools.combinations(range(count), 2)
    ]


def strategy_path(study: Any, label: str) -> list[int]:
    """Tier indices a strategy's messages visit: the source, its tiers, the destination."""
    topo = study.topology
    tiers = study.tier_names(label.split("@")[1])
    return [topo.source, *(topo.tier_index(t) for t in tiers), topo.destination]


def path_shape(path: list[int]) -> tuple[int, int]:
    """(messages sent, links crossed) along a path of tier indices."""
    return len(path) - 1, sum(abs(a - b) for a, b in itertools.pairwise(path))


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
    shape: dict[str, tuple[int, int]] = {}  # messages, links crossed
    for label, value in after.items():
        path = strategy_path(study, label)
        bits = [0.0] * (len(path) - 1)  # the overheads do not depend on the size
        extra = sum(message_costs(topo, path, bits)) - sum(message_costs(plain, path, bits))
        before[label] = value - extra
        shape[label] = path_shape(path)
    folded: dict[str, float] = {}
    subjects = sorted({k.split(" ")[0] for k in after})
    for subject in subjects if len(subjects) > 1 else ():  # a fold needs another subject
        train = [k for k in after if not k.startswith(subject + " ")]
        residual = np.array([measured[k] - before[k] for k in train])
        counts = np.array([shape[k] for k in train], dtype=np.float64)
        per_message, per_hop = least_absolute(residual, counts[:, 0], counts[:, 1])
        print(
            f"fitted on the other subjects for {subject}: per message "
            f"{per_message * 1e3:.3f} ms, per link {per_hop * 1e3:.3f} ms"
        )
        for k in after:
            if k.startswith(subject + " "):
                folded[k] = before[k] + per_message * shape[k][0] + per_hop * shape[k][1]
    print(
        f"topology {topo.name}: per message {topo.overheads.per_message * 1e3:.3f} ms, "
        f"per link {topo.overheads.per_hop * 1e3:.3f} ms"
    )
    keys = {k: Strategy(k.split(" ")[0], *k.split(" ")[1].split("@")) for k in after}
    meas = {keys[k]: measured[k] for k in after}
    tables = [("without the term", before), ("with the term", after)]
    if len(subjects) > 1:
        tables.append(("fitted per subject fold", folded))
    taus = repetition_taus(args.out / "latencies.csv")
    if taus:
        print(
            f"the measurement against itself: Kendall's tau between repetition medians "
            f"{min(taus):.3f}-{max(taus):.3f} (median {np.median(taus):.3f}, {len(taus)} pairs)"
        )
    for name, table in tables:
        tau, p = kendall_tau({keys[k]: v for k, v in table.items()}, meas)
        errors = [abs(table[k] - measured[k]) / measured[k] for k in table]
        print(
            f"{name:24s} Kendall's tau {tau:.3f} (p = {p:.2g}); median |error| of the "
            f"medians {np.median(errors):.0%}"
        )


if __name__ == "__main__":
    main()
