"""Worker processes on loopback reproduce the ONNX chain: same exits, predictions, entropies."""

from __future__ import annotations

import pytest

from splitexit.export import ChainRunner
from splitexit.runtime import Chain, LocalWorkers, PixelCodec


def _chain(deployable, workers: LocalWorkers, **kwargs) -> Chain:  # type: ignore[no-untyped-def]
    data = deployable.data
    addresses = [workers.addresses[p.tier] for p in deployable.manifest.partitions]
    chain = Chain(
        deployable.manifest, deployable.folder, deployable.topology, addresses, workers.token,
        compute_mode="none", warmup=2, deadline_s=20,
        pixels=PixelCodec(data.pixel_levels, data.mean, data.std), **kwargs,
    )  # fmt: skip
    chain.wait_ready()
    chain.deploy()
    return chain


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["grpc", "tcp"])
def test_workers_reproduce_the_onnx_chain(deployable, workers, transport: str) -> None:  # type: ignore[no-untyped-def]
    chain = _chain(deployable, workers, transport=transport)
    try:
        n = 24
        images, labels = deployable.data.profile.images[:n], deployable.data.profile.labels[:n]
        records = chain.stream(images, labels, range(n))
    finally:
        chain.close()
    expected = ChainRunner(deployable.manifest, deployable.folder).run(images)
    assert [r.status for r in records] == ["delivered"] * n
    assert [r.exit for r in records] == (expected.exit_partition + 1).tolist()
    assert [r.prediction for r in records] == expected.predictions.tolist()
    assert len(set(r.exit for r in records)) > 1  # the threshold splits the samples
    for r in records:
        assert [h["partition"] for h in r.hops] == list(range(1, r.exit + 1))
        assert r.latency_s is not None and r.latency_s > 0
