"""The study's planner recommendations re-made now, with compute x ratio and with the CPU-quota
staircase, and confirmed post hoc against finished ``--compute-mode cpu-quota`` runs
(docs/study.md, Session 11b).

Builds the study's variants (``RuntimeExecutor`` in ``cpu-quota`` mode), plans them
(``plan_study``) once without quotas (the planner's compute x ratio, as a ``sleep`` run plans)
and once with the executor's quotas (the staircase), and checks each set of picks
(``check_picks``, the current rule) against every run folder's ``latencies.csv``. This is
valid after the fact because a run measures every study strategy whatever was picked; an
extra strategy (not among the study's cells) was not measured and is left out.

Run: ``PYTHONPATH=src python benchmarks/replan_study_quota.py STUDY.yaml RUN_DIR...``
(from the study file's folder when its paths are relative).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from splitexit.study import load_study
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._planned import plan_study
from splitexit.study._recommend import (
    accuracy_by_strategy,
    check_picks,
    latencies_by_strategy,
    repetition_medians,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args()
    study = load_study(args.study)
    with tempfile.TemporaryDirectory(prefix="replan-") as tmp:
        executor = RuntimeExecutor(study, Path(tmp), compute_mode="cpu-quota")
        rows = executor.accuracy()
        metric = {
            subject: {r.operator: r.value for r in rows if r.subject == subject}
            for subject in executor.masks
        }
        accuracy = accuracy_by_strategy(rows)
        quotas = executor.cpu_quotas()
        print(f"quotas: {quotas}")
        picks = {}
        for name, limits in (("compute x ratio", None), ("staircase", quotas)):
            work = Path(tmp) / name.replace(" ", "-")
            picks[name] = plan_study(
                study, executor.variants, executor.samples, work, metric=metric, quotas=limits
            )
        executor.close()
    for run in args.runs:
        latencies = latencies_by_strategy(run / "latencies.csv")
        reps = repetition_medians(run / "latencies.csv")
        for name, chosen in picks.items():
            recs = check_picks(chosen, latencies, accuracy, repetitions=reps)
            for r in recs:
                print(
                    f"{run.name}: {name}: {r.subject} {r.requirement}: {r.recommended} "
                    f"{1e3 * r.measured_median_s:.2f} ms vs best {r.measured_best} "
                    f"{1e3 * r.best_median_s:.2f} ms: {'confirmed' if r.confirmed else 'no'}"
                )
            confirmed = sum(r.confirmed for r in recs)
            print(f"{run.name}: {name}: confirmed {confirmed} of {len(recs)}")


if __name__ == "__main__":
    main()
