"""What the planner returns: typed points, baselines, the requirement, and their JSON form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from splitexit._validation import (
    returned_type,
)
from splitexit.configuration import Configuration
from splitexit.perfmodel import Estimate
from splitexit.planner._sweep import SampledPoints
from splitexit.profile import Profile
from splitexit.topology import Topology

__all__ = ["Baseline", "Plan", "PlanPoint", "Requirement"]

RequirementKind = Literal["min_accuracy", "max_latency", "near_best_accuracy"]


@returned_type
@dataclass(frozen=True)
class PlanPoint:
    """One configuration with its estimate; ``per_exit`` when the planner gave every exit
    its own threshold (the JSON form then lists them)."""

    config: Configuration
    estimate: Estimate
    per_exit: bool = False
    variant: str | None = None  # the operator variant (I, Q, E, QE, ...) when planning several

    @property
    def threshold(self) -> float | tuple[float, ...] | None:
        """T (``None`` when no exit is selected: L = 1 or no early exit), or one T per
        selected exit but the last with per-exit thresholds."""
        if not self.config.thresholds:
            return None
        return self.config.thresholds if self.per_exit else self.config.thresholds[0]

    @property
    def latency_s(self) -> float:
        return self.estimate.latency_s

    @property
    def accuracy(self) -> float:
        return self.estimate.accuracy

    def to_dict(self, topology: Topology) -> dict[str, Any]:
        """The JSON form: 1-based block indices P_k, tier names A_k, SI seconds."""
        est = self.estimate
        names = [tier.name for tier in topology.tiers]
        data = {
            **({} if self.variant is None else {"variant": self.variant}),
            **self.config.to_json(names, per_exit=self.per_exit),
            "accuracy": est.accuracy,
            "latency_s": est.latency_s,
            "compute_s": est.compute_s,
            "transmission_s": est.transmission_s,
            "propagation_s": est.propagation_s,
            "exit_rates": list(est.exit_rates),
        }
        if not topology.overheads.is_zero:  # the topology's per-message overheads
            data["overhead_s"] = est.overhead_s
        return data


@returned_type
@dataclass(frozen=True)
class Baseline:
    """A reference deployment computed on the same model, and how much faster ``best`` is."""

    name: str
    description: str
    point: PlanPoint
    speedup: float | None  # baseline latency / recommended latency (None if that is 0)

    def to_dict(self, topology: Topology) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            **self.point.to_dict(topology),
            "speedup_of_best": self.speedup,
        }


@returned_type
@dataclass(frozen=True)
class Requirement:
    """The problem solved: P_lat (``min_accuracy``) or P_acc (``max_latency``) of section 2.4.

    ``near_best_accuracy`` is the default without a requirement: P_lat with epsilon set to
    the best achievable accuracy minus ``margin``.
    """

    kind: RequirementKind
    value: float  # accuracy in [0, 1] or latency in seconds
    margin: float = 0.0

    def describe(self) -> str:
        if self.kind == "min_accuracy":
            return f"minimum latency with accuracy >= {self.value:.2%}"
        if self.kind == "max_latency":
            return f"maximum accuracy with latency <= {self.value * 1e3:.6g} ms"
        return (
            f"no requirement given: minimum latency within {self.margin * 100:g} percentage "
            f"point of the best achievable accuracy (accuracy >= {self.value:.2%})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "description": self.describe()}


@returned_type
@dataclass(frozen=True, eq=False)
class Plan:
    """The planner's answer: the recommendation, the Pareto frontier and the baselines."""

    profile: Profile
    topology: Topology
    accuracy_source: str
    requirement: Requirement
    best: PlanPoint
    pareto: tuple[PlanPoint, ...]
    baselines: tuple[Baseline, ...]
    configurations_evaluated: int
    solver: str
    estimator: str
    per_exit_thresholds: bool
    elapsed_s: float
    samples: SampledPoints
    states_explored: int | None = None  # exact solver only
    labels_kept: int | None = None  # exact solver only
    # planning over operator variants: their labels, in the order given (ties go to the
    # earlier one), and each one's profile; empty for a single profile
    variants: tuple[str, ...] = ()
    variant_profiles: tuple[Profile, ...] = ()

    @property
    def subject(self) -> str:
        """What was planned, for titles: the profile's model, or the variants' labels."""
        return f"variants {', '.join(self.variants)}" if self.variants else self.profile.model

    def to_dict(self) -> dict[str, Any]:
        """Everything ``splitexit plan --json`` writes."""
        topo = self.topology
        return {
            "model": self.profile.model,
            "dataset": self.profile.dataset,
            "topology": topo.name,
            "source": topo.tiers[topo.source].name,
            "destination": topo.tiers[topo.destination].name,
            "accuracy_source": self.accuracy_source,
            "solver": self.solver,
            "estimator": self.estimator,
            "per_exit_thresholds": self.per_exit_thresholds,
            "requirement": self.requirement.to_dict(),
            "configurations_evaluated": self.configurations_evaluated,
            "states_explored": self.states_explored,
            **(
                {}
                if not self.variants
                else {
                    "variants": [
                        {"variant": v, "model": p.model, "num_blocks": p.num_blocks}
                        for v, p in zip(self.variants, self.variant_profiles, strict=True)
                    ]
                }
            ),
            "labels_kept": self.labels_kept,
            "elapsed_s": self.elapsed_s,
            "best": self.best.to_dict(topo),
            "pareto": [point.to_dict(topo) for point in self.pareto],
            "baselines": [baseline.to_dict(topo) for baseline in self.baselines],
        }
