"""The planner's recommendations for the study, confirmed by the measurement.

Per subject, each whole-model variant (I, Q, E, QE) is profiled on ONNX Runtime with the
study's samples (``profile_onnx``, segment times scaled to the whole model's, the median of
batch-1 runs; labels give the accuracy), and ``splitexit.plan`` searches the union of
(variant, partition, placement) on the study's topology for three requirements:

1. fastest above chance (accuracy above 1 / classes: a configuration that stops before the
   model's one exit predicts nothing, and one that guesses recommends nothing either);
2. fastest with accuracy within ``loss`` points of I;
3. most accurate within a latency budget: the median of the planner's estimates of the
   subject's study strategies.

In ``cpu-quota`` mode (``quotas``) the planner's estimates model compute as profile time x
compute ratio, which a confined tier's CFS staircase refutes (docs/study.md, Session 11b):
each requirement is then answered among the study's strategies and the planner's own pick,
every one re-estimated with the staircase (``staircase_point``, ``piece_compute_s`` as the
study's predictions use it); the budget is the median of those re-estimates.

A recommendation is mapped to a study strategy when it is one: a whole variant on one tier
is that operator on that tier (Q on edge = ``Q@E``); I cut at the study's P cut over a tier
pair of the study is ``P`` on that pair, and QE cut at the study's QEP cut is ``QEP`` there
(the study quantizes QEP's pieces one by one; the planner's QE is quantized whole). Anything
else (another cut, another order of tiers, three partitions) is partitioned with the
operators room, deployed and measured as one extra strategy in the same protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from splitexit._validation import Callable_, InstanceOf, Interval, PathLike, validate_params
from splitexit.configuration import Configuration
from splitexit.errors import InfeasibleError
from splitexit.operators import (
    OnnxProfileSettings,
    Samples,
    load_pieces,
    partition,
    profile_onnx,
)
from splitexit.perfmodel import Estimate, ModelInputs, estimate
from splitexit.planner import PlanPoint, plan
from splitexit.profile import Profile
from splitexit.study._schedule import Strategy
from splitexit.study._spec import Study
from splitexit.study._variants import Variant, VariantPiece, piece_compute_s, time_variants
from splitexit.topology import Topology

__all__ = [
    "PLANNED_VARIANTS",
    "PlannerPick",
    "pick_strategy",
    "plan_study",
    "staircase_best",
    "staircase_point",
    "strategy_configuration",
]

PLANNED_VARIANTS = ("I", "Q", "E", "QE")  # P and QEP are I and QE partitioned
_SPLIT_OF = {"I": "P", "QE": "QEP"}  # the study's partitioned operator of a variant
_ANY_ACCURACY = 1e-9  # above this: a configuration that predicts at all


@dataclass(frozen=True)
class PlannerPick:
    """One requirement answered by the planner, and the strategy that measures it."""

    subject: str
    kind: str  # "fastest", "near_identity" or "budget"
    requirement: str
    variant: str
    partition: tuple[int, ...]  # 1-based last blocks of the variant's profile
    placement: tuple[str, ...]  # tier names
    cuts: tuple[tuple[str, ...], ...]  # the tensors at each cut between partitions
    predicted_s: float
    predicted_accuracy: float
    strategy: Strategy
    extra: bool  # not a study strategy: deployed and measured as an extra one
    budget_s: float | None = None  # requirement 3's latency budget
    min_accuracy: float = 0.0  # requirement 1's floor in percent (chance level), else 0

    def to_mapping(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "kind": self.kind,
            "requirement": self.requirement,
            "variant": self.variant,
            "partition": list(self.partition),
            "placement": list(self.placement),
            "cuts": [list(c) for c in self.cuts],
            "predicted_s": self.predicted_s,
            "predicted_accuracy": self.predicted_accuracy,
            "strategy": self.strategy.label,
            "extra": self.extra,
            "budget_s": self.budget_s,
            "min_accuracy": self.min_accuracy,
        }


def _letters(study: Study) -> dict[str, str]:
    return {name: letter for letter, name in study.spec.tiers.items()}


def study_cuts(variants: Mapping[str, Variant]) -> dict[str, tuple[str, ...]]:
    """The cut of each partitioned study operator (P, QEP): its first piece's outputs."""
    return {
        op: tuple(t.name for t in variants[op].pieces[0].outputs)
        for op in _SPLIT_OF.values()
        if op in variants and len(variants[op].pieces) == 2
    }


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "subject": [InstanceOf(str)],
        "variant": [InstanceOf(str)],
        "config": [InstanceOf(Configuration)],
        "profile": [InstanceOf(Profile)],
        "cuts": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
    }
)
def pick_strategy(
    study: Study,
    subject: str,
    variant: str,
    config: Configuration,
    profile: Profile,
    cuts: Mapping[str, tuple[str, ...]],
) -> tuple[Strategy, bool]:
    """The study strategy a planner configuration is, and whether it is an extra one (not
    among the study's cells). Extras are named ``V/c1/c2@XY``: variant V cut after blocks
    c1, c2 (1-based, of V's profile), placed on tiers X, Y.

    >>> pick_strategy(study, "m", "Q", Configuration((11,), (1,)), q, {})  # doctest: +SKIP
    (Strategy(subject='m', operator='Q', tiers='E'), False)
    """
    names = [t.name for t in study.topology.tiers]
    letters = _letters(study)
    tiers = "".join(letters.get(names[a], "?") for a in config.placement)
    whole = config.partition[-1] == profile.num_blocks - 1
    if config.num_partitions == 1 and whole and (variant, tiers) in study.cells:
        return Strategy(subject, variant, tiers), False
    if config.num_partitions == 2 and whole and variant in _SPLIT_OF and profile.onnx:
        split = _SPLIT_OF[variant]
        cut = profile.onnx.cuts[config.partition[0]]
        if cuts.get(split) == tuple(cut) and (split, tiers) in study.cells:
            return Strategy(subject, split, tiers), False
    if config.num_partitions == 1:
        return Strategy(subject, variant, tiers), True
    blocks = "/".join(str(p + 1) for p in config.partition[:-1])
    return Strategy(subject, f"{variant}/{blocks}", tiers), True


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "strategy": [InstanceOf(Strategy)],
        "profiles": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "cuts": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
    }
)
def strategy_configuration(
    study: Study,
    strategy: Strategy,
    profiles: Mapping[str, Profile],
    cuts: Mapping[str, tuple[str, ...]],
) -> tuple[str, Configuration] | None:
    """The planner's (variant, configuration) of a study strategy, or None when its variant
    was not profiled or its cut is not one of the profile's blocks' boundaries."""
    topo = study.topology
    tiers = tuple(topo.tier_index(t) for t in study.tier_names(strategy.tiers))
    base = next((v for v, s in _SPLIT_OF.items() if s == strategy.operator), strategy.operator)
    profile = profiles.get(base)
    if profile is None:
        return None
    last = profile.num_blocks - 1
    if base == strategy.operator:
        return (base, Configuration((last,), tiers)) if len(tiers) == 1 else None
    if profile.onnx is None or strategy.operator not in cuts:
        return None
    bounds = [tuple(c) for c in profile.onnx.cuts]
    if cuts[strategy.operator] not in bounds or len(tiers) != 2:
        return None
    first = bounds.index(cuts[strategy.operator])
    return base, Configuration((first, last), tiers, (float(profile.thresholds[-1]),))


def _profiles(
    samples: Samples, variants: Mapping[str, Variant], work: Path, runs: int
) -> dict[str, Profile]:
    """Each planned variant profiled on exactly the study's samples (written as an .npz)."""
    data = work / "samples.npz"
    arrays = {k: np.concatenate([f[k] for f in samples.feeds]) for k in samples.feeds[0]}
    if samples.labels is not None:
        arrays["labels"] = samples.labels.reshape(-1)
    np.savez(data, **arrays)  # type: ignore[arg-type]
    out: dict[str, Profile] = {}
    for op in PLANNED_VARIANTS:
        if op not in variants:
            continue
        settings = OnnxProfileSettings(runs=runs, percentile=50.0, timing="whole", operator=op)
        path = variants[op].pieces[0].file
        out[op] = profile_onnx(path, data, out=work / f"{op}.json", settings=settings)
    # Each profile timed its variant on its own, at its own moment of a shared machine; the
    # variants' whole-model times are taken again interleaved (as the executor's predictions
    # are) and each profile's segments scaled to them, so the variants compare like for like.
    whole = time_variants({op: variants[op] for op in out}, samples.feeds[0], runs=4 * runs)
    for op, profile in out.items():
        summed = float(profile.block_compute_s.sum())
        if summed > 0:
            scaled = profile.block_compute_s * (whole[op][0][0] / summed)
            out[op] = replace(profile, block_compute_s=scaled)
    return out


def _deployable(variant: Variant, folder: Path, cuts: Sequence[tuple[str, ...]]) -> Variant:
    """``variant`` (a whole model) cut at ``cuts`` into pieces the runtime deploys."""
    partition(variant.pieces[0].file, folder, cuts=list(cuts))
    manifest = load_pieces(folder / "pieces.json")
    pieces = tuple(
        VariantPiece(folder / p.file, p.sha256, p.inputs, p.outputs) for p in manifest.pieces
    )
    first = variant.output or variant.pieces[-1].outputs[0].name  # the whole model's
    return Variant(variant.operator, pieces, output=first)


def _requirements(
    profiles: Mapping[str, Profile], budget: float, loss: float, chance: float
) -> list[tuple[str, str, dict[str, float]]]:
    """(kind, description, the planner's requirement) of the three requirements."""
    out = [("fastest", "fastest above chance", {"min_accuracy": chance + _ANY_ACCURACY})]
    if "I" in profiles:
        floor = max(_ANY_ACCURACY, float(profiles["I"].accuracy[-1]) - loss / 100)
        out.append(("near_identity", f"accuracy >= I - {loss:g} points", {"min_accuracy": floor}))
    text = f"latency <= {1e3 * budget:.3g} ms, best accuracy"
    out.append(("budget", text, {"max_latency_s": budget}))
    return out


@validate_params(
    {
        "study": [InstanceOf("splitexit.study._spec:Study")],
        "variants": [InstanceOf(dict)],
        "samples": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping")],
        "work": [PathLike()],
        "loss": [Interval(float, 0, None)],
        "runs": [Interval(int, 1, None, closed="left")],
        "progress": [Callable_(), None],
        "metric": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
        "quotas": [InstanceOf(dict, "collections.abc:Mapping", name="a mapping"), None],
    }
)
def plan_study(
    study: Study,
    variants: dict[str, dict[str, Variant]],
    samples: Mapping[str, Samples],
    work: Path,
    *,
    loss: float = 1.0,
    runs: int = 50,
    progress: Callable[[str], None] | None = None,
    metric: Mapping[str, Mapping[str, float]] | None = None,
    quotas: Mapping[str, tuple[int, int]] | None = None,
) -> list[PlannerPick]:
    """Profile each subject's variants, plan the three requirements over them, and add the
    extra strategies' deployable variants to ``variants`` (subject -> operator -> variant).

    ``metric`` (subject -> operator -> percent) replaces a subject's profiled accuracy (top-1
    on labels, or agreement with itself) by the study's own metric, e.g. mIoU for a
    segmentation subject; such a subject's "fastest" has no chance level (floor 0).
    ``quotas`` (tier name -> (quota_us, period_us), ``RuntimeExecutor.cpu_quotas``; empty
    or None in ``sleep`` mode, which then plans exactly as before) re-estimates the
    candidates with the CFS staircase (module docstring)."""
    say = progress or (lambda line: None)
    names = [t.name for t in study.topology.tiers]
    picks: list[PlannerPick] = []
    for subject, built in variants.items():
        folder = work / f"planner-{subject}"
        folder.mkdir(parents=True, exist_ok=True)
        profiles = _profiles(samples[subject], built, folder, runs)
        if not profiles:
            continue
        chance = 1.0 / max(2, min(p.num_classes for p in profiles.values()))
        if metric is not None and subject in metric:
            chance = 0.0
            for op, profile in profiles.items():
                if op in metric[subject]:
                    accuracy = profile.accuracy.copy()
                    accuracy[-1] = metric[subject][op] / 100.0
                    profiles[op] = replace(profile, accuracy=accuracy)
        cuts = study_cuts(built)
        inputs = {v: ModelInputs.build(p, study.topology) for v, p in profiles.items()}
        known = [
            found
            for op, tiers in study.cells
            if (
                found := strategy_configuration(study, Strategy(subject, op, tiers), profiles, cuts)
            )
        ]
        topo = study.topology
        staircase = [
            staircase_point(v, c, estimate(inputs[v], c), profiles[v], topo, quotas or {})
            for v, c in known
        ]
        budget = float(np.median([p.latency_s for p in staircase]))
        say(f"{subject}: planning over {', '.join(profiles)} (budget {1e3 * budget:.3g} ms)")
        for kind, name, requirement in _requirements(profiles, budget, loss, chance):
            best: PlanPoint | None
            try:
                best = plan(profiles, topo, estimator="paper", **requirement).best  # type: ignore[arg-type]
            except InfeasibleError as exc:
                if not quotas:
                    say(f"{subject}: {name}: {exc}")
                    continue
                best = None
            if quotas:
                points = list(staircase)
                if best is not None:
                    v = best.variant or "I"
                    points.append(
                        staircase_point(v, best.config, best.estimate, profiles[v], topo, quotas)
                    )
                try:
                    best = staircase_best(points, requirement)
                except InfeasibleError as exc:
                    say(f"{subject}: {name}: {exc}")
                    continue
            assert best is not None  # sleep mode continued above when infeasible
            floor = requirement.get("min_accuracy", 0.0) - _ANY_ACCURACY
            pick = _pick(study, subject, (kind, name), best, profiles, cuts, names, budget, floor)
            if best.config.partition[-1] != profiles[pick.variant].num_blocks - 1 or (
                "?" in pick.strategy.tiers
            ):
                say(f"{subject}: {name}: {pick.strategy.label} cannot be deployed; not checked")
                continue
            picks.append(pick)
            if pick.extra and pick.strategy.operator not in built:
                base = built[pick.variant]
                target = folder / pick.strategy.operator.replace("/", "-")
                built[pick.strategy.operator] = (
                    base if not pick.cuts else _deployable(base, target, pick.cuts)
                )
            say(
                f"{subject}: {name}: {pick.strategy.operator}@{pick.strategy.tiers}"
                + (" (extra)" if pick.extra else "")
            )
    return picks


def staircase_point(
    variant: str,
    config: Configuration,
    linear: Estimate,
    profile: Profile,
    topology: Topology,
    quotas: Mapping[str, tuple[int, int]],
) -> PlanPoint:
    """The planner's ``linear`` estimate of ``config`` with each partition's compute on a
    CPU-quota tier (``quotas``: tier name -> (quota_us, period_us)) replaced by the CFS
    staircase (``piece_compute_s``), weighted by the share of samples that reach the
    partition (the estimate's exit rates). Without quotas the estimate is unchanged."""
    delta, reach, first = 0.0, 1.0, 0
    for k, (last, a) in enumerate(zip(config.partition, config.placement, strict=True)):
        tier = topology.tiers[a]
        limit = quotas.get(tier.name)
        if limit is not None:
            t = float(profile.block_compute_s[first : last + 1].sum())
            ratio = tier.compute_ratio
            delta += reach * (piece_compute_s(t, ratio, limit) - t * ratio)
        reach -= linear.exit_rates[k]
        first = last + 1
    return PlanPoint(config, replace(linear, compute_s=linear.compute_s + delta), variant=variant)


def staircase_best(points: Sequence[PlanPoint], requirement: Mapping[str, float]) -> PlanPoint:
    """The point answering ``requirement`` (``min_accuracy``: the fastest above it;
    ``max_latency_s``: the most accurate within it, then the fastest); ties go to the
    earlier point. InfeasibleError when none does."""
    if "max_latency_s" in requirement:
        ok = [p for p in points if p.latency_s <= requirement["max_latency_s"]]
        best = min(ok, key=lambda p: (-p.accuracy, p.latency_s), default=None)
    else:
        ok = [p for p in points if p.accuracy >= requirement.get("min_accuracy", 0.0)]
        best = min(ok, key=lambda p: p.latency_s, default=None)
    if best is None:
        wanted = dict(requirement)
        raise InfeasibleError(f"no strategy meets {wanted} under the CPU-quota staircase")
    return best


def _pick(
    study: Study,
    subject: str,
    requirement: tuple[str, str],
    best: PlanPoint,
    profiles: Mapping[str, Profile],
    cuts: Mapping[str, tuple[str, ...]],
    names: list[str],
    budget: float,
    floor: float = 0.0,
) -> PlannerPick:
    variant = best.variant or "I"
    profile = profiles[variant]
    config = best.config
    strategy, extra = pick_strategy(study, subject, variant, config, profile, cuts)
    bounds = profile.onnx.cuts if profile.onnx is not None else ()
    kind, name = requirement
    return PlannerPick(
        subject=subject,
        kind=kind,
        requirement=name,
        variant=variant,
        partition=tuple(p + 1 for p in config.partition),
        placement=tuple(names[a] for a in config.placement),
        cuts=tuple(tuple(bounds[p]) for p in config.partition[:-1]),
        predicted_s=best.latency_s,
        predicted_accuracy=best.accuracy,
        strategy=strategy,
        extra=extra,
        budget_s=budget if kind == "budget" else None,
        min_accuracy=100.0 * float(floor) if kind == "fastest" else 0.0,
    )
