"""The measured study in one call: variants, the runtime executor, ``run_study``, then
Kendall's tau and the recommendations added to ``statistics.json`` and ``report.md``.

>>> measured_study(load_study("examples/study-seed004.yaml"), Path("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from splitexit._validation import Callable_, InstanceOf, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._predict import kendall_tau
from splitexit.study._recommend import latencies_by_strategy, recommend
from splitexit.study._run import StudyResult, run_study
from splitexit.study._spec import Study

__all__ = ["measured_study", "quick_study"]


@validate_params({"study": [InstanceOf("splitexit.study._spec:Study")]})
def quick_study(study: Study) -> Study:
    """The study with short counts: 1 repetition of 20 inferences, 5 warm-ups, 20 samples."""
    spec = study.spec
    samples = spec.samples.model_copy(update={"count": min(spec.samples.count, 20)})
    update = {"repetitions": 1, "warmup": 5, "inferences": 20, "samples": samples}
    return dataclasses.replace(study, spec=spec.model_copy(update=update))


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "out": [PathLike()],
        "compute_mode": [InstanceOf(str)],
        "progress": [Callable_(), None],
    }
)
def measured_study(
    study: Study,
    out: Path,
    *,
    compute_mode: str = "sleep",
    progress: Callable[[str], None] | None = None,
) -> tuple[StudyResult, dict[str, Any]]:
    """Run ``study`` on local workers and write ``out``; returns the result and the
    prediction check (Kendall's tau, recommendations) also written into the folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out}: exists and is not empty; give a new --out folder")
    say = progress or (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="splitexit-study-") as tmp:
        executor = _Progress(RuntimeExecutor(study, Path(tmp), compute_mode=compute_mode), say)
        try:
            say("timing the variants' pieces for the predictions")
            predictions = executor.inner.predictions()
            accuracy = executor.inner.accuracy()
            result = run_study(study, out, executor, accuracy=accuracy, predictions=predictions)
        finally:
            executor.inner.close()
    latencies = latencies_by_strategy(result.latencies)
    predicted = {s: p.median_s for s, p in predictions.items()}
    measured = {s: sorted(v)[len(v) // 2] for s, v in latencies.items()}
    tau, p = kendall_tau(predicted, measured)
    recs = recommend(predicted, latencies, accuracy)
    check = {
        "compute_mode": compute_mode,
        "compute_ratios": {t.name: t.compute_ratio for t in study.topology.tiers},
        "kendall_tau": tau,
        "kendall_p": p,
        "recommendations": [r.to_mapping() for r in recs],
    }
    stats = json.loads(result.statistics_path.read_text())
    stats["prediction_check"] = check
    result.statistics_path.write_text(json.dumps(stats, indent=1, allow_nan=False) + "\n")
    with result.report.markdown.open("a") as f:
        f.write(_markdown(check))
    return result, check


def _markdown(check: dict[str, Any]) -> str:
    ratios = ", ".join(f"{k} x{v:g}" for k, v in check["compute_ratios"].items())
    tau = check["kendall_tau"]
    lines = [
        "",
        "## Prediction check and recommendations",
        "",
        f"Compute scaled by `compute_ratio` ({ratios}), mode `{check['compute_mode']}`.",
        f"Kendall's tau, predicted vs measured medians: "
        f"{'undefined' if tau is None else f'{tau:.3f}'} (p = {check['kendall_p']}).",
        "",
        "| subject | requirement | recommended | predicted ms | measured ms "
        "| measured best | best ms | Cliff's delta | confirmed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in check["recommendations"]:
        lines.append(
            f"| {r['subject']} | {r['requirement']} | {r['recommended']} | "
            f"{1000 * r['predicted_median_s']:.2f} | {1000 * r['measured_median_s']:.2f} | "
            f"{r['measured_best']} | {1000 * r['best_median_s']:.2f} | {r['delta']:.3f} | "
            f"{'yes' if r['confirmed'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


class _Progress:
    """Wraps the executor to print one line per strategy's restart."""

    def __init__(self, inner: RuntimeExecutor, say: Callable[[str], None]) -> None:
        self.inner, self.say = inner, say

    def restart(self, strategy: Any) -> None:
        self.say(f"deploying {strategy.label}")
        self.inner.restart(strategy)

    def run_strategy(self, strategy: Any, samples: Any) -> list[float]:
        return self.inner.run_strategy(strategy, samples)
