"""Model terms, before and after, on the same measurements (docs/fidelity.md, "Terms").

Loads measurement files and predicts each configuration with the paper's and the
runtime-timed formulas (the trace replay of ``splitexit fidelity``), then with candidate
terms added one at a time, and prints, per model, the MAPE of the mean, the mean and largest
absolute p99 error and how many configurations are within 10% at p99, uncalibrated first:

- ``+ per-message``: ``Topology.overheads`` fitted by ``fit_overheads`` (in the model);
- ``+ tbf burst``: a candidate, *not* in the model: on an idle kernel-shaped link the first
  ``burst_bytes`` of a message leave at once (the token bucket is full), so a message of b
  bits crossing link j costs max(0, b - B_j) / BW_j instead of b / BW_j, B_j the testbed's
  bucket in payload bits (``runtime/_shaping.py``); netns measurements made before the
  testbed charged the bucket's credit at the receiver (their hops lack ``receive_s``) only;
- ``+ tbf burst + per-message``: the per-message term fitted after the burst credit.

Every fit is made once per fold and never on a predicted configuration:

- ``--predict GLOB --fit GLOB``: fit on one set (e.g. another preset on the same network);
- ``--predict GLOB --folds K``: file i is in fold i mod K; each fold is predicted by a fit on
  the others.

Run: ``PYTHONPATH=src python benchmarks/bench_overheads.py --predict
'runs/x/measurements/*.json' --folds 2``.
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from splitexit.fidelity import FidelityCase, fit_overheads, load_cases, predict_samples
from splitexit.fidelity._overheads import least_absolute, sample_residuals
from splitexit.runtime._shaping import WIRE_PER_PAYLOAD, burst_bytes
from splitexit.topology import Overheads

FloatArray = npt.NDArray[np.float64]
COMPUTE = {"paper": "paper", "runtime-timed": "runtime"}


def burst_credit(case: FidelityCase) -> FloatArray:
    """(L,): what the token buckets save a sample leaving at each partition (<= 0)."""
    if case.measurement.network != "netns" or case.measurement.receive_s is not None:
        return np.zeros(case.measurement.num_partitions)  # no bucket, or already charged
    topo, m = case.topology, case.measurement
    bucket = [
        8.0 * burst_bytes(link.bandwidth * WIRE_PER_PAYLOAD) / WIRE_PER_PAYLOAD
        for link in topo.links
    ]

    def credit(bits: float, a: int, b: int) -> float:
        return -sum(
            min(bits, bucket[j]) / topo.links[j].bandwidth for j in range(min(a, b), max(a, b))
        )

    tiers = list(case.deployment.placement)
    src, dst = topo.source, topo.destination
    forwards = [
        credit(float(p.activation_bits or 0.0), tiers[k], tiers[k + 1])
        for k, p in enumerate(m.partitions[:-1])
    ]
    before = np.concatenate([[0.0], np.cumsum(forwards)])
    results = np.array(
        [credit(p.result_bits, t, dst) for p, t in zip(m.partitions, tiers, strict=True)]
    )
    return np.asarray(credit(m.input_bits, src, tiers[0]) + before + results, np.float64)


def fit_after_burst(cases: Sequence[FidelityCase]) -> Overheads:
    """The per-message term fitted on what is left once the burst credit is charged."""
    means = []
    for case in cases:
        found = sample_residuals(case)
        m = case.measurement
        left = found.residual_s - burst_credit(case)[m.exit[m.delivered]]
        means.append([left.mean(), found.messages.mean(), found.hops.mean()])
    table = np.array(means)
    return Overheads(*least_absolute(table[:, 0], table[:, 1], table[:, 2]))


def errors(
    case: FidelityCase, model: str, overheads: Overheads, burst: bool
) -> tuple[float, float]:
    """(mean, p99) relative errors of one configuration, sample-matched."""
    m = case.measurement
    topology = replace(case.topology, overheads=overheads)
    compute = COMPUTE[model]
    pred = predict_samples(
        case.profile,
        case.trace,
        topology,
        case.deployment,
        compute=compute,
        measurement=m,  # type: ignore[arg-type]
    )
    rows = case.rows
    latency = pred.latency_s[rows]
    if burst:
        latency = latency + burst_credit(case)[pred.exit[rows]]
    measured = m.latency_s[m.delivered]
    mean = (latency.mean() - measured.mean()) / measured.mean()
    p99 = (np.percentile(latency, 99) - np.percentile(measured, 99)) / np.percentile(measured, 99)
    return float(mean), float(p99)


def _line(name: str, rows: Sequence[tuple[float, float]]) -> str:
    mean = np.abs([r[0] for r in rows])
    p99 = np.abs([r[1] for r in rows])
    signed = np.array([r[0] for r in rows])
    return (
        f"| {name} | {len(rows)} | {mean.mean():.1%} | {mean.max():.1%} | {p99.mean():.1%} | "
        f"{p99.max():.1%} | {(p99 <= 0.10).sum()}/{len(rows)} | "
        f"{signed.min():+.0%} .. {signed.max():+.0%} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--predict", required=True, help="glob of the files to predict")
    parser.add_argument("--fit", help="glob of the files to fit on (another set)")
    parser.add_argument("--folds", type=int, default=0, help="K-fold within --predict")
    args = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as handle:
        print(f"load average {handle.read().split()[0]}")
    predict = load_cases(sorted(glob.glob(args.predict)))
    if args.fit:
        folds = [(load_cases(sorted(glob.glob(args.fit))), predict)]
    elif args.folds >= 2:
        folds = [
            (
                [c for i, c in enumerate(predict) if i % args.folds != k],
                [c for i, c in enumerate(predict) if i % args.folds == k],
            )
            for k in range(args.folds)
        ]
    else:
        parser.error("give --fit GLOB or --folds K (K >= 2)")
    netns = any(
        c.measurement.network == "netns" and c.measurement.receive_s is None for c in predict
    )
    found: dict[str, list[tuple[float, float]]] = {}
    for fit_on, held in folds:
        term = fit_overheads(fit_on).overheads
        after_burst = fit_after_burst(fit_on) if netns else term
        print(
            f"fold: fit on {len(fit_on)} files: per message {term.per_message * 1e3:.3f} ms, "
            f"per link {term.per_hop * 1e3:.3f} ms"
            + (
                f"; after the burst credit {after_burst.per_message * 1e3:.3f} ms, "
                f"{after_burst.per_hop * 1e3:.3f} ms"
                if netns
                else ""
            )
        )
        variants = [("", Overheads(), False), (" + per-message", term, False)]
        if netns:
            variants += [(" + tbf burst", Overheads(), True)]
            variants += [(" + tbf burst + per-message", after_burst, True)]
        for case in held:
            for model in COMPUTE:
                for label, overheads, burst in variants:
                    found.setdefault(model + label, []).append(
                        errors(case, model, overheads, burst)
                    )
    print(
        "| model | configurations | MAPE of mean | max | mean abs. p99 error | max | "
        "p99 within 10% | mean error range |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in found:
        print(_line(name, found[name]))


if __name__ == "__main__":
    main()
