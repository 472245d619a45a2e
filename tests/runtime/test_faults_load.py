"""Faults and load on loopback: a worker process killed mid-stream, eight concurrent clients
(workers in this process: the load, not the processes, is the point)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from splitexit.runtime import Chain, PixelCodec
from splitexit.topology import Topology

pytestmark = pytest.mark.slow

FAST = Topology.from_mapping(
    {
        "name": "loopback",
        "tiers": [
            {"name": t, "compute_ratio": 1} for t in ("smartwatch", "smartphone", "edge", "cloud")
        ],
        "links": [{"bandwidth": "100Gbps", "latency": "0ms"}] * 3,
        "source": "smartwatch",
        "destination": "smartwatch",
    }
)


def _chain(deployable, workers, topology, **kwargs) -> Chain:  # type: ignore[no-untyped-def]
    data = deployable.data
    addresses = [workers.addresses[p.tier] for p in deployable.manifest.partitions]
    chain = Chain(
        deployable.manifest, deployable.folder, topology, addresses, workers.token,
        warmup=2, pixels=PixelCodec(data.pixel_levels, data.mean, data.std), **kwargs,
    )  # fmt: skip
    chain.start()
    chain.wait_ready()
    chain.deploy()
    return chain


@pytest.mark.parametrize("transport", ["grpc", "tcp"])
def test_eight_clients_lose_and_duplicate_nothing(deployable, served, transport: str) -> None:  # type: ignore[no-untyped-def]
    chain = _chain(
        deployable, served, FAST, compute_mode="none", deadline_s=60, transport=transport
    )
    try:
        n = 8 * 500
        data = deployable.data.profile
        picks = [i % len(data) for i in range(n)]
        records = chain.stream(data.images[picks], data.labels[picks], range(n), clients=8)
        received, duplicates = chain.sink.received, chain.sink.duplicates
    finally:
        chain.close()
    assert len(records) == n
    assert Counter(r.status for r in records) == {"delivered": n}
    assert sorted(r.index for r in records) == list(range(n))  # each request once
    assert len({r.request_id for r in records}) == n
    assert received == n and duplicates == 0  # the sink got every result exactly once
    # every sample ends where the chain run alone ends it
    alone = {r.index: (r.exit, r.prediction) for r in records if r.index < len(data)}
    for r in records:
        assert (r.exit, r.prediction) == alone[r.index % len(data)]


@pytest.mark.parametrize("transport", ["grpc", "tcp"])
def test_killing_a_worker_mid_stream_fails_fast_and_names_the_tier(  # type: ignore[no-untyped-def]
    deployable, workers, transport: str
) -> None:
    # about 15 ms of emulated propagation per sample: the stream is still running when the
    # cloud worker dies
    slow = Topology.from_mapping(
        {
            "name": "slow",
            "tiers": [{"name": t.name, "compute_ratio": 1} for t in FAST.tiers],
            "links": [{"bandwidth": "100Gbps", "latency": "5ms"}] * 3,
            "source": "smartwatch",
            "destination": "smartwatch",
        }
    )
    deadline = 5.0
    chain = _chain(
        deployable, workers, slow, compute_mode="none", deadline_s=deadline, transport=transport
    )
    data = deployable.data.profile
    n = 150
    out: list = []  # type: ignore[type-arg]

    def stream() -> None:
        out.extend(chain.stream(data.images[:n], data.labels[:n], range(n), clients=2))

    thread = threading.Thread(target=stream)
    start = time.monotonic()
    thread.start()
    time.sleep(0.6)
    workers.kill("cloud")
    thread.join(timeout=n * deadline)
    took = time.monotonic() - start
    chain.close()
    assert not thread.is_alive()  # the driver never hangs
    assert len(out) == n
    delivered = [r for r in out if r.status == "delivered"]
    failed = [r for r in out if r.status == "failed"]
    assert delivered and failed
    for r in failed:
        assert r.reason and "cloud" in r.reason
        assert r.latency_s is None
    assert took < 0.6 + deadline + 0.2 * len(failed)  # failures are reported, not waited out
