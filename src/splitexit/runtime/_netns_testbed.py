"""The testbed's workers on kernel-shaped links: one namespace per tier (``network: netns``).

Layout (docs/netns.md, "The netns testbed"): every tier of the topology gets a namespace,
used or not, so a transfer from tier 0 to tier 2 crosses links 0 and 1 and is forwarded by
tier 1's kernel. The worker of each partition runs inside its tier's namespace
(``ip netns exec``) and binds that namespace's address, never loopback. The driver stays in
this process, on the host, reaching the source tier through one unshaped veth (the host
link): its inputs enter the source tier's namespace and cross the shaped links from there,
its sink listens on the host's end and results reach it from the destination tier. The
source and the destination must therefore be the same tier (every preset's are).

Propagation delay (no netem on this kernel) is added by the receiving side, and so is what
each link's token bucket let the message skip (``_shaping.ReceiveCharge``): the worker of
partition k sleeps, from a sample's arrival, the charge of the links between the previous
partition's tier (the source for k = 1) and its own (``SPLITEXIT_RECEIVE_DELAY_S``, set at
start); the sink's side, the charge from the exit tier to the destination, is waited by
the driver's client after the sink's arrival and counted in the sample's latency
(``Chain(result_charges=...)``), so a client's next sample leaves after it, as on a wire.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from splitexit.errors import InputError
from splitexit.runtime._links import path_links
from splitexit.runtime._local import LocalWorkers
from splitexit.runtime._netns import NetnsTestbed
from splitexit.runtime._shaping import LinkShape, ReceiveCharge
from splitexit.runtime._worker import RECEIVE_DELAY_ENV
from splitexit.topology import Topology

__all__ = ["NetnsWorkers", "netns_workers", "path_charge", "path_delay_s"]


def path_delay_s(topology: Topology, a: int, b: int) -> float:
    """Propagation (s) of the links between tiers ``a`` and ``b`` (0-based).

    >>> from splitexit.topology import load_topology
    >>> round(path_delay_s(load_topology("iot"), 0, 2), 3)
    0.02
    """
    return sum(hop.latency_s for hop in path_links(topology, a, b))


def path_charge(topology: Topology, a: int, b: int) -> ReceiveCharge:
    """What the receiver adds to a message from tier ``a`` to tier ``b`` (0-based): the
    links' propagation and their token buckets' credit (``_shaping.ReceiveCharge``).

    >>> from splitexit.topology import load_topology
    >>> charge = path_charge(load_topology("mobile"), 0, 1)
    >>> charge.delay_s, charge.buckets[0][1]
    (0.006, 1514)
    """
    hops = path_links(topology, a, b)
    return ReceiveCharge.of_path([LinkShape(h.name, h.bandwidth_bps, h.latency_s) for h in hops])


@dataclass
class NetnsWorkers:
    """What the testbed needs from the namespaces: the workers and where the sink listens."""

    net: NetnsTestbed
    workers: LocalWorkers
    sink_listen: str


@contextmanager
def netns_workers(
    tiers: Sequence[str],
    topology: Topology,
    *,
    queue: int,
    start_timeout_s: float,
    worker_args: Sequence[str] = (),
    run_id: str | None = None,
) -> Iterator[NetnsWorkers]:
    """Namespaces for ``topology``, one worker per partition tier in ``tiers`` (chain order).

    Tears down workers, then namespaces, whatever happens (a SIGKILL leaves them to the next
    start's stale cleanup)."""
    source = topology.source
    if topology.destination != source:
        raise InputError(
            f"topology {topology.name}: the netns testbed needs the source and the destination "
            f"on one tier (the driver's host link enters one namespace), got "
            f"{topology.tiers[source].name} and {topology.tiers[topology.destination].name}"
        )
    index = [topology.tier_index(t, field_name="placement") for t in tiers]
    links = [(link.bandwidth, link.latency) for link in topology.links]
    names = [tier.name for tier in topology.tiers]
    with NetnsTestbed(run_id, tiers=names, links=links, host_tier=source) as net:
        previous = [source, *index[:-1]]
        envs = {
            t: {RECEIVE_DELAY_ENV: path_charge(topology, p, k).to_env()}
            for t, p, k in zip(tiers, previous, index, strict=True)
        }
        with LocalWorkers(
            tiers,
            queue=queue,
            start_timeout_s=start_timeout_s,
            extra_args=worker_args,
            prefixes={t: net.prefix(k) for t, k in zip(tiers, index, strict=True)},
            hosts={t: net.address(k) for t, k in zip(tiers, index, strict=True)},
            envs=envs,
        ) as workers:
            yield NetnsWorkers(net, workers, f"{net.host_address}:0")
