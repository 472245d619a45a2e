"""The seven baselines of seed 003, section V-B, latency-only, as the paper characterizes them.

Each returns a :class:`Strategy`; none looks at the non-linear tables except through the one
number per device (or per layer) its paper profiles.

- **Offload**: the whole model on the single provider that the simulator says is fastest
  (its computing and its link).
- **DeepThings** [70]: one fused layer-volume (its Fused Tile Partition) over the early layers,
  down to 1/16 of the input height as in its YOLOv2 setup (16 layers), split equally; the
  remaining layers run on one provider (its gateway, here the most capable one).
- **DeeperThings** [55]: several fused layer-volumes, each split equally. Its fused-layer
  groups end at every spatial downsampling (where the feature map to exchange is smallest).
- **MoDNN** [38]: layer by layer, each layer's rows in proportion to the provider's
  computing capability (operations per second over the whole model): its biased 1-D partition.
- **MeDNN** [39]: layer by layer, in proportion to a per-layer capability (each layer profiled
  alone), the refinement of its enhanced partition over MoDNN.
- **CoEdge** [64]: layer by layer, rows chosen so that providers finish together under linear
  models of computing (ops / capability) and network (bits / bandwidth).
- **AOFL** [71]: fused layer-volumes found by search (dynamic programming over the fusion
  points, a volume's cost being the common finish time of its linear equal-finish split) and
  split by the same linear models.
"""

from __future__ import annotations

import numpy as np

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.spatial.geometry._geometry import FloatArray
from splitexit.spatial.geometry._problem import Problem, Strategy
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods._equalize import LinearFinish, equal_finish_cuts

__all__ = [
    "aofl",
    "capability",
    "coedge",
    "deeperthings",
    "deepthings",
    "layer_capability",
    "mednn",
    "modnn",
    "offload",
    "proportional_cuts",
]


@validate_params({"problem": [InstanceOf(Problem)]})
def capability(problem: Problem) -> FloatArray:
    """Operations per second of each provider over the whole convolutional part."""
    seconds = sum(table[:, -1] for table in problem.tables)
    return problem.model.flops / np.asarray(seconds)


@validate_params({"problem": [InstanceOf(Problem)]})
def layer_capability(problem: Problem) -> FloatArray:
    """Operations per second of each provider on each whole layer, shape (layers, D)."""
    flops = np.array([ly.interior_flops(ly.h_out) for ly in problem.model.layers])
    seconds = np.stack([table[:, -1] for table in problem.tables])
    return flops[:, None] / seconds


@validate_params(
    {"weights": [InstanceOf(np.ndarray, list, tuple)], "height": [Interval(int, 0, None)]}
)
def proportional_cuts(weights: FloatArray, height: int) -> tuple[int, ...]:
    """Split ``height`` rows in proportion to ``weights`` (largest remainders get the rest)."""
    share = height * weights / weights.sum()
    rows = np.floor(share).astype(np.int64)
    order = np.argsort(-(share - rows), kind="stable")
    rows[order[: height - int(rows.sum())]] += 1
    return tuple(int(x) for x in np.cumsum(rows)[:-1])


def _alone(k: int, devices: int, height: int) -> tuple[int, ...]:
    """Split decisions giving every row to provider ``k``."""
    return tuple([0] * k + [height] * (devices - 1 - k))


@validate_params({"problem": [InstanceOf(Problem)]})
def offload(problem: Problem) -> Strategy:
    """The whole model on the fastest single provider (simulated, link included)."""
    n, d = problem.num_layers, problem.num_devices
    height = problem.height(n - 1)
    options = [Strategy((0, n), (_alone(k, d, height),)) for k in range(d)]
    return min(options, key=lambda s: simulate(problem, s).latency_s)


def _equal(problem: Problem, boundaries: tuple[int, ...]) -> Strategy:
    weights = np.ones(problem.num_devices)
    return Strategy(
        boundaries,
        tuple(proportional_cuts(weights, problem.height(e - 1)) for e in boundaries[1:]),
    )


@validate_params({"problem": [InstanceOf(Problem)]})
def deepthings(problem: Problem) -> Strategy:
    """One fused volume down to 1/16 of the input height, split equally; the rest on one."""
    model = problem.model
    limit = -(-model.h_in // 16)
    fused = next((i for i, ly in enumerate(model.layers) if ly.h_out < limit), model.num_layers)
    fused = max(fused, 1)
    if fused == model.num_layers:
        return _equal(problem, (0, fused))
    strategy = _equal(problem, (0, fused))
    gateway = int(np.argmax(capability(problem)))
    n, d = model.num_layers, problem.num_devices
    rest = _alone(gateway, d, problem.height(n - 1))
    return Strategy((0, fused, n), (strategy.splits[0], rest))


@validate_params({"problem": [InstanceOf(Problem)]})
def deeperthings(problem: Problem) -> Strategy:
    """A fused volume ending at every downsampling layer, each split equally."""
    layers = problem.model.layers
    ends = [i + 1 for i, ly in enumerate(layers) if ly.s > 1 and i + 1 < len(layers)]
    return _equal(problem, (0, *ends, len(layers)))


@validate_params({"problem": [InstanceOf(Problem)]})
def modnn(problem: Problem) -> Strategy:
    """Layer by layer, rows in proportion to whole-model capability."""
    cap = capability(problem)
    n = problem.num_layers
    return Strategy(
        tuple(range(n + 1)), tuple(proportional_cuts(cap, problem.height(i)) for i in range(n))
    )


@validate_params({"problem": [InstanceOf(Problem)]})
def mednn(problem: Problem) -> Strategy:
    """Layer by layer, rows in proportion to each layer's own capability."""
    cap = layer_capability(problem)
    n = problem.num_layers
    return Strategy(
        tuple(range(n + 1)), tuple(proportional_cuts(cap[i], problem.height(i)) for i in range(n))
    )


def _linear_split(problem: Problem, first: int, last: int) -> tuple[tuple[int, ...], float]:
    model = LinearFinish(
        problem.model.layers[first : last + 1],
        capability(problem),
        problem.bandwidth,
        problem.input_row_bits(first),
    )
    d, height = problem.num_devices, problem.height(last)
    cuts = equal_finish_cuts(model, height, d)
    edges = np.array([0, *cuts, height], dtype=np.int64)
    model.reset()
    cost = max(float(model.finish(k, int(edges[k]), edges[k + 1 : k + 2])[0]) for k in range(d))
    return cuts, cost


@validate_params({"problem": [InstanceOf(Problem)]})
def coedge(problem: Problem) -> Strategy:
    """Layer by layer, equal finish under linear computing and network models."""
    n = problem.num_layers
    return Strategy(tuple(range(n + 1)), tuple(_linear_split(problem, i, i)[0] for i in range(n)))


@validate_params({"problem": [InstanceOf(Problem)]})
def aofl(problem: Problem) -> Strategy:
    """Fused volumes by dynamic programming over the linear model, split by the same model."""
    n = problem.num_layers
    best = [0.0] + [np.inf] * n
    choice: list[tuple[int, tuple[int, ...]]] = [(0, ())] * (n + 1)
    for end in range(1, n + 1):
        for start in range(end):
            cuts, cost = _linear_split(problem, start, end - 1)
            if best[start] + cost < best[end]:
                best[end] = best[start] + cost
                choice[end] = (start, cuts)
    boundaries, end = [n], n
    splits: list[tuple[int, ...]] = []
    while end > 0:
        start, cuts = choice[end]
        boundaries.insert(0, start)
        splits.insert(0, cuts)
        end = start
    return Strategy(tuple(boundaries), tuple(splits))
