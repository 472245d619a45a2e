"""Closed-loop clients through shared queues: the waiting the one-sample model leaves out.

With N clients each sending its next sample when the previous one's result arrived, the
samples meet on the testbed's shared resources: a tier computes one sample at a time (the
worker's compute lock, runtime/_domain.py) and a link direction sends one transfer at a
time (the kernel's ``tbf`` queue on ``network: netns``; the sending process's own queue on
the emulated links, runtime/_links.py, so there a queue is per sender and link direction).
``predict_queueing`` replays each sample's predicted path, stage by stage, through those
first-in first-out resources with N closed-loop clients, in a small discrete-event loop:

- **compute** of partition k: holds tier A_k for R[A_k] t_k (the prediction's ``work_s``);
- **a transfer** of b bits from tier a to tier b: holds each link direction it crosses for
  its share of b * IB[a, b] (b / bandwidth of that link), then its propagation, a delay
  (after each link on the emulated links, where the sender sleeps it; after the last on
  netns, where the receiver sleeps the path's latency);
- **what the model charges beyond both** (per-message overheads of the calibrated model, or
  any term a model adds to the latency): a delay, split evenly over the sample's messages
  (input, forwards, result) and waited after each.

Delays overlap freely (infinite servers); only the resources queue. Alone (N = 1) a sample
never waits and its latency is exactly the prediction's (tested); the mean of a calibrated
model's residual quantiles is added to every sample, as in its one-sample mean. Samples go to
clients as the measurement says (``client`` and ``sent_s``), else round-robin as the testbed
deals them (sample i to client i % N).

Identical paths can fall into step: two clients whose cycles never overlap at a resource
never wait, where real variation makes them meet. ``residual_s`` gives each exit a pool of
variations (e.g. a one-client run's latencies around their mean) dealt to the samples in
shuffled rounds. ``alone_s``, ``hold_s`` and ``think_s`` replace the model's one-sample
latency, its compute holding times and the clients' pause by measured ones, so that the
replay predicts the waiting only. Deterministic: ties are served by client number, and the
randomness (the deal, each client's start in ``[0, stagger_s)``) comes from ``seed``.
Not modelled: CPU the processes share outside the compute lock (gRPC, encoding, Python's
GIL, on a small loaded machine), and per-message costs that change with the load; the
measurements show where (docs/fidelity.md, "Concurrent clients").
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    Options,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError
from splitexit.fidelity._predict import COMPUTE_SOURCES, ComputeSource, PathCosts, predict_samples
from splitexit.topology import Topology

if TYPE_CHECKING:
    from splitexit.fidelity._calibrate import Calibration
    from splitexit.fidelity._case import FidelityCase

__all__ = ["QueueingPrediction", "Stage", "closed_loop", "path_stages", "predict_queueing"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DELAY = -1  # a stage's resource when it is a pure delay (no queue)


@validate_params({"resource": [Interval(int, DELAY, None)], "seconds": [Interval(float, 0, None)]})
@dataclass(frozen=True)
class Stage:
    """One step of a sample's path: hold ``resource`` (an index) for ``seconds``, or wait
    ``seconds`` with no queue when ``resource`` is ``DELAY``."""

    resource: int
    seconds: float


@validate_params(
    {
        "paths": [InstanceOf(list, tuple)],
        "queues": [InstanceOf(list, tuple)],
        "resources": [Interval(int, 0, None, closed="left")],
        "start_s": [InstanceOf(list, tuple), None],
        "think_s": [Interval(float, 0, None)],
    }
)
def closed_loop(
    paths: Sequence[Sequence[Stage]],
    queues: Sequence[Sequence[int]],
    resources: int,
    *,
    start_s: Sequence[float] | None = None,
    think_s: float = 0.0,
) -> list[FloatArray]:
    """Latency of every sample of every client: ``queues[c]`` lists, in order, the paths
    (indices into ``paths``) client c sends, each ``think_s`` after its previous one is done;
    every resource serves one stage at a time, first come first served (ties: lower client).

    Two clients, one resource held 1 s, then a 2 s delay: the second waits 1 s once, and
    after that the two alternate without waiting.

    >>> path = [Stage(0, 1.0), Stage(DELAY, 2.0)]
    >>> [x.tolist() for x in closed_loop([path], [[0, 0], [0, 0]], 1)]
    [[3.0, 3.0], [4.0, 3.0]]
    """
    starts = [0.0] * len(queues) if start_s is None else [float(s) for s in start_s]
    if len(starts) != len(queues):
        raise InputError(f"start_s needs one time per client ({len(queues)}), got {len(starts)}")
    for path in paths:
        for step in path:
            if step.resource >= resources:
                raise InputError(
                    f"a stage's resource must be {DELAY} (a delay) or in 0..{resources - 1}, "
                    f"got {step.resource}"
                )
    if any(not 0 <= p < len(paths) for q in queues for p in q):
        raise InputError(f"queues must name paths in 0..{len(paths) - 1}")
    free = [0.0] * resources
    latency = [np.zeros(len(q)) for q in queues]
    # per client: position in its queue, stage within the path, when the sample left
    sample = [0] * len(queues)
    stage = [0] * len(queues)
    began = list(starts)
    events = [(starts[c], c) for c in range(len(queues)) if queues[c]]
    heapq.heapify(events)
    while events:
        now, c = heapq.heappop(events)
        path = paths[queues[c][sample[c]]]
        # delays run on until the next resource, which is asked for at its own time
        while stage[c] < len(path) and path[stage[c]].resource == DELAY:
            now += path[stage[c]].seconds
            stage[c] += 1
        if stage[c] < len(path) and path[stage[c]].resource != DELAY:
            step = path[stage[c]]
            if events and events[0] < (now, c):  # someone asks earlier: let them go first
                heapq.heappush(events, (now, c))
                continue
            start = max(now, free[step.resource])
            free[step.resource] = start + step.seconds
            stage[c] += 1
            heapq.heappush(events, (start + step.seconds, c))
            continue
        latency[c][sample[c]] = now - began[c]  # path done
        sample[c] += 1
        stage[c] = 0
        if sample[c] < len(queues[c]):
            began[c] = now + think_s
            heapq.heappush(events, (began[c], c))
    return latency


@returned_type
@dataclass(frozen=True, eq=False)
class QueueingPrediction:
    """Predicted latency of each delivered sample with ``clients`` closed-loop clients.

    Per delivered sample, in the measurement's order (S_d,): ``rows`` (trace row),
    ``client`` (1-based), ``latency_s`` (with waiting) and ``alone_s`` (the one-sample
    prediction). Per resource: ``resources`` (names) and ``utilization`` (busy time over the
    replay's span)."""

    clients: int
    rows: IntArray
    client: IntArray
    latency_s: FloatArray
    alone_s: FloatArray
    resources: tuple[str, ...]
    utilization: FloatArray

    @property
    def mean_s(self) -> float:
        return float(self.latency_s.mean())

    @property
    def wait_s(self) -> float:
        """Mean time a sample spent waiting for busy resources."""
        return float((self.latency_s - self.alone_s).mean())


class _Resources:
    """Names to indices, in order of first use."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)


def _transfer(
    topology: Topology,
    a: int,
    b: int,
    bits: float,
    *,
    sender: str,
    shared_links: bool,
    resource: _Resources,
) -> list[Stage]:
    # a transfer's sending time is the model's (bits x IB[a, b]), shared over the links by
    # 1 / bandwidth; its propagation (PL[a, b]) by latency
    """A transfer of ``bits`` from tier a to tier b: each link direction it crosses, then its
    propagation (per link when the sender sleeps it, once at the end on netns)."""
    if a == b:
        return []
    step = 1 if b > a else -1
    crossed = [(here, here + step) for here in range(a, b, step)]
    links = [topology.links[min(x, y)] for x, y in crossed]
    sending = bits * float(topology.path_inverse_bandwidth[a, b])
    flight = float(topology.path_latency[a, b])
    inverse = np.array([1.0 / link.bandwidth for link in links])
    latency = np.array([link.latency for link in links])
    share = inverse / inverse.sum()
    delay = latency / latency.sum() if latency.sum() > 0 else np.zeros(len(links))
    stages = []
    for (x, y), part, wait in zip(crossed, share, delay, strict=True):
        name = f"link {topology.tiers[x].name}->{topology.tiers[y].name}"
        if not shared_links:
            name += f" (sent by {sender})"
        stages.append(Stage(resource(name), sending * float(part)))
        if not shared_links:
            stages.append(Stage(DELAY, flight * float(wait)))
    if shared_links:
        stages.append(Stage(DELAY, flight))
    return stages


@validate_params(
    {
        "topology": [InstanceOf(Topology)],
        "placement": [InstanceOf(list, tuple)],
        "costs": [InstanceOf(PathCosts)],
        "latency_s": [InstanceOf(list, tuple)],
        "shared_links": [InstanceOf(bool)],
        "exits": [InstanceOf(list, tuple), None],
    }
)
def path_stages(
    topology: Topology,
    placement: Sequence[int],
    costs: PathCosts,
    latency_s: Sequence[float],
    *,
    shared_links: bool,
    exits: Sequence[int] | None = None,
) -> tuple[list[list[Stage]], FloatArray, list[str]]:
    """The stages of paths, what is left to add after each (a negative remainder is added,
    not waited) and the resource names. Path i leaves at partition ``exits[i]`` (default:
    one path per partition, in order) and lasts ``latency_s[i]`` alone: what its compute and
    transfers do not explain is split evenly over its messages as delays."""
    leave = list(range(len(placement))) if exits is None else [int(e) for e in exits]
    if len(latency_s) != len(leave) or not all(0 <= e < len(placement) for e in leave):
        raise InputError(
            f"latency_s needs one latency per path ({len(leave)}, exits in "
            f"0..{len(placement) - 1}), got {len(latency_s)}"
        )
    names = _Resources()
    src, dst = topology.source, topology.destination
    tier = [topology.tiers[j].name for j in placement]
    paths, after = [], np.zeros(len(leave))
    for i, e in enumerate(leave):
        messages: list[list[Stage]] = []  # each message's transfer, waited after the stage
        computes: list[Stage] = []
        messages.append(
            _transfer(topology, src, placement[0], costs.input_bits, sender="driver",
                      shared_links=shared_links, resource=names)
        )  # fmt: skip
        for k in range(e + 1):
            computes.append(Stage(names(f"compute {tier[k]}"), float(costs.work_s[k])))
            to, bits = (
                (placement[k + 1], float(costs.forward_bits[k]))
                if k < e
                else (dst, float(costs.result_bits[k]))
            )
            messages.append(
                _transfer(topology, placement[k], to, bits, sender=tier[k],
                          shared_links=shared_links, resource=names)
            )  # fmt: skip
        charged = sum(s.seconds for m in messages for s in m) + sum(s.seconds for s in computes)
        rest = float(latency_s[i]) - charged
        each = max(rest, 0.0) / len(messages)
        after[i] = min(rest, 0.0)
        path = [*messages[0], Stage(DELAY, each)]
        for k, compute in enumerate(computes):
            path += [compute, *messages[k + 1], Stage(DELAY, each)]
        paths.append(path)
    return paths, after, names.names


@validate_params(
    {
        "case": [InstanceOf("splitexit.fidelity._case:FidelityCase")],
        "compute": [Options(COMPUTE_SOURCES)],
        "calibration": [InstanceOf("splitexit.fidelity._calibrate:Calibration"), None],
        "clients": [Interval(int, 1, None, closed="left"), None],
        "seed": [Interval(int, 0, None, closed="left")],
        "stagger_s": [Interval(float, 0, None, closed="left")],
        "alone_s": [InstanceOf(list, tuple), None],
        "think_s": [Interval(float, 0, None)],
        "residual_s": [InstanceOf(list, tuple), None],
        "hold_s": [InstanceOf(list, tuple), None],
    }
)
def predict_queueing(
    case: FidelityCase,
    *,
    compute: ComputeSource = "runtime",
    calibration: Calibration | None = None,
    clients: int | None = None,
    seed: int = 0,
    stagger_s: float = 0.0,
    alone_s: Sequence[float] | None = None,
    think_s: float = 0.0,
    residual_s: Sequence[Sequence[float]] | None = None,
    hold_s: Sequence[float] | None = None,
) -> QueueingPrediction:
    """Each delivered sample's latency with ``clients`` (default: the measurement's
    ``run.clients``) closed-loop clients sharing the tiers and links (module docstring).

    ``compute`` and ``calibration`` choose the one-sample model, as for ``compare``; the
    links are shared between senders on ``network: netns`` and per sender on the emulated
    links. With one client the result is the one-sample prediction.

    ``alone_s`` (one per partition; NaN: the model's) replaces the model's one-sample
    latency of a path leaving there, e.g. by what one client measured: the replay then adds
    only the waiting. ``think_s``: a client's pause between a result and its next send.

    ``residual_s`` (one pool per partition) makes the paths vary as measured ones do: each
    sample draws (``seed``) one value from its exit's pool (an empty pool: 0) and adds it to
    its delays. Without it every path of an exit lasts the same, and a few clients can fall
    into step and never meet at a resource that real variation makes them share.

    ``hold_s`` (one per partition) replaces how long a call holds its tier (the model's
    R t_k), e.g. by the measured ``busy_s``; the one-sample latency is kept."""
    measurement = case.measurement
    count = measurement.clients if clients is None else clients
    prediction = predict_samples(
        case.profile, case.trace, case.topology, case.deployment, compute=compute,
        measurement=measurement, calibration=calibration,
    )  # fmt: skip
    costs = case.costs(compute)
    per_exit = costs.latency_s + (0.0 if calibration is None else calibration.overhead_s(costs))
    for e in range(measurement.num_partitions):  # the model's own figure, whatever it adds
        leaving = np.flatnonzero(prediction.exit == e)
        if leaving.size:
            per_exit[e] = prediction.latency_s[leaving[0]]
    jitter = float(prediction.jitter_s.mean())
    if alone_s is not None:
        if len(alone_s) != measurement.num_partitions:
            raise InputError(
                f"alone_s needs one latency per partition ({measurement.num_partitions}), "
                f"got {len(alone_s)}"
            )
        override = np.array(alone_s, dtype=np.float64)
        per_exit = np.where(np.isnan(override), per_exit + jitter, override)
        jitter = 0.0
    delivered = np.flatnonzero(measurement.delivered)
    rows = measurement.index[delivered]
    exits = prediction.exit[rows]
    rng = np.random.default_rng(seed)
    start = (rng.random(count) * stagger_s).tolist()
    drawn = np.zeros(len(delivered))
    if residual_s is not None:  # one path per sample, each with its own draw
        if len(residual_s) != measurement.num_partitions:
            raise InputError(
                f"residual_s needs one pool per partition ({measurement.num_partitions}), "
                f"got {len(residual_s)}"
            )
        drawn = _draw(residual_s, exits, rng)
        path_of, path_exits = np.arange(len(delivered)), exits.tolist()
    else:  # one path per exit
        path_of, path_exits = exits, list(range(measurement.num_partitions))
    lasting = per_exit[path_exits] + (drawn if residual_s is not None else 0.0)
    if hold_s is not None:
        if len(hold_s) != measurement.num_partitions:
            raise InputError(
                f"hold_s needs one time per partition ({measurement.num_partitions}), "
                f"got {len(hold_s)}"
            )
        costs = replace(costs, work_s=np.asarray(hold_s, dtype=np.float64))
    paths, after, names = path_stages(
        case.topology, case.deployment.placement, costs, lasting.tolist(),
        shared_links=measurement.network == "netns", exits=path_exits,
    )  # fmt: skip
    given = measurement.client if count == measurement.clients else None
    owner = _clients_of(given, delivered, count)
    queues: list[list[int]] = [[] for _ in range(count)]
    where: list[list[int]] = [[] for _ in range(count)]
    for position in _send_order(measurement.sent_s, delivered):
        queues[owner[position]].append(int(path_of[position]))
        where[owner[position]].append(position)
    waited = closed_loop(paths, queues, len(names), start_s=start, think_s=think_s)
    latency = np.zeros(len(delivered))
    for c in range(count):
        latency[where[c]] = waited[c]
    latency = latency + after[path_of] + jitter
    return QueueingPrediction(
        clients=count,
        rows=rows,
        client=owner + 1,
        latency_s=latency,
        alone_s=per_exit[exits] + drawn + jitter,
        resources=tuple(names),
        utilization=_utilization(paths, queues, len(names), _span(waited, start, think_s)),
    )


def _draw(
    pools: Sequence[Sequence[float]], exits: IntArray, rng: np.random.Generator
) -> FloatArray:
    """One value per sample from its exit's pool, dealt in rounds: each round of as many
    samples as the pool has values gets the pool in a fresh random order (so the draws vary
    like independent ones, yet every value is used as often and the pool's mean is kept)."""
    drawn = np.zeros(len(exits))
    for e, pool in enumerate(pools):
        mine = np.flatnonzero(exits == e)
        values = np.asarray(pool, dtype=np.float64)
        if mine.size and values.size:
            rounds = -(-mine.size // values.size)
            dealt = np.concatenate([rng.permutation(values) for _ in range(rounds)])
            drawn[mine] = dealt[: mine.size]
    return drawn


def _span(latency: Sequence[FloatArray], start_s: Sequence[float], think_s: float) -> float:
    """When the last client finished (s)."""
    return max(
        (
            s + float(x.sum()) + think_s * (len(x) - 1)
            for x, s in zip(latency, start_s, strict=True)
        ),
        default=0.0,
    )


def _utilization(
    paths: Sequence[Sequence[Stage]], queues: Sequence[Sequence[int]], resources: int, span: float
) -> FloatArray:
    busy = np.zeros(resources)
    for queue in queues:
        for p in queue:
            for stage in paths[p]:
                if stage.resource != DELAY:
                    busy[stage.resource] += stage.seconds
    return busy / span if span > 0 else busy


def _clients_of(client: IntArray | None, delivered: IntArray, count: int) -> IntArray:
    """0-based client of each delivered sample: the file's (when it ran ``count`` clients and
    names them), else the testbed's round-robin over all samples (sample i: i % count)."""
    if client is not None and int(client.max()) <= count:
        return np.asarray(client[delivered] - 1, dtype=np.int64)
    return np.asarray(delivered % count, dtype=np.int64)


def _send_order(sent_s: FloatArray | None, delivered: IntArray) -> list[int]:
    """Positions (into the delivered samples) in the order they were sent."""
    if sent_s is None:
        return list(range(len(delivered)))
    return [int(p) for p in np.argsort(sent_s[delivered], kind="stable")]
