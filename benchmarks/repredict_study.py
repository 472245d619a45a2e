"""Kendall's tau of a study run's measured medians against predictions made now, in either
compute mode, on the same measurements (docs/study.md, Session 11b).

Builds the study's variants (``RuntimeExecutor``), times them as a study does
(``predictions``), once with the sleep stretch's model (piece time x compute ratio) and once
with the CPU-quota staircase (whole CFS periods on the confined tiers), and prints Kendall's
tau (scipy, tau-b) of each against every run folder's measured strategy medians
(``latencies.csv``; the planner's extra strategies are not predicted and left out).

Run: ``PYTHONPATH=src python benchmarks/repredict_study.py STUDY.yaml RUN_DIR...``
(from the study file's folder when its paths are relative).
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

from splitexit.study import load_study
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._predict import kendall_tau
from splitexit.study._schedule import Strategy


def measured_medians(run: Path) -> dict[Strategy, float]:
    values: dict[Strategy, list[float]] = defaultdict(list)
    with (run / "latencies.csv").open() as f:
        for row in csv.DictReader(f):
            key = Strategy(row["subject"], row["operator"], row["tiers"])
            values[key].append(float(row["latency_s"]))
    return {k: float(np.median(v)) for k, v in values.items()}


def _num(value: float | None, spec: str) -> str:
    return "undefined" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args()
    study = load_study(args.study)
    with tempfile.TemporaryDirectory(prefix="repredict-") as tmp:
        executor = RuntimeExecutor(study, Path(tmp), compute_mode="cpu-quota")
        models = {"cpu-quota staircase": executor.predictions()}
        executor.compute_mode = "sleep"
        models["compute x ratio (sleep)"] = executor.predictions()
    for run in args.runs:
        measured = measured_medians(run)
        for name, predictions in models.items():
            predicted = {s: p.median_s for s, p in predictions.items() if s in measured}
            tau, p = kendall_tau(predicted, {s: measured[s] for s in predicted})
            errors = [abs(predicted[s] / measured[s] - 1) for s in predicted]
            print(
                f"{run}: {name}: Kendall's tau {_num(tau, '.3f')} (p = {_num(p, '.2g')}) over "
                f"{len(predicted)} "
                f"strategies; median |error| of the medians {100 * np.median(errors):.0f}%"
            )


if __name__ == "__main__":
    main()
