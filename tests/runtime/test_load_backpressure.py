"""Issue 14: more clients than a worker takes at once: the driver holds the excess
(bounded in-flight calls) and retries refusals, so nothing fails, is lost or duplicated."""

from __future__ import annotations

import pytest

from splitexit.runtime import PixelCodec, WorkerOptions
from splitexit.runtime._driver import Chain

from .conftest import in_process_workers


@pytest.mark.parametrize("transport", ["grpc", "tcp"])
@pytest.mark.parametrize("in_flight", [None, 16])  # None: bounded by the queue; 16: retries
def test_load_more_clients_than_the_queue_lose_nothing(
    deployable,  # type: ignore[no-untyped-def]
    transport: str,
    in_flight: int | None,
) -> None:
    data = deployable.data
    tiers = [p.tier for p in deployable.manifest.partitions]
    n, clients = 48, 16
    with in_process_workers(tiers, queue=4, pool=4, transport="tcp") as served:
        addresses = [served.addresses[t] for t in tiers]
        chain = Chain(
            deployable.manifest, deployable.folder, deployable.topology, addresses,
            served.token, compute_mode="none", warmup=1, deadline_s=60,
            pixels=PixelCodec(data.pixel_levels, data.mean, data.std),
            options=WorkerOptions(queue=4), transport=transport, max_in_flight=in_flight,
        )  # fmt: skip
        with chain:
            chain.wait_ready()
            chain.deploy()
            records = chain.stream(
                data.profile.images[:n],
                data.profile.labels[:n],
                list(range(n)),
                clients=clients,
            )
            failed = [r.reason for r in records if r.status != "delivered"]
            assert failed == []
            assert sorted(r.index for r in records) == list(range(n))
            assert chain.sink.duplicates == 0 and chain.sink.received == n
