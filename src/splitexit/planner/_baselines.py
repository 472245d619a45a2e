"""Reference deployments on the same model, to say what joint planning buys.

None of them uses an early exit: every sample runs the whole DNN.

- ``source``: the whole DNN on the source tier (no offloading);
- ``fastest``: the whole DNN on the tier with the smallest compute ratio, input and result
  transfers included (cloud offloading);
- ``single-cut``: the best split across two tiers without early exit, Neurosurgeon-style:
  no exit branch before the last block, every sample runs the whole DNN.
"""

from __future__ import annotations

import numpy as np

from splitexit.configuration import Configuration
from splitexit.perfmodel import Estimate, ModelInputs, estimate
from splitexit.planner._result import Baseline, PlanPoint

__all__ = ["baselines"]


def _whole_on(inputs: ModelInputs, tier: int) -> PlanPoint:
    config = Configuration(partition=(inputs.num_blocks - 1,), placement=(tier,))
    return PlanPoint(config=config, estimate=estimate(inputs, config))


def _single_cut(inputs: ModelInputs) -> PlanPoint | None:
    """Cut after block c (0 <= c < N-1), blocks 1..c+1 on tier a, the rest on tier b != a."""
    n, m = inputs.num_blocks, inputs.num_tiers
    if n < 2 or m < 2:
        return None
    pl, ib, ratio = inputs.path_latency, inputs.path_inv_bandwidth, inputs.compute_ratio
    src, dst = inputs.source, inputs.destination
    cut = np.arange(n - 1)[:, None, None]
    a = np.arange(m)[None, :, None]
    b = np.arange(m)[None, None, :]
    head = inputs.compute_cum[cut + 1]
    tail = inputs.compute_cum[n] - head + inputs.branch_compute[n - 1]
    compute = ratio[a] * head + ratio[b] * tail
    transmission = (
        inputs.input_bits * ib[src, a]
        + inputs.output_bits[cut] * ib[a, b]
        + inputs.result_bits * ib[b, dst]
    )
    propagation = pl[src, a] + pl[a, b] + pl[b, dst]
    mo = inputs.message_cost  # the topology's per-message overheads: three messages
    overhead = mo[src, a] + mo[a, b] + mo[b, dst]
    shape = (n - 1, m, m)
    compute, transmission, propagation, overhead = (
        np.broadcast_to(x, shape) for x in (compute, transmission, propagation, overhead)
    )
    total = np.where(a == b, np.inf, compute + transmission + propagation + overhead)
    c, ta, tb = np.unravel_index(int(np.argmin(total)), total.shape)
    est = Estimate(
        accuracy=float(inputs.accuracy[n - 1]),
        compute_s=float(compute[c, ta, tb]),
        transmission_s=float(transmission[c, ta, tb]),
        propagation_s=float(propagation[c, ta, tb]),
        exit_rates=(0.0, 1.0),
        overhead_s=float(overhead[c, ta, tb]),
    )
    config = Configuration(
        partition=(int(c), n - 1), placement=(int(ta), int(tb)), early_exit=False
    )
    return PlanPoint(config=config, estimate=est)


def baselines(inputs: ModelInputs, best_latency_s: float, tier_names: list[str]) -> list[Baseline]:
    """The three baselines, each with the speedup of a recommendation of ``best_latency_s``."""
    fastest = int(np.argmin(inputs.compute_ratio))
    found = [
        (
            "source",
            f"whole DNN on the source tier ({tier_names[inputs.source]})",
            _whole_on(inputs, inputs.source),
        ),
        (
            "fastest",
            f"whole DNN on the fastest tier ({tier_names[fastest]})",
            _whole_on(inputs, fastest),
        ),
    ]
    cut = _single_cut(inputs)
    if cut is not None:
        found.append(
            (
                "single-cut",
                "best single cut over two tiers, no early exit",
                cut,
            )
        )
    return [
        Baseline(
            name=name,
            description=text,
            point=point,
            speedup=point.latency_s / best_latency_s if best_latency_s > 0 else None,
        )
        for name, text, point in found
    ]
