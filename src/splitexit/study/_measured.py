"""The measured study in one call: variants, the planner's recommendations over them
(``_planned``), the runtime executor, ``run_study`` (the study's strategies and the extra
ones the planner asked for), then Kendall's tau and the recommendations checked by the
measurement, added to ``statistics.json`` and ``report.md``.

>>> measured_study(load_study("examples/study-seed004.yaml"), Path("out"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import html
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from splitexit._boundary import atomic_write_text, dump_json
from splitexit._validation import Callable_, InstanceOf, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._planned import PLANNED_VARIANTS, plan_study
from splitexit.study._predict import kendall_tau
from splitexit.study._recommend import (
    accuracy_by_strategy,
    check_picks,
    latencies_by_strategy,
    repetition_medians,
)
from splitexit.study._run import StudyResult, run_study
from splitexit.study._segmentation import mean_iou, predicted_masks
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
    checks: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="splitexit-study-") as tmp:
        executor = _Progress(RuntimeExecutor(study, Path(tmp), compute_mode=compute_mode), say)
        try:
            say("timing the variants' pieces for the predictions")
            predictions = executor.inner.predictions()
            accuracy = executor.inner.accuracy()
            say("profiling the variants and planning over them")
            inner = executor.inner
            planned = [v for v in PLANNED_VARIANTS if any(v in b for b in inner.variants.values())]
            metric = {
                subject: {r.operator: r.value for r in accuracy if r.subject == subject}
                for subject in inner.masks
            }
            picks = plan_study(
                study,
                inner.variants,
                inner.samples,
                Path(tmp),
                progress=say,
                metric=metric,
                quotas=inner.cpu_quotas(),
            )
            extra = [p.strategy for p in picks if p.extra]
            measured_accuracy = {**accuracy_by_strategy(accuracy), **_accuracy(inner, extra)}

            def finish(staged: StudyResult) -> None:  # in the staged folder, before the swap
                latencies = latencies_by_strategy(staged.latencies)
                predicted = {s: p.median_s for s, p in predictions.items()}
                measured = {s: float(np.median(v)) for s, v in latencies.items()}  # as the report
                tau, p = kendall_tau(predicted, measured)
                reps = repetition_medians(staged.latencies)
                recs = check_picks(picks, latencies, measured_accuracy, repetitions=reps)
                check = {
                    "compute_mode": compute_mode,
                    "compute_ratios": {t.name: t.compute_ratio for t in study.topology.tiers},
                    "cpu_quotas": {
                        tier: {"quota_us": quota, "period_us": period}
                        for tier, (quota, period) in inner.cpu_quotas().items()
                    },
                    "kendall_tau": tau,
                    "kendall_p": p,
                    "recommender": f"splitexit.plan over the variants {', '.join(planned)} "
                    "x partitions x placements",
                    "planner": [pick.to_mapping() for pick in picks],
                    "recommendations": [r.to_mapping() for r in recs],
                }
                stats = json.loads(staged.statistics_path.read_text())
                stats["prediction_check"] = check
                atomic_write_text(staged.statistics_path, dump_json(stats, indent=1))
                with staged.report.markdown.open("a") as f:
                    f.write(_markdown(check))
                _html_stretch(staged.report.html, check)
                checks.append(check)

            result = run_study(
                study, out, executor, accuracy=accuracy, predictions=predictions, extra=extra,
                finish=finish,
            )  # fmt: skip
        finally:
            executor.inner.close()
    return result, checks[0]


def _accuracy(executor: RuntimeExecutor, extra: list[Any]) -> dict[Any, float]:
    """mIoU, top-1 or agreement with I (as ``RuntimeExecutor.accuracy``) in percent of each
    extra strategy, from its own pieces."""
    out: dict[Any, float] = {}
    for strategy in extra:
        data = executor.samples[strategy.subject]
        variants = executor.variants[strategy.subject]
        scores = np.stack([variants[strategy.operator].predict(f)[0] for f in data.feeds])
        if strategy.subject in executor.masks:
            masks = executor.masks[strategy.subject]
            out[strategy] = mean_iou(masks, predicted_masks(scores))
            continue
        if data.labels is not None:
            truth = data.labels[:, 0]
        else:
            truth = np.stack([variants["I"].predict(f)[0] for f in data.feeds]).argmax(1)
        out[strategy] = 100.0 * float((scores.argmax(1) == truth).mean())
    return out


def _markdown(check: dict[str, Any]) -> str:
    ratios = ", ".join(f"{k} x{v:g}" for k, v in check["compute_ratios"].items())
    tau = check["kendall_tau"]
    lines = [
        "",
        "## Prediction check and recommendations",
        "",
        f"Compute scaled by `compute_ratio` ({ratios}), mode `{check['compute_mode']}`.",
        *_quota_lines(check),
        f"Kendall's tau, predicted vs measured medians: "
        f"{'undefined' if tau is None else f'{tau:.3f}'} (p = {check['kendall_p']}).",
        "",
        f"Recommendations by {check['recommender']} (the study's topology, each variant "
        "profiled on ONNX Runtime with the study's samples), checked by the measurement: "
        "confirmed when the recommended strategy is the measured best for the same "
        "requirement, or its median exceeds the best's by at most the measured noise (the "
        "best's spread, max - min, of its repetition medians; with one repetition only the "
        "best is confirmed). Cliff's delta is shown, not used. "
        "A recommendation that is not a study strategy is measured as an extra one "
        "(marked +).",
        "",
        "| subject | requirement | planner: variant, P, A | strategy | predicted ms "
        "| measured ms | measured best | best ms | noise ms | meet it | Cliff's delta "
        "| confirmed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checked = {(r["subject"], r["requirement"]): r for r in check["recommendations"]}
    for pick in check["planner"]:
        r = checked.get((pick["subject"], pick["requirement"]))
        where = (
            f"{pick['variant']}, [{','.join(map(str, pick['partition']))}], "
            f"[{', '.join(pick['placement'])}]"
        )
        label = pick["strategy"].split(" ", 1)[1] + (" +" if pick["extra"] else "")
        measured = (
            "- | none meets it | - | - | 0 | - | not checked"
            if r is None
            else f"{1000 * r['measured_median_s']:.2f} | {r['measured_best'].split(' ', 1)[1]} | "
            f"{1000 * r['best_median_s']:.2f} | "
            f"{_ms(r['noise_s'])} | "
            f"{r['candidates']} | {r['delta']:.3f} | "
            f"{'yes' if r['confirmed'] else 'no'}"
        )
        lines.append(
            f"| {pick['subject']} | {pick['requirement']} | {where} | {label} | "
            f"{1000 * pick['predicted_s']:.2f} | {measured} |"
        )
    return "\n".join(lines) + "\n"


def _html_stretch(page: Path, check: dict[str, Any]) -> None:
    """State the compute stretch (ratios, and the CPU quotas in cpu-quota mode) in the HTML
    report too, at its end."""
    ratios = ", ".join(f"{k} x{v:g}" for k, v in check["compute_ratios"].items())
    lines = [
        f"Compute scaled by compute_ratio ({ratios}), mode {check['compute_mode']}.",
        *_quota_lines(check),
    ]
    section = "<h2>Compute stretch</h2>\n" + "\n".join(
        f"<p>{html.escape(line)}</p>" for line in lines
    )
    text = page.read_text()
    atomic_write_text(page, text.replace("</body></html>", section + "\n</body></html>"))


def _quota_lines(check: dict[str, Any]) -> list[str]:
    """The CPU quotas of ``cpu-quota`` mode, stated for the report (none in sleep mode)."""
    quotas = check.get("cpu_quotas") or {}
    if check["compute_mode"] != "cpu-quota":
        return []
    free = [t for t in check["compute_ratios"] if t not in quotas]
    parts = [
        f"{tier} {q['quota_us']} us of CPU every {q['period_us']} us "
        f"(1/{q['period_us'] / q['quota_us']:g} of a core)"
        for tier, q in quotas.items()
    ]
    return [
        f"CPU quotas (CFS bandwidth control, one group per worker): {'; '.join(parts)}"
        + (f"; {', '.join(free)} unconfined." if free else "."),
        "A call that needs less CPU than the quota runs at full speed; once a worker has "
        "spent its quota it waits for the next period, so a latency is a staircase of "
        "periods, not compute x ratio.",
    ]


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{1000 * seconds:.2f}"


class _Progress:
    """Wraps the executor to print one line per strategy's restart."""

    def __init__(self, inner: RuntimeExecutor, say: Callable[[str], None]) -> None:
        self.inner, self.say = inner, say

    def restart(self, strategy: Any) -> None:
        self.say(f"deploying {strategy.label}")
        self.inner.restart(strategy)

    def run_strategy(self, strategy: Any, samples: Any) -> list[float]:
        return self.inner.run_strategy(strategy, samples)
