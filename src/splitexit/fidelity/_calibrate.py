"""The calibrated model: the paper's path cost plus the costs the runtime pays and it misses.

The emulated testbed charges exactly what the paper's model charges (PL + bits * IB per
transfer, R_j t per partition); what remains of a measured latency is real work: encoding,
gRPC and decoding of every message, the ONNX Runtime call and the sleep's overshoot. The
per-hop timestamps of a measurement split it without any guess:

    input gap    = arrive_1 - input_link                         (message: the input)
    forward gap  = arrive_{k+1} - (arrive_k + busy_k + link_k)   (message: activation k)
    result gap   = latency - (arrive_e + busy_e + link_e)        (message: the result)
    call excess  = busy_k - R[A_k] t_k                           (partition k's call)

and they sum, with the charged delays, to the measured latency. On kernel-shaped links
(``network: netns``) nobody sleeps the charged delays and the receiver adds the propagation
(and the bucket credit) after stamping the arrival: the gaps are read from arrive + what it
waited, minus what the model charges each message (``_netns_timing``). The model:

    input message   a_in                 result message   a_out
    forward message a_fwd + b * bits     partition call   c + d * R[A_k] t_k

An input or result message that crosses no link (partition 1 on the source tier, an exit on
the destination tier) has its own intercept (``input_local_s``, ``result_local_s``): on the
testbed such a message leaves a sender that did not just sleep through an emulated link, and
gRPC is measurably cheaper then (about 0.4 ms of thread and poller wake-up less on this
machine). A kind seen in fewer than two of the fitted files takes the other kind's value.

**Messages after a pause.** A gRPC message costs more the longer its channel and threads
were idle (``benchmarks/bench_grpc_idle.py``: 0.56 ms back to back, 1.3 ms after 10 ms), and
with one client every channel idles for about the sample cycle (its latency plus the
driver's pause before the next send). Every message therefore also costs
g x min(cycle, ``IDLE_CAP_S``): g (``idle_scale``, >= 0) is the least-absolute-deviations
slope of each (file, message kind)'s mean cost against the file's min(mean cycle, cap), with
one intercept per kind; the kinds' intercepts below are then read from the costs minus
g x min(cycle, cap). A prediction solves cycle = predicted mean latency + the fitted files'
median pause (``pause_s``) by iteration. Where every fitted cycle is beyond the cap, g is 0
and nothing changes (docs/fidelity.md, "Session 11").

The coefficients are read robustly, because a disturbance (another process on the machine)
hits a whole run, or a few messages, and would drag a plain least-squares fit: each slope
(b, d) is the count-weighted line through the median observation at each distinct size (or
R t), b at least 0 and 0 with one size; each intercept is the median over configurations of
that configuration's mean of (observed - slope * x), so it keeps the usual tail of the
messages but not one run's disturbance. The distribution adds the residuals (measured -
calibrated, at the measured exit) per path (``fidelity._spread``): 100 centred quantiles
every sample has, plus 100 per link its messages cross; the first also carries the mean of
the pooled residual quantiles (per configuration 100, the median over configurations at each
level), the bias left by fitting per message. Fit on other configurations than the one
predicted (``compare_many`` leaves each one out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
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
from splitexit.fidelity._predict import COMPUTE_SOURCES, ComputeSource, PathCosts, links_crossed
from splitexit.fidelity._spread import SPREADS, Spread, fit_path_spread, levels

__all__ = ["Calibration", "calibrate"]

FloatArray = npt.NDArray[np.float64]
IDLE_CAP_S = 0.010  # a pause beyond it costs a message no more (bench_grpc_idle: 10 ms)
_MIN_IDLE_MESSAGES = 20  # a (file, kind) mean of fewer messages does not enter g


@returned_type
@dataclass(frozen=True, eq=False)
class Calibration:
    """Fitted overheads (seconds) of the runtime, on top of the paper's path cost."""

    compute: ComputeSource  # compute source of the path costs it was fitted on
    input_s: float  # a_in
    forward_s: float  # a_fwd
    per_bit_s: float  # b, forwards only
    result_s: float  # a_out
    call_s: float  # c, per partition call
    call_scale: float  # d, relative to R t
    jitter_s: FloatArray  # residual quantiles (measured - calibrated)
    fitted_on: tuple[str, ...]  # names of the measurements it was fitted on
    samples: int = 0
    input_local_s: float | None = None  # a_in of an input that crosses no link (else a_in)
    result_local_s: float | None = None  # a_out of a result that crosses no link
    idle_scale: float = 0.0  # g: what a message costs more per second of cycle (<= the cap)
    pause_s: float = 0.0  # the driver's pause between a result and the next send (fitted)
    # centred: what each link a sample's messages cross adds to ``jitter_s``, level by level
    jitter_per_link_s: FloatArray | None = None

    def overhead_s(self, costs: PathCosts, cycle_s: float = IDLE_CAP_S) -> FloatArray:
        """What a sample leaving at each partition e pays on top of ``costs``: (L,), its
        messages sent after a pause of ``cycle_s`` (the cap, where it saturates, by default)."""
        count = len(costs.work_s)
        forwards = self.forward_s + self.per_bit_s * costs.forward_bits
        hops = np.concatenate([[0.0], np.cumsum(forwards)])
        calls = self.call_s * np.arange(1, count + 1) + self.call_scale * np.cumsum(costs.work_s)
        inputs = self.input_s
        if costs.input_local and self.input_local_s is not None:
            inputs = self.input_local_s
        results = np.full(count, self.result_s)
        if costs.result_local is not None and self.result_local_s is not None:
            results[costs.result_local] = self.result_local_s
        idle = self.idle_scale * min(cycle_s, IDLE_CAP_S) * (np.arange(count) + 2.0)
        return np.asarray(inputs + hops + results + calls + idle, dtype=np.float64)

    def solve_cycle(self, costs: PathCosts, leave: npt.NDArray[np.int64]) -> float:
        """The one-client cycle this model predicts for samples leaving at ``leave``: their
        mean predicted latency at that cycle plus the pause (solved by iteration; the cap
        when g = 0)."""
        if self.idle_scale <= 0 or leave.size == 0:
            return IDLE_CAP_S
        base = float(np.mean(costs.latency_s[leave])) + float(self.jitter_s.mean())
        cycle = IDLE_CAP_S
        for _ in range(50):  # a contraction while g x messages < 1
            extra = float(np.mean(self.overhead_s(costs, cycle)[leave]))
            cycle = base + extra + self.pause_s
        return cycle

    def to_dict(self) -> dict[str, Any]:
        return {
            "compute": self.compute,
            "input_s": self.input_s,
            "forward_s": self.forward_s,
            "per_bit_s": self.per_bit_s,
            "result_s": self.result_s,
            "input_local_s": self.input_local_s,
            "result_local_s": self.result_local_s,
            "call_s": self.call_s,
            "call_scale": self.call_scale,
            "idle_scale": self.idle_scale,
            "pause_s": self.pause_s,
            "jitter_quantiles_s": {
                f"p{q}": float(np.percentile(self.jitter_s, q)) for q in (1, 50, 95, 99)
            },
            "jitter_per_link_quantiles_s": (
                None
                if self.jitter_per_link_s is None
                else {
                    f"p{q}": float(np.percentile(self.jitter_per_link_s, q))
                    for q in (1, 50, 95, 99)
                }
            ),
            "fitted_on": list(self.fitted_on),
            "samples": self.samples,
        }


@dataclass
class _Observations:
    """What the fitted files show, one entry per message or call: (file, x, y)."""

    file: list[int] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def add(self, file: int, x: FloatArray, y: FloatArray) -> None:
        self.file += [file] * len(y)
        self.x += x.tolist()
        self.y += y.tolist()

    def fit(self, *, floor: float | None = None) -> tuple[float, float]:
        """(intercept, slope) of y = intercept + slope * x, robust to a disturbed file.

        The slope is the count-weighted least-squares line through the median y at each
        distinct x (0 with one x; at least ``floor``); the intercept is the median over files
        of each file's mean of y - slope * x, so it carries a file's usual tail but not one
        file's disturbance.
        """
        file, x, y = np.array(self.file), np.array(self.x), np.array(self.y)
        values, where, counts = np.unique(x, return_inverse=True, return_counts=True)
        slope = 0.0
        if len(values) > 1:
            medians = np.array([np.median(y[where == g]) for g in range(len(values))])
            slope = float(np.polyfit(values, medians, 1, w=np.sqrt(counts))[0])
        if floor is not None:
            slope = max(slope, floor)
        rest = y - slope * x
        return float(np.median([rest[file == f].mean() for f in np.unique(file)])), slope


def _observe(
    case: FidelityCase, costs: PathCosts, file: int, obs: dict[str, _Observations]
) -> None:
    m = case.measurement
    sample, part = m.hop_sample, m.hop_partition
    last = part == m.exit[sample]
    first = part == 0
    start, link, input_link = m.arrive_s, m.link_s, m.input_link_s[sample[first]]
    if m.network == "netns":
        start, link, input_link = _netns_timing(case, last)
    departure = start + m.busy_s + link
    following = np.append(start[1:], 0.0)  # hops are stored in order within a sample
    gap = np.where(last, m.latency_s[sample], following) - departure
    kind = "input-local" if costs.input_local else "input"
    obs[kind].add(file, np.zeros(int(first.sum())), start[first] - input_link)
    local = np.zeros(len(part), dtype=bool)
    if costs.result_local is not None:
        local = costs.result_local[part]
    for kind, chosen in (("result", last & ~local), ("result-local", last & local)):
        obs[kind].add(file, np.zeros(int(chosen.sum())), gap[chosen])
    forward = ~last
    bits = np.append(costs.forward_bits, 0.0)[part]
    obs["forward"].add(file, bits[forward], gap[forward])
    obs["call"].add(file, costs.work_s[part], m.busy_s - costs.work_s[part])


def _netns_timing(case: FidelityCase, last: npt.NDArray[np.bool_]) -> tuple[FloatArray, ...]:
    """On kernel-shaped links the sender sleeps nothing (``link_s`` = 0) and the receiver
    adds the propagation after it stamps the arrival (and, in files that record it as the
    hop's ``receive_s``, the links' bucket credit): each hop really starts at arrive +
    ``receive_s`` (PL[previous tier, its tier] in older files), and what the model charges
    a message (PL + bits * IB, the sizes sent) is inside the gaps. Returns (start, charge
    of the outgoing message per hop, charge of each input) so that the gaps are the excess,
    as on the emulated testbed."""
    m, topo = case.measurement, case.topology
    pl, ib = topo.path_latency, topo.path_inverse_bandwidth
    tiers = np.array(case.deployment.placement)
    part = m.hop_partition
    previous = np.concatenate([[topo.source], tiers[:-1]])
    waited = m.receive_s if m.receive_s is not None else pl[previous[part], tiers[part]]
    start = m.arrive_s + waited
    forward_bits = np.array([float(p.activation_bits or 0.0) for p in m.partitions])
    result_bits = np.array([p.result_bits for p in m.partitions])
    here = tiers[part]
    there = np.where(last, topo.destination, tiers[np.minimum(part + 1, len(tiers) - 1)])
    bits = np.where(last, result_bits[part], forward_bits[part])
    charge = pl[here, there] + bits * ib[here, there]
    first = tiers[0]
    inputs = np.full(int((part == 0).sum()), pl[topo.source, first])
    inputs += m.input_bits * ib[topo.source, first]
    return start, charge, inputs


@validate_params(
    {
        "cases": [InstanceOf(list, tuple)],
        "compute": [Options(COMPUTE_SOURCES)],
        "spread": [Options(SPREADS)],
    }
)
def calibrate(
    cases: Sequence[FidelityCase], *, compute: ComputeSource = "runtime", spread: Spread = "path"
) -> Calibration:
    """Fit the runtime's overheads on ``cases`` (never include the one to predict).

    ``spread="pooled"`` keeps one residual spread for every path (the model before the
    spread per link crossed, for comparisons).

    ``compute`` picks the path costs the overheads are added to: ``"runtime"`` (each
    partition's measured ONNX Runtime time) or ``"paper"`` (the profile's times, so that
    ``call_scale`` also learns how far they are from what runs).
    """
    usable = [case for case in cases if case.measurement.delivered.any()]
    if not usable:
        raise InputError("calibration needs at least one measurement with delivered samples")
    # fitted on the paper's path costs: its message intercepts replace the topology's
    # overheads, never add to them
    costs = [case.costs(compute, overheads=False) for case in usable]
    kinds = ("input", "input-local", "result", "result-local", "forward", "call")
    obs = {kind: _Observations() for kind in kinds}
    for file, (case, cost) in enumerate(zip(usable, costs, strict=True)):
        _observe(case, cost, file, obs)
    pauses = np.array([_pause(case) for case in usable])
    means = [float(np.mean(c.measurement.latency_s[c.measurement.delivered])) for c in usable]
    cycles = np.minimum(np.array(means) + pauses, IDLE_CAP_S)  # each file's capped cycle
    idle_scale = _idle_scale(obs, cycles)
    for kind in ("input", "input-local", "result", "result-local", "forward"):
        o = obs[kind]  # what is left of each message once its pause is charged
        o.y = [y - idle_scale * cycles[f] for f, y in zip(o.file, o.y, strict=True)]
    input_s, input_local_s = _pair(obs["input"], obs["input-local"])
    result_s, result_local_s = _pair(obs["result"], obs["result-local"])
    if obs["forward"].y:
        forward_s, per_bit = obs["forward"].fit(floor=0.0)  # a bit cannot save time
    else:  # no fitted file forwarded anything: a message like the others
        forward_s, per_bit = (input_s + result_s) / 2, 0.0
    call_s, call_scale = obs["call"].fit()
    partial = Calibration(
        compute, input_s, forward_s, per_bit, result_s, call_s, call_scale, np.zeros(1), (),
        input_local_s=input_local_s, result_local_s=result_local_s, idle_scale=idle_scale,
    )  # fmt: skip
    quantiles, residuals, links = [], [], []
    for case, cost, cycle in zip(usable, costs, cycles, strict=True):
        m = case.measurement
        leave = m.exit[m.delivered]
        predicted = cost.latency_s[leave] + partial.overhead_s(cost, float(cycle))[leave]
        residuals.append(m.latency_s[m.delivered] - predicted)
        links.append(links_crossed(case.topology, case.deployment)[leave])
        quantiles.append(np.percentile(residuals[-1], levels()))
    # the spread per path, centred; the pooled quantiles' mean, the bias left by fitting
    # per message rather than per sample, stays in ``jitter_s``
    pooled = np.median(np.array(quantiles), axis=0)
    base, per_link = fit_path_spread(residuals, links)
    bias = float(pooled.mean())
    return Calibration(
        compute=compute,
        input_s=input_s,
        forward_s=forward_s,
        per_bit_s=per_bit,
        result_s=result_s,
        call_s=call_s,
        call_scale=call_scale,
        jitter_s=base + bias if spread == "path" else pooled,
        fitted_on=tuple(case.name for case in usable),
        samples=int(sum(case.measurement.delivered.sum() for case in usable)),
        input_local_s=input_local_s,
        result_local_s=result_local_s,
        idle_scale=idle_scale,
        pause_s=float(np.median(pauses)),
        jitter_per_link_s=per_link if spread == "path" else None,
    )


def _pause(case: FidelityCase) -> float:
    """Mean time between a result's arrival and the client's next send (s), 0 without the
    send and arrival times: a one-client run's mean cycle is its mean latency plus it. In
    an interleaved run only within a block (between blocks the run waited for others)."""
    m = case.measurement
    if m.sent_s is None or m.received_s is None or m.delivered.sum() < 2:
        return 0.0
    sent, received = m.sent_s[m.delivered], m.received_s[m.delivered]
    order = np.argsort(sent, kind="stable")
    gaps = sent[order][1:] - received[order][:-1]
    if m.block is not None:  # interleaved: the wait for the other runs' blocks is no pause
        block = m.block[m.delivered][order]
        gaps = gaps[block[1:] == block[:-1]]
    gaps = gaps[np.isfinite(gaps)]
    return float(np.mean(np.maximum(gaps, 0.0))) if gaps.size else 0.0


def _idle_scale(obs: dict[str, _Observations], cycles: FloatArray) -> float:
    """g >= 0: the least-absolute-deviations slope of each (file, message kind)'s mean cost
    against its file's capped cycle, one intercept per kind (inputs and results, which carry
    no size); 0 where the cycles do not vary or too few files show it."""
    rows: list[tuple[int, int, float]] = []  # (kind, file, mean cost)
    kinds = ("input", "input-local", "result", "result-local")
    for k, kind in enumerate(kinds):
        o = obs[kind]
        files, y = np.array(o.file, dtype=np.int64), np.array(o.y, dtype=np.float64)
        counts = np.bincount(files) if files.size else np.zeros(0, dtype=np.int64)
        rows += [
            (k, int(f), float(y[files == f].mean()))
            for f in np.unique(files)
            if counts[f] >= _MIN_IDLE_MESSAGES
        ]
    used = {f for _, f, _ in rows}
    if len(used) < 3 or float(np.ptp(cycles[sorted(used)])) < 1e-6:
        return 0.0
    from scipy.optimize import linprog

    n, width = len(rows), len(kinds)
    design = np.zeros((n, width + 1))
    for i, (k, f, _) in enumerate(rows):
        design[i, k], design[i, width] = 1.0, cycles[f]
    target = np.array([m for _, _, m in rows])
    cost = np.concatenate([np.zeros(width + 1), np.ones(2 * n)])
    bounds = [(None, None)] * width + [(0.0, None)] + [(0.0, None)] * (2 * n)
    found = linprog(
        cost, A_eq=np.hstack([design, np.eye(n), -np.eye(n)]), b_eq=target, bounds=bounds,
        method="highs",
    )  # fmt: skip
    return float(found.x[width]) if found.success else 0.0


_MIN_FILES = 2  # a message kind seen in fewer fitted files takes the other kind's intercept


def _pair(link: _Observations, local: _Observations) -> tuple[float, float]:
    """Intercepts of a message kind crossing links and crossing none. A kind seen in fewer
    than two fitted files takes the other's value, so that one disturbed file cannot set an
    intercept alone (the median over files needs company)."""
    fitted = [obs.fit()[0] if len(set(obs.file)) >= _MIN_FILES else None for obs in (link, local)]
    if fitted[0] is None and fitted[1] is None:  # few files in all: pool both kinds
        pooled = _Observations(link.file + local.file, link.x + local.x, link.y + local.y)
        value = pooled.fit()[0]
        return value, value
    a = fitted[0] if fitted[0] is not None else fitted[1]
    b = fitted[1] if fitted[1] is not None else fitted[0]
    assert a is not None and b is not None
    return a, b
