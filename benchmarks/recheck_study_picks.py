"""Re-apply the current confirmation rule to finished study runs (docs/study.md).

Each run folder's ``statistics.json`` (``prediction_check.recommendations``) names, per
checked requirement, the recommended strategy and the measured best; ``latencies.csv`` gives
the best's repetition medians. The verdict is recomputed with ``within_noise`` (the
spread of the best's repetition medians), so runs made under the earlier rule
(Cliff's delta negligible or median within 5 %) are compared under one rule. It also prints
Kendall's tau between the strategies' medians of each pair of repetitions (how well the run
ranks the strategies against itself).

Run: ``PYTHONPATH=src:benchmarks python benchmarks/recheck_study_picks.py RUN_DIR...``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_study_overheads import repetition_taus
from splitexit.study._recommend import repetition_medians, within_noise
from splitexit.study._schedule import Strategy


def _strategy(label: str) -> Strategy:
    subject, rest = label.split(" ", 1)
    operator, tiers = rest.split("@")
    return Strategy(subject, operator, tiers)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args()
    for run in args.runs:
        check = json.loads((run / "statistics.json").read_text())["prediction_check"]
        reps = repetition_medians(run / "latencies.csv")
        before = after = 0
        for r in check["recommendations"]:
            rec, best = _strategy(r["recommended"]), _strategy(r["measured_best"])
            close, noise = within_noise(r["measured_median_s"], r["best_median_s"], reps[best])
            verdict = rec == best or close
            before += bool(r["confirmed"])
            after += verdict
            shown = "-" if noise is None else f"{noise * 1e3:.2f}"
            print(
                f"{run.name}: {r['subject']:7s} {r['requirement']:34s} {r['recommended']:18s} "
                f"{r['measured_median_s'] * 1e3:6.2f} ms vs best {r['measured_best']:18s} "
                f"{r['best_median_s'] * 1e3:6.2f} ms, noise {shown} ms: "
                f"recorded {'yes' if r['confirmed'] else 'no'}, now {'yes' if verdict else 'no'}"
            )
        total = len(check["recommendations"])
        print(
            f"{run.name}: confirmed {before}/{total} as recorded, "
            f"{after}/{total} under the current rule"
        )
        taus = repetition_taus(run / "latencies.csv")
        shown = ", ".join(f"{t:.3f}" for t in taus)
        print(f"{run.name}: Kendall's tau between repetition medians: {shown or 'one repetition'}")


if __name__ == "__main__":
    main()
