"""Fit the topology's per-message overheads once per network, from measurements.

The paper's model charges a sample its compute and, for every message the runtime sends (the
input, each activation forwarded between partitions, the result), PL + bits * IB over the
links it crosses. What a measured sample took beyond that path cost (with each partition's
measured ONNX Runtime time and the sizes the workers sent, the ``runtime-timed`` figures) is
what the model lacks: encoding, gRPC or frames, TCP, forwarding in the middle tiers, thread
wake-ups, the sleep's overshoot. The term fitted is

    residual = per_message * (messages the sample sent) + per_hop * (links they crossed)

(a sample leaving at partition e sent e + 1 messages: the input, e - 1 forwards, the result).
Whole samples are used, not the per-hop timestamps: on kernel-shaped links the receiver
adds the propagation after it stamps the arrival, so single messages are misattributed, but a
sample's total is not. The fit is a least-absolute-deviations line through each file's means
(mean residual, mean messages, mean links crossed), both coefficients at least 0: a file's
usual tail counts (the mean latency needs it), one disturbed run does not drag the line.
Where the links crossed do not vary apart from the messages in the fitted files, per_hop is
0 and per_message the median of the files' residual per message.

The fit also keeps how samples vary around the model with the term, per path: 100 centred
quantiles every sample has (``jitter_s``) and 100 each link its messages cross adds
(``jitter_per_link_s``), fitted on (residual - the term's charge) by ``fidelity._spread``.
Without them the replay gives every sample of an exit the same latency, and the predicted
p99 of a configuration with one exit is its mean (docs/fidelity.md, "p99"); with them the
predicted distribution is the mixture of each sample's latency plus each level's spread of
its path, the mean unchanged.

Fit it on measurements of one network (compute mode, transport, emulated or netns) and
predict *other* configurations with the topology it writes (``Overheads``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Options,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.fidelity._case import FidelityCase
from splitexit.fidelity._predict import links_crossed
from splitexit.fidelity._spread import SPREADS, Spread, fit_path_spread, levels
from splitexit.topology import Overheads, Topology

__all__ = ["OverheadFit", "SampleResiduals", "fit_overheads", "sample_residuals"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@returned_type
@dataclass(frozen=True, eq=False)
class SampleResiduals:
    """One measurement's delivered samples: arrays (samples,)."""

    residual_s: FloatArray  # measured latency - the paper's path cost (runtime-timed)
    messages: IntArray  # messages the sample sent
    hops: IntArray  # links those messages crossed, summed


@validate_params({"case": [InstanceOf(FidelityCase)]})
def sample_residuals(case: FidelityCase) -> SampleResiduals:
    """What each delivered sample of ``case`` took beyond the paper's path cost, and the
    messages and links crossed of its path."""
    m = case.measurement
    topo = case.topology
    costs = case.costs("runtime", overheads=False)
    leave = m.exit[m.delivered]
    hops = links_crossed(topo, case.deployment)
    return SampleResiduals(
        residual_s=np.asarray(m.latency_s[m.delivered] - costs.latency_s[leave], np.float64),
        messages=(leave + 2).astype(np.int64),
        hops=hops[leave].astype(np.int64),
    )


@returned_type
@dataclass(frozen=True, eq=False)
class OverheadFit:
    """The per-message overheads of one network, and what they were fitted on."""

    per_message_s: float
    per_hop_s: float
    samples: int
    fitted_on: tuple[str, ...]
    setting: tuple[str, str]  # (compute mode, transport) of the fitted files
    network: str  # the testbed's network of the fitted files ("emulated" or "netns")
    file_means: FloatArray  # (files, 3): mean residual (s), messages, links crossed
    jitter_s: FloatArray = field(default_factory=lambda: np.zeros(0))  # centred quantiles
    # centred quantiles each link crossed adds (``fidelity._spread``); empty: none
    jitter_per_link_s: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def overheads(self) -> Overheads:
        names = ", ".join(self.fitted_on[:3]) + (" ..." if len(self.fitted_on) > 3 else "")
        note = (
            f"fitted by splitexit fidelity-overheads on {len(self.fitted_on)} measurement(s) "
            f"({self.samples} samples; network {self.network}, transport {self.setting[1]}, "
            f"compute {self.setting[0]}): {names}"
        )
        return Overheads(
            self.per_message_s,
            self.per_hop_s,
            note,
            tuple(float(v) for v in self.jitter_s),
            tuple(float(v) for v in self.jitter_per_link_s),
        )

    def topology(self, base: Topology) -> Topology:
        """``base`` with these overheads."""
        return replace(base, overheads=self.overheads)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_message_s": self.per_message_s,
            "per_hop_s": self.per_hop_s,
            "samples": self.samples,
            "fitted_on": list(self.fitted_on),
            "compute_mode": self.setting[0],
            "transport": self.setting[1],
            "network": self.network,
            "jitter_s": self.jitter_s.tolist(),
            "jitter_per_link_s": self.jitter_per_link_s.tolist(),
            "files": [
                {"file": name, "residual_s": r, "messages": msg, "hops": hop}
                for name, (r, msg, hop) in zip(
                    self.fitted_on, self.file_means.tolist(), strict=True
                )
            ],
        }


@validate_params(
    {
        "residual": [InstanceOf(np.ndarray)],
        "messages": [InstanceOf(np.ndarray)],
        "hops": [InstanceOf(np.ndarray)],
    }
)
def least_absolute(
    residual: FloatArray, messages: FloatArray, hops: FloatArray
) -> tuple[float, float]:
    """(per_message, per_hop) >= 0 minimising sum |residual - per_message * messages -
    per_hop * hops| (a linear programme, scipy's HiGHS); per_hop is 0 where the hops do not
    vary apart from the messages."""
    from scipy.optimize import linprog

    design = np.column_stack([messages, hops])
    if np.linalg.matrix_rank(design, tol=1e-9 * max(1.0, float(np.abs(design).max()))) < 2:
        return float(max(np.median(residual / messages), 0.0)), 0.0
    n = len(residual)
    # variables: per_message, per_hop, then the positive and negative parts of each error
    cost = np.concatenate([[0.0, 0.0], np.ones(2 * n)])
    equality = np.hstack([design, np.eye(n), -np.eye(n)])
    found = linprog(cost, A_eq=equality, b_eq=residual, bounds=(0, None), method="highs")
    if not found.success:  # pragma: no cover - a feasible, bounded programme always solves
        raise InputError(f"the overhead fit failed: {found.message}")
    return float(found.x[0]), float(found.x[1])


@validate_params({"cases": [InstanceOf(list, tuple)], "spread": [Options(SPREADS)]})
def fit_overheads(cases: Sequence[FidelityCase], *, spread: Spread = "path") -> OverheadFit:
    """Fit ``per_message`` and ``per_hop`` on ``cases``, all of one network, compute mode
    and transport (never include a configuration you mean to predict with the result).

    ``spread="pooled"`` keeps one spread for every path, the median over files of their
    quantiles (the tail term before the spread per link crossed, for comparisons)."""
    usable = [case for case in cases if case.measurement.delivered.any()]
    if not usable:
        raise InputError("fitting overheads needs at least one measurement with delivered samples")
    settings = {(c.measurement.setting, c.measurement.network) for c in usable}
    if len(settings) > 1:
        shown = ", ".join(f"{s[0][0]}/{s[0][1]}/{s[1]}" for s in sorted(settings))
        raise InputError(
            f"the measurements mix networks (compute mode/transport/network: {shown}); "
            "fit the overheads of one network at a time"
        )
    names = [t.name for t in usable[0].topology.tiers]
    for case in usable[1:]:
        if [t.name for t in case.topology.tiers] != names:
            raise InputError(
                f"{case.name}: topology {case.topology.name!r} has other tiers than "
                f"{usable[0].name}'s; fit the overheads of one topology at a time"
            )
    found = [sample_residuals(case) for case in usable]
    means = np.array(
        [[r.residual_s.mean(), r.messages.mean(), r.hops.mean()] for r in found], np.float64
    )
    per_message, per_hop = least_absolute(means[:, 0], means[:, 1], means[:, 2])
    left = [r.residual_s - per_message * r.messages - per_hop * r.hops for r in found]
    if spread == "path":
        jitter, per_link = fit_path_spread(left, [r.hops for r in found])
    else:
        pooled = np.median([np.percentile(x, levels()) for x in left], axis=0)
        jitter, per_link = np.asarray(pooled - pooled.mean(), np.float64), np.zeros(0)
    (setting, network), *_ = settings
    return OverheadFit(
        per_message_s=per_message,
        per_hop_s=per_hop,
        samples=int(sum(len(r.residual_s) for r in found)),
        fitted_on=tuple(case.name for case in usable),
        setting=setting,
        network=network,
        file_means=means,
        jitter_s=jitter,
        jitter_per_link_s=per_link,
    )
