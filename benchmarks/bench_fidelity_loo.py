"""Every latency model on the same measurements, each configuration predicted by fits on
the *others* (leave one out): MAPE of the mean, p99 errors, and why p99 misses.

Models (docs/fidelity.md, "Terms" and "p99"):

- ``paper``, ``runtime-timed``: the trace replay, uncalibrated, no term;
- ``+ per-message``: ``fit_overheads`` on the other files (the topology's ``overheads``);
- ``+ per-message + pooled tail``: the same fit with one spread for every path
  (``fit_overheads(spread="pooled")``: the median over the other files of their centred
  residual quantiles around the term), the tail term as it was;
- ``+ per-message + tail per path``: the same fit with its spread per path (``jitter_s``
  every sample has, plus ``jitter_per_link_s`` per link crossed, ``fidelity._spread``);
- ``+ per-message + relative jitter``: a candidate, not in the model: the other files'
  quantiles of measured / (runtime-timed + per-message) - 1, per sample, the median over
  files at each level, centred; a sample's distribution is its latency times (1 + each);
- ``+ per-message after idle``: a candidate, not in the model: a message costs
  per_message + g * min(idle, 10 ms) + per_hop per link, idle being the time since the
  previous sample's send (one client: the cycle; a gRPC call after a pause costs more,
  ``bench_grpc_idle.py``). Fitted like the per-message term (least absolute deviations
  through the files' means, regressors messages, links crossed, messages x min(mean cycle,
  10 ms), all >= 0; a file's mean cycle is its mean latency plus its mean pause between a
  result and the next send); predicted at the fixed point cycle = the predicted mean
  latency + the fitted files' median pause;
- ``calibrated``: ``calibrate`` on the other files (``splitexit fidelity --calibrate``),
  its residual spread per path; ``calibrated, pooled tail``: one spread for all;
- ``..., exposed tail (candidate)``: not in the model: tail per path and calibrated with
  the spread read for each sample's duration (``exposed``; docs/fidelity.md, "Session 12");
  ``calibrated, two-part exposed tail (candidate)``: read for its chance of a delay per
  message and per second (``hit_rates``, ``two_part``);
- ``..., 100 levels (before)``: tail per path and calibrated with their spreads at 100
  quantile levels, as before session 12 (``coarse_levels``; every other row: 500).

Per configuration it also prints what the tail is made of: the exit mix, the measured
p99 - p50 against the predicted, and whether the tail is stable within the run: the p99 of
its first and second half (send order, 250 samples each) against each other. Where they
differ by more than 10%, the run itself does not reproduce its p99 within the target (load
came and went on the shared machine), and no model of the configuration can be held to it.

How precisely a run of 500 samples (5 beyond the p99) measures its p99, three ways:
``p99_intervals`` gives its 95% interval by a bootstrap of the samples (iid), by a moving
block bootstrap (blocks of ``BLOCK`` consecutive samples in send order: slow samples come in
bursts, which an iid bootstrap ignores), and distribution-free from the order statistics
(the ranks r, s with P(r <= Binomial(n, 0.99) < s) >= 95%: for n = 500 the 490th smallest
sample to the largest). The summary counts each model's predictions inside the block and
the order-statistic interval. "Sampling alone": the fraction of (block) bootstrap p99s
within 10% of the measured p99 estimates, per configuration, the chance that a model which
knew the configuration's true p99 lands within 10% of a run like this one; their sum is
such a model's expected count, and ``at_least`` (the Poisson-binomial tail of those 20
chances) the probability that it reaches 18 of 20.

``--tail`` prints, per file, what its slowest 1% (the samples at or above its p99) are
made of: each one's exit, and how much of its excess over the median sample of the same
exit lies in each part of its path, from the hops' timings (``arrive_s`` counts from the
sample's send): ``in`` the transfer to a hop (the previous hop's sending, the kernel's link,
the receiving worker's decoding; the source's send for the first), ``rec`` the receive
charge (propagation and bucket credit: a constant), ``busy`` the compute with its stretch,
``out`` the result's way to the sink. Also how many of them were sent within 0.5 s of
another (a burst), and the fast path's samples right after a slow-path sample against the
fast path's median (a longer pause before the next send), and the share of the main
exit's samples more than ``LATE_S`` beyond its median (how often a delay hits a sample).

``--gaps`` prints, per file, its send cycle (median time between sends) and the mean
observed cost of each message kind and of the call beyond the model (the calibrated model's
observations: input and result with and without a link, forward, call).

Run: ``PYTHONPATH=src python benchmarks/bench_fidelity_loo.py 'runs/x/measurements/*.json'``.
"""

from __future__ import annotations

import argparse
import glob
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from splitexit.fidelity import (
    FidelityCase,
    calibrate,
    fit_overheads,
    links_crossed,
    load_cases,
    predict_samples,
    sample_residuals,
)
from splitexit.fidelity._predict import SamplePrediction
from splitexit.fidelity._spread import MIN_GROUP
from splitexit.topology import Overheads

FloatArray = npt.NDArray[np.float64]
UNSTABLE = 0.10
LEVELS = (np.arange(100) + 0.5) / 100 * 100  # quantile levels, as the fitted jitter's


def _prediction(
    case: FidelityCase, compute: str, overheads: Overheads | None = None, **kwargs: object
) -> SamplePrediction:
    topology = case.topology if overheads is None else replace(case.topology, overheads=overheads)
    return predict_samples(
        case.profile, case.trace, topology, case.deployment, compute=compute,  # type: ignore[arg-type]
        measurement=case.measurement, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def _distribution(
    case: FidelityCase, compute: str, overheads: Overheads | None = None, **kwargs: object
) -> FloatArray:
    return _prediction(case, compute, overheads, **kwargs).distribution(case.rows)


def reference_duration(cases: Sequence[FidelityCase]) -> float:
    """The median mean latency (s) of the (file, links crossed) groups a spread is fitted on
    (``fidelity._spread``: at least ``MIN_GROUP`` samples each)."""
    found = []
    for case in cases:
        m = case.measurement
        latency = m.latency_s[m.delivered]
        crossed = links_crossed(case.topology, case.deployment)[m.exit[m.delivered]]
        for value in np.unique(crossed):
            group = latency[crossed == value]
            if len(group) >= MIN_GROUP:
                found.append(group.mean())
    return float(np.median(found))


def hit_rates(cases: Sequence[FidelityCase]) -> tuple[float, float, float]:
    """(per message, per second, reference chance) of the two-part exposure: a sample with n
    messages lasting D is hit by a delay (more than ``LATE_S`` beyond its group's median) with
    chance 1 - exp(-(a n + b D)); a, b >= 0 fitted by least squares on -log(1 - share) over
    the (file, links crossed) groups of at least ``MIN_GROUP`` samples; the reference is the
    median of the groups' fitted chances (the spread is fitted on those groups)."""
    from scipy.optimize import nnls

    rows, shares = [], []
    for case in cases:
        m = case.measurement
        latency = m.latency_s[m.delivered]
        found = sample_residuals(case)
        for value in np.unique(found.hops):
            inside = found.hops == value
            if inside.sum() >= MIN_GROUP:
                group = latency[inside]
                share = min(float(np.mean(group > np.median(group) + LATE_S)), 0.99)
                rows.append([float(found.messages[inside].mean()), float(group.mean())])
                shares.append(-np.log1p(-share))
    design = np.array(rows)
    (a, b), _ = nnls(design, np.array(shares))
    chance = 1 - np.exp(-(design @ np.array([a, b])))
    return float(a), float(b), float(np.median(chance))


def two_part(
    case: FidelityCase, prediction: SamplePrediction, rates: tuple[float, float, float]
) -> FloatArray:
    """The exposed tail with the chance of a hit per message and per second (``hit_rates``):
    level q read at 1 - (1 - q) p_ref / p(n, D) above the median, each sample's mean kept."""
    a, b, reference = rates
    latency, spread = prediction.latency_s[case.rows], prediction.spread_s(case.rows)
    messages = sample_residuals(case).messages.astype(np.float64)
    chance = 1 - np.exp(-(a * messages + b * latency))
    grid = np.linspace(0.5, spread.shape[1] - 0.5, spread.shape[1]) / spread.shape[1]
    ratio = reference / np.maximum(chance, 1e-9)[:, None]
    read = np.where(grid >= 0.5, np.maximum(0.5, 1 - (1 - grid) * ratio), grid)
    read = np.clip(read, grid[0], grid[-1])
    moved = np.array([np.interp(r, grid, row) for r, row in zip(read, spread, strict=True)])
    moved += (spread.mean(axis=1) - moved.mean(axis=1))[:, None]
    return np.asarray((latency[:, None] + moved).ravel(), np.float64)


def exposed(case: FidelityCase, prediction: SamplePrediction, reference_s: float) -> FloatArray:
    """The exposed tail (a candidate): the fitted spread describes samples of the fitted
    groups' typical duration D_ref; a delay that strikes at random times hits a sample of
    duration D with D / D_ref times the chance, so above the median its level q reads the
    fitted spread at 1 - (1 - q) D_ref / D (never below the median), shifted so that each
    sample's mean is kept. One sample's distribution per row, as ``distribution`` gives."""
    latency, spread = prediction.latency_s[case.rows], prediction.spread_s(case.rows)
    grid = np.linspace(0.5, spread.shape[1] - 0.5, spread.shape[1]) / spread.shape[1]
    ratio = reference_s / latency[:, None]
    read = np.where(grid >= 0.5, np.maximum(0.5, 1 - (1 - grid) * ratio), grid)
    read = np.clip(read, grid[0], grid[-1])
    moved = np.array([np.interp(r, grid, row) for r, row in zip(read, spread, strict=True)])
    moved += (spread.mean(axis=1) - moved.mean(axis=1))[:, None]  # each sample's mean kept
    return np.asarray((latency[:, None] + moved).ravel(), np.float64)


def _measured(case: FidelityCase) -> FloatArray:
    m = case.measurement
    return np.asarray(m.latency_s[m.delivered], np.float64)


def relative_jitter(cases: Sequence[FidelityCase], overheads: Overheads) -> FloatArray:
    """Centred median over files of each file's quantiles of measured / predicted - 1."""
    rows = []
    for case in cases:
        predicted = _distribution(case, "runtime", overheads)  # one value per sample
        rows.append(np.percentile(_measured(case) / predicted - 1, LEVELS))
    found = np.median(np.array(rows), axis=0)
    return np.asarray(found - found.mean(), np.float64)


def gaps(case: FidelityCase) -> str:
    """One line: the file's send cycle and its mean cost per message kind and call (ms)."""
    from splitexit.fidelity._calibrate import _Observations, _observe

    kinds = ("input", "input-local", "result", "result-local", "forward", "call")
    obs = {kind: _Observations() for kind in kinds}
    _observe(case, case.costs("runtime", overheads=False), 0, obs)
    m = case.measurement
    cycle = float("nan")
    if m.sent_s is not None:
        cycle = float(np.median(np.diff(np.sort(m.sent_s[m.delivered]))))
    shown = ", ".join(
        f"{kind} {np.mean(o.y) * 1e3:.2f} ({len(o.y)})" for kind, o in obs.items() if o.y
    )
    return f"{case.name} {m.label_text()}: cycle {cycle * 1e3:.1f} ms; {shown}"


def _parts(case: FidelityCase) -> dict[str, FloatArray]:
    """Per sample (S,), each part of its path (s; NaN where its path has no such hop)."""
    m = case.measurement
    count, hops = m.num_samples, m.num_partitions
    arrive, busy = np.full((count, hops), np.nan), np.full((count, hops), np.nan)
    wait = np.zeros((count, hops))
    arrive[m.hop_sample, m.hop_partition] = m.arrive_s
    busy[m.hop_sample, m.hop_partition] = m.busy_s
    if m.receive_s is not None:
        wait[m.hop_sample, m.hop_partition] = m.receive_s
    parts: dict[str, FloatArray] = {}
    end = np.zeros(count)
    for k in range(hops):
        parts[f"in{k + 1}"] = arrive[:, k] - end
        parts[f"rec{k + 1}"] = np.where(np.isnan(arrive[:, k]), np.nan, wait[:, k])
        parts[f"busy{k + 1}"] = busy[:, k]
        done = arrive[:, k] + wait[:, k] + busy[:, k]
        end = np.where(np.isnan(done), end, done)
    parts["out"] = m.latency_s - end
    return parts


LATE_S = 1.5e-3  # s beyond the main exit's median: a sample a delay hit (``--tail``)


def tail_makeup(case: FidelityCase) -> str:
    """Two lines: the slowest 1% of the file's samples and what their excess is made of."""
    m = case.measurement
    delivered = np.flatnonzero(m.delivered)
    latency = m.latency_s[delivered]
    count = max(1, round(0.01 * len(delivered)))
    slowest = delivered[np.argsort(latency, kind="stable")[-count:]][::-1]
    parts = _parts(case)
    shares: dict[str, float] = {}
    shown = []
    for s in slowest:
        same = delivered[m.exit[delivered] == m.exit[s]]
        excess = {
            k: float(v[s] - np.nanmedian(v[same])) for k, v in parts.items() if np.isfinite(v[s])
        }
        largest = max(excess, key=lambda k: excess[k])
        total = float(m.latency_s[s] - np.median(m.latency_s[same]))
        shown.append(
            f"exit {m.exit[s] + 1} {total * 1e3:+.1f} ms ({largest} {excess[largest] * 1e3:+.1f})"
        )
        for name, value in excess.items():
            kind = name.rstrip("0123456789")
            shares[kind] = shares.get(kind, 0.0) + max(value, 0.0)
    whole = sum(shares.values()) or 1.0
    sent = np.sort(m.sent_s[slowest]) if m.sent_s is not None else np.zeros(0)
    bursts = len(sent) - int(np.sum(np.diff(sent) < 0.5))  # groups sent < 0.5 s apart
    after = ""
    order = (
        delivered[np.argsort(m.sent_s[delivered], kind="stable")]
        if m.sent_s is not None
        else delivered
    )
    main = int(np.bincount(m.exit[delivered]).argmax())
    fast = [i for i in range(1, len(order)) if m.exit[order[i]] == main]
    behind = [order[i] for i in fast if m.exit[order[i - 1]] != main]
    if behind:
        typical = np.median(m.latency_s[order[fast]])
        after = (
            f"; {len(behind)} fast samples right after a slow one: median "
            f"{(np.median(m.latency_s[behind]) - typical) * 1e3:+.2f} ms"
        )
    exits = np.bincount(m.exit[delivered], minlength=m.num_partitions).tolist()
    on_main = latency[m.exit[delivered] == main]
    beyond = float(np.mean(on_main > np.median(on_main) + LATE_S))
    after += (
        f"; main exit: median {np.median(on_main) * 1e3:.1f} ms, {beyond:.1%} of its samples "
        f"over {LATE_S * 1e3:g} ms beyond it"
    )
    return (
        f"{case.name} {m.label_text()} exits {exits}: slowest {count}: "
        + "; ".join(shown)
        + "\n    excess by part: "
        + ", ".join(
            f"{k} {v / whole:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])
        )
        + f"; sent in {bursts} group(s) < 0.5 s apart"
        + after
    )


IDLE_CAP = 0.010  # s: beyond it a pause costs no more (bench_grpc_idle: 1.3 ms after 10 ms)


def _pause(case: FidelityCase) -> float:
    """Mean time between a result's arrival and the next send (s): the driver's think
    time, so that a one-client run's mean cycle is its mean latency plus it."""
    m = case.measurement
    if m.sent_s is None or m.received_s is None:
        return 0.0
    order = np.argsort(m.sent_s[m.delivered], kind="stable")
    sent, received = m.sent_s[m.delivered][order], m.received_s[m.delivered][order]
    gaps = sent[1:] - received[:-1]
    if m.block is not None:  # interleaved: only pauses within a block
        block = m.block[m.delivered][order]
        gaps = gaps[block[1:] == block[:-1]]
    return float(np.mean(np.maximum(gaps, 0.0))) if gaps.size else 0.0


def idle_fit(cases: Sequence[FidelityCase]) -> tuple[float, float, float, float]:
    """(per_message, per_hop, g, think) of the after-idle candidate, fitted on ``cases``."""
    from scipy.optimize import linprog

    rows, pauses = [], []
    for case in cases:
        found = sample_residuals(case)
        pause = _pause(case)
        cycle = float(np.mean(_measured(case))) + pause  # the mean cycle of one client
        messages = float(found.messages.mean())
        rows.append(
            [found.residual_s.mean(), messages, found.hops.mean(), messages * min(cycle, IDLE_CAP)]
        )
        pauses.append(pause)
    table = np.array(rows)
    n = len(table)
    design = table[:, 1:]
    cost = np.concatenate([np.zeros(3), np.ones(2 * n)])
    equality = np.hstack([design, np.eye(n), -np.eye(n)])
    found_x = linprog(cost, A_eq=equality, b_eq=table[:, 0], bounds=(0, None), method="highs").x
    return float(found_x[0]), float(found_x[1]), float(found_x[2]), float(np.median(pauses))


def idle_distribution(case: FidelityCase, fit: tuple[float, float, float, float]) -> FloatArray:
    """Per-sample latencies of runtime-timed + the after-idle candidate (one per sample)."""
    per_message, per_hop, g, think = fit
    base = _distribution(case, "runtime", Overheads())
    found = sample_residuals(case)  # the sample's messages and links, by its measured exit
    latency = float(base.mean())
    for _ in range(20):  # the cycle is the latency it predicts
        cost = found.messages * (per_message + g * min(latency + think, IDLE_CAP))
        latency = float(np.mean(base + cost + per_hop * found.hops))
    return np.asarray(base + cost + per_hop * found.hops, np.float64)


@contextmanager
def coarse_levels(count: int = 100) -> Iterator[None]:
    """Fit spreads at ``count`` quantile levels inside (the "before" rows: 100 levels, as
    committed before session 12; ``fidelity._spread.LEVELS`` is 500 since)."""
    from splitexit.fidelity import _spread

    kept = _spread.LEVELS
    _spread.LEVELS = count
    try:
        yield
    finally:
        _spread.LEVELS = kept


def _ms(pair: tuple[float, float]) -> str:
    return f"{pair[0] * 1e3:.1f}..{pair[1] * 1e3:.1f}"


def _errors(predicted: FloatArray, measured: FloatArray) -> tuple[float, float]:
    p99 = np.percentile(measured, 99)
    return (
        float(predicted.mean() / measured.mean() - 1),
        float(np.percentile(predicted, 99) / p99 - 1),
    )


def in_send_order(case: FidelityCase) -> FloatArray:
    """The delivered samples' latencies in the order they were sent."""
    m = case.measurement
    latency = _measured(case)
    if m.sent_s is not None:
        latency = latency[np.argsort(m.sent_s[m.delivered], kind="stable")]
    return latency


def halves(case: FidelityCase) -> float:
    """|p99 of the first half / p99 of the second half - 1| (samples in send order)."""
    latency = in_send_order(case)
    half = len(latency) // 2
    first, second = np.percentile(latency[:half], 99), np.percentile(latency[half:], 99)
    return float(abs(first / second - 1))


BLOCK = 25  # samples per block of the moving block bootstrap (about 0.1-2 s of a run)
DRAWS = 2000  # bootstrap resamples


@dataclass(frozen=True)
class Intervals:
    """95% intervals of a run's measured p99 (s), and the chance that the p99 of a run like
    it lands within 10% of the true one (iid and block bootstrap)."""

    iid: tuple[float, float]
    block: tuple[float, float]
    order: tuple[float, float]  # distribution-free, from the order statistics
    near_iid: float
    near_block: float


def order_ranks(count: int, level: float = 0.99, confidence: float = 0.95) -> tuple[int, int]:
    """1-based ranks (r, s) of the order statistics that hold the ``level`` quantile with
    probability >= ``confidence`` whatever the distribution (s = count + 1: no upper end).

    >>> order_ranks(500)
    (490, 500)
    """
    from scipy.stats import binom

    tail = (1 - confidence) / 2
    below = binom(count, level)  # how many samples fall below the true quantile
    ranks = np.arange(count + 1)
    low = int(np.sum(below.cdf(ranks - 1) <= tail)) - 1  # the largest r: P(B < r) <= tail
    high = count + 1 - int(np.sum(below.sf(ranks - 1) <= tail))  # the least s: P(B >= s)
    return max(low, 1), high


def p99_intervals(latency: FloatArray, rng: np.random.Generator) -> Intervals:
    """``latency`` in send order; see the module's docstring."""
    n = len(latency)
    iid = np.percentile(latency[rng.integers(0, n, size=(DRAWS, n))], 99, axis=1)
    starts = rng.integers(0, n - BLOCK + 1, size=(DRAWS, -(-n // BLOCK)))
    rows = (starts[:, :, None] + np.arange(BLOCK)).reshape(DRAWS, -1)[:, :n]
    block = np.percentile(latency[rows], 99, axis=1)
    p99 = np.percentile(latency, 99)
    low, high = order_ranks(n)
    ordered = np.sort(latency)
    return Intervals(
        iid=(float(np.percentile(iid, 2.5)), float(np.percentile(iid, 97.5))),
        block=(float(np.percentile(block, 2.5)), float(np.percentile(block, 97.5))),
        order=(float(ordered[low - 1]), float(ordered[high - 1]) if high <= n else np.inf),
        near_iid=float(np.mean(np.abs(iid / p99 - 1) <= 0.10)),
        near_block=float(np.mean(np.abs(block / p99 - 1) <= 0.10)),
    )


def at_least(chances: Sequence[float], count: int) -> float:
    """P(at least ``count`` of independent events with these chances occur).

    >>> round(at_least([0.5, 0.5], 1), 2)
    0.75
    """
    found = np.zeros(len(chances) + 1)
    found[0] = 1.0
    for p in chances:
        found[1:] = found[1:] * (1 - p) + found[:-1] * p
        found[0] *= 1 - p
    return float(found[count:].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("files", help="glob of the measurement files (one network)")
    parser.add_argument("--quiet", action="store_true", help="only the summary table")
    parser.add_argument("--gaps", action="store_true", help="only each file's message costs")
    parser.add_argument("--tail", action="store_true", help="only what each file's slowest 1% are")
    args = parser.parse_args()
    with open("/proc/loadavg", encoding="ascii") as handle:
        print(f"load average {handle.read().split()[0]}")
    cases = load_cases(sorted(glob.glob(args.files)))
    if args.gaps or args.tail:
        for case in cases:
            print(gaps(case) if args.gaps else tail_makeup(case))
        return
    rng = np.random.default_rng(0)
    found: dict[str, list[tuple[float, float]]] = {}
    disturbed = []
    intervals: list[Intervals] = []
    p99s: list[float] = []
    for i, case in enumerate(cases):
        others = cases[:i] + cases[i + 1 :]
        fitted = fit_overheads(others).overheads
        pooled = fit_overheads(others, spread="pooled").overheads
        term = replace(fitted, jitter_s=(), jitter_per_link_s=())
        measured = _measured(case)
        models = {
            "paper": _distribution(case, "paper", Overheads()),
            "runtime-timed": _distribution(case, "runtime", Overheads()),
            "paper + per-message": _distribution(case, "paper", term),
            "runtime-timed + per-message": _distribution(case, "runtime", term),
            "paper + per-message + pooled tail": _distribution(case, "paper", pooled),
            "runtime-timed + per-message + pooled tail": _distribution(case, "runtime", pooled),
            "paper + per-message + tail per path": _distribution(case, "paper", fitted),
            "runtime-timed + per-message + tail per path": _distribution(case, "runtime", fitted),
        }
        relative = relative_jitter(others, term)
        base = _distribution(case, "runtime", term)
        models["runtime-timed + per-message + relative jitter"] = (
            base[:, None] * (1 + relative[None, :])
        ).ravel()
        models["runtime-timed + per-message after idle (candidate)"] = idle_distribution(
            case, idle_fit(others)
        )
        models["calibrated, pooled tail"] = _distribution(
            case, "runtime", calibration=calibrate(others, spread="pooled")
        )
        calibrated = _prediction(case, "runtime", calibration=calibrate(others))
        models["calibrated"] = calibrated.distribution(case.rows)
        reference_s = reference_duration(others)
        models["runtime-timed + per-message + exposed tail (candidate)"] = exposed(
            case, _prediction(case, "runtime", fitted), reference_s
        )
        models["calibrated, exposed tail (candidate)"] = exposed(case, calibrated, reference_s)
        models["calibrated, two-part exposed tail (candidate)"] = two_part(
            case, calibrated, hit_rates(others)
        )
        with coarse_levels():
            models["runtime-timed + per-message + tail per path, 100 levels (before)"] = (
                _distribution(case, "runtime", fit_overheads(others).overheads)
            )
            models["calibrated, 100 levels (before)"] = _distribution(
                case, "runtime", calibration=calibrate(others)
            )
        for name, predicted in models.items():
            found.setdefault(name, []).append(_errors(predicted, measured))
        m = case.measurement
        exits = np.bincount(m.exit[m.delivered], minlength=m.num_partitions).tolist()
        crossed = links_crossed(case.topology, case.deployment).tolist()
        interval = p99_intervals(in_send_order(case), rng)
        p99s.append(float(np.percentile(measured, 99)))
        intervals.append(interval)
        d = halves(case)
        disturbed.append(d > UNSTABLE)
        if not args.quiet:
            cal = models["calibrated"]
            spread = np.percentile(measured, 99) - np.percentile(measured, 50)
            print(
                f"{case.name} {m.label_text()} exits {exits} links {crossed}: mean "
                f"{measured.mean() * 1e3:.2f} ms, p99 {np.percentile(measured, 99) * 1e3:.2f} "
                f"(95%: iid {_ms(interval.iid)}, block {_ms(interval.block)}, order "
                f"{_ms(interval.order)}; resamples within 10% iid {interval.near_iid:.0%}, block "
                f"{interval.near_block:.0%}); "
                f"p99-p50 measured {spread * 1e3:.2f}, calibrated "
                f"{(np.percentile(cal, 99) - np.percentile(cal, 50)) * 1e3:.2f}; "
                f"p99 of the halves {d:.1%}{' UNSTABLE' if d > UNSTABLE else ''}; "
                + ", ".join(
                    f"{k}: {found[k][-1][0]:+.1%}/{found[k][-1][1]:+.1%}"
                    for k in (
                        "runtime-timed + per-message + tail per path, 100 levels (before)",
                        "runtime-timed + per-message + tail per path",
                        "calibrated, 100 levels (before)",
                        "calibrated",
                    )
                )
            )
    calm = ~np.array(disturbed)
    for kind in ("iid", "block"):
        chances = [getattr(x, f"near_{kind}") for x in intervals]
        print(
            f"sampling alone ({kind} bootstrap): a model that knew every configuration's true "
            f"p99 would be within 10% of the measured one for {sum(chances):.1f} of "
            f"{len(chances)} configurations on average, for at least 18 with probability "
            f"{at_least(chances, 18):.2f}"
        )
    print(
        "| model | configurations | MAPE of mean | max | mean abs. p99 error | p99 within 10% "
        f"| p99 within 10%, stable runs ({int(calm.sum())}) | p99 in the measured p99's 95% "
        "interval: block bootstrap | order statistics |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    measured_p99 = np.array([p for p in p99s])
    for name, rows in found.items():
        mean = np.abs([r[0] for r in rows])
        p99 = np.abs([r[1] for r in rows])
        predicted = measured_p99 * (1 + np.array([r[1] for r in rows]))
        inside = {
            kind: sum(
                getattr(x, kind)[0] <= v <= getattr(x, kind)[1]
                for x, v in zip(intervals, predicted, strict=True)
            )
            for kind in ("block", "order")
        }
        print(
            f"| {name} | {len(rows)} | {mean.mean():.1%} | {mean.max():.1%} | "
            f"{p99.mean():.1%} | {(p99 <= 0.10).sum()}/{len(rows)} | "
            f"{(p99[calm] <= 0.10).sum()}/{int(calm.sum())} | {inside['block']}/{len(rows)} | "
            f"{inside['order']}/{len(rows)} |"
        )


if __name__ == "__main__":
    main()
