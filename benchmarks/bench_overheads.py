"""The per-message overhead term, before and after, on the same measurements (docs/fidelity.md).

Loads measurement files, fits ``Topology.overheads`` (``fit_overheads``) on one set and
predicts another with the paper's and the runtime-timed formulas, with and without the
term; prints MAPE of the mean and the mean and largest absolute p99 error, uncalibrated
first. Two protocols, both fitting once per fold and never on a predicted configuration:

- ``--predict GLOB --fit GLOB``: fit on one set (e.g. the other preset on the same network),
  predict the other;
- ``--predict GLOB --folds K``: split the files into K folds by position (file i in fold
  i mod K), predict each fold with a fit on the others.

Run: ``PYTHONPATH=src python benchmarks/bench_overheads.py --predict 'runs/x/measurements/*.json'
--folds 2``.
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from splitexit.fidelity import FidelityCase, compare, fit_overheads, load_cases

MODELS = ("paper", "runtime-timed")


def _errors(rows: Sequence[tuple[float, float]]) -> str:
    mean = np.abs([r[0] for r in rows])
    p99 = np.abs([r[1] for r in rows])
    return (
        f"{len(rows):3d}  {mean.mean():7.2%} {mean.max():7.2%}  {p99.mean():7.2%} {p99.max():7.2%}"
        f"  within 10% at p99: {(p99 <= 0.10).sum()}/{len(rows)}"
    )


def evaluate(
    folds: Sequence[tuple[list[FidelityCase], list[FidelityCase]]],
) -> dict[str, list[tuple[float, float]]]:
    """Errors (mean, p99) of every predicted configuration, per model with and without."""
    found: dict[str, list[tuple[float, float]]] = {}
    for fit_on, predict in folds:
        fit = fit_overheads(fit_on)
        print(
            f"fit on {len(fit_on)} files: per message {fit.per_message_s * 1e3:.3f} ms, "
            f"per link {fit.per_hop_s * 1e3:.3f} ms ({fit.samples} samples)"
        )
        for case in predict:
            with_term = replace(case, topology=fit.topology(case.topology))
            for label, chosen in (("", case), (" + per-message term", with_term)):
                comparison = compare(chosen)
                for model in MODELS:
                    figures = comparison.model(model)
                    found.setdefault(model + label, []).append(
                        (figures.mean_error, figures.p99_error)
                    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
        folds = []
        for k in range(args.folds):
            held = [c for i, c in enumerate(predict) if i % args.folds == k]
            rest = [c for i, c in enumerate(predict) if i % args.folds != k]
            folds.append((rest, held))
    else:
        parser.error("give --fit GLOB or --folds K (K >= 2)")
    found = evaluate(folds)
    print("model                                 n  MAPE mean    max   |p99 err|   max")
    for name in (
        "paper",
        "paper + per-message term",
        "runtime-timed",
        "runtime-timed + per-message term",
    ):
        print(f"{name:35s} {_errors(found[name])}")


if __name__ == "__main__":
    main()
