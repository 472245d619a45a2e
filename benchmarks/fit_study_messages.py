"""Fit the study network's per-message term on a calibration run's hop breakdown.

Once per network, on a run of its own (never the study run it then predicts). Each of the
study's strategies is deployed as the study deploys it (``RuntimeExecutor``: fresh local
workers, the sleep stretch, the emulated links), warmed up, then timed on ``--inferences``
samples. Every result carries its hops, so the time no model term explains is measured
directly, sample by sample::

    residual = latency - sum(busy_s) - sum(link_s) - input_link_s

``busy_s`` is each tier's compute with its stretch, ``link_s`` the emulated link charges
the model already predicts. What is left is the runtime's cost of the messages (gRPC, the
sink, the client), which ``Topology.message_s`` models as ``per_message * messages +
per_hop * links crossed``. The per-strategy medians of the residual are fitted by least
absolute deviations (both >= 0, as ``fit_overheads`` does), and the topology of
``STUDY.yaml`` with that ``overheads`` section is written to ``--out``. Fitting the residual
of the breakdown, not of the whole latency, keeps the compute stretch's noise (its reference
time, the sleeps' wake-up) out of the term.

Run: ``PYTHONPATH=src python benchmarks/fit_study_messages.py STUDY.yaml --out FITTED.yaml
[--inferences 40] [--warmup 20] [--csv residuals.csv]``.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from bench_study_overheads import path_shape, strategy_path
from splitexit.fidelity._overheads import least_absolute
from splitexit.study import load_study
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._schedule import Strategy
from splitexit.topology import Overheads


def residuals(
    executor: RuntimeExecutor, strategy: Strategy, warmup: int, count: int
) -> list[float]:
    """Seconds per sample that neither the stretched compute nor the link charges explain."""
    executor.restart(strategy)
    chain = executor._chain
    data = executor.samples[strategy.subject]
    name = next(iter(data.feeds[0]))
    out = []
    for i in range(warmup + count):
        record = chain.infer(i, data.feeds[i % len(data.feeds)][name][0], 0)  # type: ignore[attr-defined]
        if record.latency_s is None:
            raise SystemExit(f"{strategy.label}: sample {i} failed: {record.reason}")
        if i >= warmup:
            hops = sum(h["busy_s"] + h["link_s"] for h in record.hops)
            out.append(record.latency_s - hops - record.input_link_s)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--inferences", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--csv", type=Path, help="write each strategy's median residual here")
    args = parser.parse_args()
    study = load_study(args.study)
    topo = study.topology
    rows: list[tuple[str, int, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        executor = RuntimeExecutor(study, Path(tmp))
        try:
            for subject in study.subjects:
                for op, tiers in study.cells:
                    strategy = Strategy(subject, op, tiers)
                    found = residuals(executor, strategy, args.warmup, args.inferences)
                    label = f"{subject} {op}@{tiers}"
                    sent, crossed = path_shape(strategy_path(study, label))
                    rows.append((label, sent, crossed, statistics.median(found)))
                    print(f"{label}: {sent} messages, {crossed} links, residual "
                          f"{rows[-1][3] * 1e3:.3f} ms", flush=True)  # fmt: skip
        finally:
            executor.close()
    table = np.array([r[1:] for r in rows], dtype=np.float64)
    per_message, per_hop = least_absolute(table[:, 2], table[:, 0], table[:, 1])
    note = (
        f"fitted by benchmarks/fit_study_messages.py on the hop breakdown of {len(rows)} "
        f"strategies x {args.inferences} samples (latency - busy - link charges)"
    )
    fitted = replace(topo, overheads=Overheads(per_message=per_message, per_hop=per_hop, note=note))
    args.out.write_text(yaml.safe_dump(fitted.to_mapping(), sort_keys=False), encoding="utf-8")
    if args.csv is not None:
        with args.csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["strategy", "messages", "links", "residual_s"])
            writer.writerows(rows)
    print(f"per message {per_message * 1e3:.3f} ms, per link {per_hop * 1e3:.3f} ms -> {args.out}")


if __name__ == "__main__":
    main()
