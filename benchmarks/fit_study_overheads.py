"""Fit the study network's per-message term on earlier study runs and write a topology.

Once per network, never on the run it then predicts: each earlier run's folder gives, per
strategy, the measured median (``latencies.csv``) and the prediction without the term
(``report.md``, made with a topology that declares no ``overheads``); the residual is fitted
as ``per_message * messages + per_hop * links crossed`` by least absolute deviations (both
>= 0, as ``splitexit fidelity-overheads`` does on testbed measurements). The topology of
``STUDY.yaml`` with the fitted section is written to ``--out``; a later study names that file
as its ``topology``.

Run: ``PYTHONPATH=src python benchmarks/fit_study_overheads.py STUDY.yaml RUN_DIR...
--out FITTED.yaml``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from bench_study_overheads import (
    measured_medians,
    path_shape,
    predicted_medians,
    strategy_path,
)
from splitexit.fidelity._overheads import least_absolute
from splitexit.study import load_study
from splitexit.topology import Overheads


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("runs", type=Path, nargs="+", help="earlier study output folders")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    study = load_study(args.study)
    topo = study.topology
    residual: list[float] = []
    messages: list[float] = []
    links: list[float] = []
    for run in args.runs:
        predicted = predicted_medians(run / "report.md")
        measured = measured_medians(run / "latencies.csv")
        for label, value in predicted.items():
            if label not in measured:
                continue
            sent, crossed = path_shape(strategy_path(study, label))
            residual.append(measured[label] - value)
            messages.append(sent)
            links.append(crossed)
    per_message, per_hop = least_absolute(
        np.array(residual), np.array(messages, dtype=np.float64), np.array(links, dtype=np.float64)
    )
    note = (
        f"fitted by benchmarks/fit_study_overheads.py on {len(residual)} strategy medians of "
        f"{len(args.runs)} earlier run(s): {', '.join(p.name for p in args.runs)}"
    )
    fitted = replace(topo, overheads=Overheads(per_message=per_message, per_hop=per_hop, note=note))
    args.out.write_text(yaml.safe_dump(fitted.to_mapping(), sort_keys=False), encoding="utf-8")
    print(f"per message {per_message * 1e3:.3f} ms, per link {per_hop * 1e3:.3f} ms -> {args.out}")


if __name__ == "__main__":
    main()
