"""Concurrent closed-loop clients: the queueing the testbed produces against its prediction.

Runs ``examples/fidelity-iot-netns-clients.yaml`` (``splitexit run``: plan, export, measure)
once per client count N, with ``--samples`` samples per client (N x that in all) on
``--network`` (netns needs root), into ``OUT/<network>-c<N>``; then, per configuration and
N, compares the measured mean latency with ``fidelity.predict_queueing`` (the one-sample
model's paths replayed through the shared tiers and links by N closed-loop clients) for the
paper, runtime-timed and calibrated models. The calibrated model of a configuration is fitted
on the one-client runs of the *other* configurations (so it has seen neither this
configuration nor any queueing). ``one-client`` replays the same configuration's one-client
measurement instead of a model (its mean latency per exit, how its samples varied around it,
and its think time) with the calls holding their tier for the predicted run's measured
service times (``busy_s``, the lock wait excluded): it checks the queueing alone. Also
printed: the measured queueing (mean at N minus mean at 1) against the predicted waiting,
and the driver's think time (a client's next send minus its previous result's arrival).

Run (about 1 min per N on netns):

    PYTHONPATH=src .venv/bin/python benchmarks/bench_clients.py --network netns \
        --clients 1 2 4 --out runs/clients

``--analyse`` skips the runs and reads ``OUT/<network>-c<N>/measurements/*.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from splitexit.fidelity import FidelityCase, calibrate, load_cases, predict_queueing

EXPERIMENT = Path(__file__).parent.parent / "examples" / "fidelity-iot-netns-clients.yaml"
MODELS = ("paper", "runtime-timed", "calibrated", "one-client")


def run(network: str, clients: int, samples: int, configurations: int, out: Path) -> None:
    from splitexit.experiment import load_experiment, run_experiment

    base = load_experiment(EXPERIMENT)
    measure = base.measure.model_copy(
        update={
            "clients": clients,
            "samples": samples * clients,
            "network": network,
            "configurations": configurations,
        }
    )
    experiment = base.model_copy(
        update={"measure": measure, "name": f"{base.name}-{network}-c{clients}"}
    )
    print(f"-- {network}, {clients} client(s), load {Path('/proc/loadavg').read_text().strip()}")
    run_experiment(experiment, out, say=lambda text: None)


def cases_of(folder: Path) -> dict[str, FidelityCase]:
    files = sorted((folder / "measurements").glob("*.json"))
    return {case.measurement.label_text(): case for case in load_cases(files)}


def think_s(case: FidelityCase) -> float:
    """Mean time from a result's arrival to the same client's next send (s)."""
    m = case.measurement
    if m.client is None or m.sent_s is None or m.received_s is None:
        return float("nan")
    gaps = []
    for c in np.unique(m.client):
        mine = np.flatnonzero((m.client == c) & m.delivered)
        order = mine[np.argsort(m.sent_s[mine])]
        gaps.extend((m.sent_s[order[1:]] - m.received_s[order[:-1]]).tolist())
    return float(np.mean(gaps)) if gaps else float("nan")


def residuals_per_exit(case: FidelityCase) -> list[list[float]]:
    """Measured latency minus its exit's mean, per exit: how one client's samples vary."""
    m = case.measurement
    pools = []
    for e in range(m.num_partitions):
        mine = m.latency_s[m.delivered & (m.exit == e)]
        pools.append((mine - mine.mean()).tolist() if mine.size else [])
    return pools


def busy_per_partition(case: FidelityCase) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Measured mean time each partition's call held its tier (``busy_s``, lock wait
    excluded): the service time, not the queueing."""
    m = case.measurement
    return np.array(
        [
            m.busy_s[m.hop_partition == k].mean() if (m.hop_partition == k).any() else np.nan
            for k in range(m.num_partitions)
        ]
    )


def alone_per_exit(single: FidelityCase, case: FidelityCase) -> list[float]:
    """The one-client run's mean latency of the samples leaving at each partition (NaN: none
    did), its compute swapped for the predicted run's (the reference time, measured at each
    deploy, moves from run to run on a loaded machine)."""
    m = single.measurement
    swap = np.cumsum(np.nan_to_num(busy_per_partition(case) - busy_per_partition(single)))
    return [
        float(m.latency_s[m.delivered & (m.exit == e)].mean() + swap[e])
        if (m.delivered & (m.exit == e)).any()
        else float("nan")
        for e in range(m.num_partitions)
    ]


def _hold(single: FidelityCase, case: FidelityCase) -> list[float]:
    """Service times of the predicted run where measured, else the one-client run's."""
    mine, alone = busy_per_partition(case), busy_per_partition(single)
    return np.where(np.isnan(mine), alone, mine).tolist()  # type: ignore[no-any-return]


def _pause(anchor: FidelityCase | None) -> float:
    pause = float("nan") if anchor is None else think_s(anchor)
    return pause if pause > 0 else 0.0


def analyse(runs: dict[int, dict[str, FidelityCase]]) -> list[dict[str, Any]]:
    single = runs.get(1, {})
    rows = []
    for n, cases in sorted(runs.items()):
        for label, case in cases.items():
            others = [c for name, c in single.items() if name != label]
            calibration = calibrate(others) if others else None
            measured = float(np.nanmean(case.measurement.latency_s))
            row: dict[str, Any] = {"clients": n, "configuration": label, "measured_s": measured}
            for model in MODELS:
                if (model == "calibrated" and calibration is None) or (
                    model == "one-client" and label not in single
                ):
                    continue
                anchor = single[label] if model == "one-client" else None
                q = predict_queueing(
                    case,
                    compute="paper" if model == "paper" else "runtime",
                    calibration=calibration if model == "calibrated" else None,
                    clients=n,
                    alone_s=None if anchor is None else alone_per_exit(anchor, case),
                    hold_s=None if anchor is None else _hold(anchor, case),
                    think_s=_pause(anchor),
                    residual_s=None if anchor is None else residuals_per_exit(anchor),
                )
                row[model] = {"mean_s": q.mean_s, "alone_s": float(q.alone_s.mean())}
                row[model]["wait_s"] = q.wait_s
                busiest = int(np.argmax(q.utilization))
                row[model]["busiest"] = f"{q.resources[busiest]} {q.utilization[busiest]:.0%}"
            if label in single:
                row["measured_queueing_s"] = measured - float(
                    np.nanmean(single[label].measurement.latency_s)
                )
            row["think_s"] = think_s(case)
            rows.append(row)
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    print(
        "| N | configuration | measured (ms) | paper (ms, err) | runtime-timed (ms, err) | "
        "calibrated (ms, err) | one-client (ms, err) | queueing measured / predicted (ms) | "
        "busiest (predicted) | think (ms) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cells = []
        for model in MODELS:
            if model in r:
                p = r[model]["mean_s"]
                cells.append(f"{p * 1e3:.1f} ({p / r['measured_s'] - 1:+.1%})")
            else:
                cells.append("-")
        model = "one-client" if "one-client" in r else "runtime-timed"
        queue = r.get("measured_queueing_s")
        queue_text = "-" if queue is None else f"{queue * 1e3:+.2f}"
        print(
            f"| {r['clients']} | {r['configuration']} | {r['measured_s'] * 1e3:.1f} | "
            + " | ".join(cells)
            + f" | {queue_text} / {r[model]['wait_s'] * 1e3:+.2f} | {r[model]['busiest']} | "
            f"{r['think_s'] * 1e3:.2f} |"
        )
    print()
    print("| N | model | MAPE of mean | max | within 15% |")
    print("|---|---|---|---|---|")
    for n in sorted({r["clients"] for r in rows}):
        mine = [r for r in rows if r["clients"] == n]
        for model in MODELS:
            errors = [abs(r[model]["mean_s"] / r["measured_s"] - 1) for r in mine if model in r]
            if errors:
                within = sum(e <= 0.15 for e in errors)
                print(
                    f"| {n} | {model} | {np.mean(errors):.1%} | {max(errors):.1%} | "
                    f"{within} of {len(errors)} |"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", choices=("netns", "emulated"), default="netns")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--samples", type=int, default=200, help="samples per client")
    parser.add_argument("--configurations", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("runs/clients"))
    parser.add_argument("--analyse", action="store_true", help="only read earlier runs")
    parser.add_argument("--json", type=Path, help="write the rows here")
    args = parser.parse_args()
    if any(n < 1 for n in args.clients):
        parser.error("--clients must be >= 1")
    folders = {n: args.out / f"{args.network}-c{n}" for n in args.clients}
    if not args.analyse:
        for n, folder in folders.items():
            run(args.network, n, args.samples, args.configurations, folder)
        print(f"load average after the runs: {Path('/proc/loadavg').read_text().strip()}")
    rows = analyse({n: cases_of(folder) for n, folder in folders.items()})
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
