"""Our measurements beside seed 004's headline findings (section 5, conclusion).

Each finding is computed from the data, with a verdict on the direction and an
explanation made of the measured numbers; nothing is forced to agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.study._accuracy import AccuracyRow
from splitexit.study._stats import StrategySummary

__all__ = ["Finding", "seed_findings"]


@returned_type
@dataclass(frozen=True)
class Finding:
    claim: str  # the seed's finding
    seed_value: str
    measured: str  # our value
    verdict: str  # "agrees", "partly", "disagrees" or "not measured"
    explanation: str


def _medians(summaries: Sequence[StrategySummary]) -> dict[tuple[str, str, str], float]:
    return {
        (s.strategy.subject, s.strategy.operator, s.strategy.tiers): s.median_s for s in summaries
    }


def _verdict(flags: Sequence[bool]) -> str:
    if not flags:
        return "not measured"
    return "agrees" if all(flags) else "disagrees" if not any(flags) else "partly"


def _losses(accuracy: Sequence[AccuracyRow], a: str, b: str) -> list[float]:
    va = {(r.subject, r.tiers, r.metric): r.value for r in accuracy if r.operator == a}
    return [
        va[k] - r.value
        for r in accuracy
        if r.operator == b and (k := (r.subject, r.tiers, r.metric)) in va
    ]


def _edge_fastest(med: dict[tuple[str, str, str], float], subjects: Sequence[str]) -> Finding:
    parts, flags, why = [], [], []
    for subject in subjects:
        tiers = {t: med[(subject, "I", t)] for t in "MEC" if (subject, "I", t) in med}
        if len(tiers) < 2:
            continue
        best = min(tiers, key=lambda t: tiers[t])
        flags.append(best == "E")
        parts.append(f"{subject}: {best}")
        why.append(f"{subject} medians " + ", ".join(f"{t} {v:.3g} s" for t, v in tiers.items()))
    return Finding(
        "Identity is fastest on the edge for large inputs",
        "E fastest (3.12-4.43x over C, 1.83x over M on average; C for FCN)",
        "; ".join(parts) or "-",
        _verdict(flags),
        "; ".join(why) or "I not measured",
    )


def _ratio_finding(
    med: dict[tuple[str, str, str], float],
    subjects: Sequence[str],
    slow: tuple[str, str],
    fast: tuple[str, str],
) -> tuple[list[str], list[bool], list[float]]:
    parts, flags, ratios = [], [], []
    for subject in subjects:
        a, b = (subject, *slow), (subject, *fast)
        if a in med and b in med and med[b] > 0:
            ratio = med[a] / med[b]
            parts.append(f"{subject}: {ratio:.2f}x")
            flags.append(ratio > 1)
            ratios.append(ratio)
    return parts, flags, ratios


def _loss_text(losses: list[float], seed: tuple[float, float]) -> tuple[str, bool | None]:
    if not losses:
        return "accuracy not measured", None
    low, high = min(losses), max(losses)
    inside = seed[0] <= low and high <= seed[1]
    return f"{low:.2f}-{high:.2f} points lost", inside


@validate_params(
    {
        "summaries": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
        "accuracy": [InstanceOf(list, tuple, "collections.abc:Sequence", name="a sequence")],
    }
)
def seed_findings(
    summaries: Sequence[StrategySummary], accuracy: Sequence[AccuracyRow] = ()
) -> tuple[Finding, ...]:
    """The four headline findings of seed 004 with our measured values."""
    med = _medians(summaries)
    subjects = list(dict.fromkeys(s.strategy.subject for s in summaries))
    findings = [_edge_fastest(med, subjects)]

    parts, flags, _ = _ratio_finding(med, subjects, ("I", "E"), ("Q", "E"))
    loss, inside = _loss_text(_losses(accuracy, "I", "Q"), (0.05, 0.38))
    findings.append(
        Finding(
            "Q is faster than I on the edge, at a small accuracy cost",
            "1.48x faster (1.20-1.64x); 0.05-0.38 points lost",
            "; ".join([*parts, loss]) if parts else loss,
            _verdict(flags),
            "speedup = median(I@E) / median(Q@E); loss "
            + ("within" if inside else "outside" if inside is not None else "not compared to")
            + " the seed's range",
        )
    )

    losses = _losses(accuracy, "I", "E")
    loss, inside = _loss_text(losses, (2.53, 11.56))
    overlap = bool(losses) and min(losses) <= 11.56 and max(losses) >= 2.53
    findings.append(
        Finding(
            "E costs accuracy",
            "2.53-11.56 points lost against I",
            loss,
            "not measured"
            if inside is None
            else "agrees"
            if inside
            else "partly"
            if overlap
            else "disagrees",
            "loss = I - E per (subject, tiers, metric); our exit point and models differ "
            "from the seed's static skip of two blocks"
            if losses
            else "no accuracy given",
        )
    )

    ec, f_ec, r_ec = _ratio_finding(med, subjects, ("P", "EC"), ("P", "ME"))
    mc, f_mc, r_mc = _ratio_finding(med, subjects, ("P", "MC"), ("P", "ME"))
    ratios = r_ec + r_mc
    mean = float(np.exp(np.mean(np.log(ratios)))) if ratios else float("nan")
    findings.append(
        Finding(
            "Partitioning on ME is much faster than on EC or MC",
            "9.37x over EC, 9.86x over MC (1.37-24.95x)",
            "; ".join([f"EC/ME {p}" for p in ec] + [f"MC/ME {p}" for p in mc]) or "-",
            _verdict(f_ec + f_mc),
            f"geometric mean {mean:.2f}x; the EC and MC paths carry the input or the activation "
            "over the 1 Mbps WAN, so the factor follows those sizes"
            if ratios
            else "P not measured on ME with EC or MC",
        )
    )
    return tuple(findings)
