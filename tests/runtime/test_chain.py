"""Workers on loopback (in this process) reproduce the ONNX chain: same exits, predictions."""

from __future__ import annotations

import pytest

from splitexit.errors import InputError
from splitexit.export import ChainRunner
from splitexit.runtime import Chain, PixelCodec, summarize


def _chain(deployable, workers, **kwargs) -> Chain:  # type: ignore[no-untyped-def]
    data = deployable.data
    addresses = [workers.addresses[p.tier] for p in deployable.manifest.partitions]
    chain = Chain(
        deployable.manifest, deployable.folder, deployable.topology, addresses, workers.token,
        compute_mode="none", warmup=2, deadline_s=20,
        pixels=PixelCodec(data.pixel_levels, data.mean, data.std), **kwargs,
    )  # fmt: skip
    return chain


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["grpc", "tcp"])
def test_workers_reproduce_the_onnx_chain(deployable, served, transport: str) -> None:  # type: ignore[no-untyped-def]
    n = 24
    images, labels = deployable.data.profile.images[:n], deployable.data.profile.labels[:n]
    with _chain(deployable, served, transport=transport) as chain:
        chain.wait_ready()
        chain.deploy()
        records = chain.stream(images, labels, range(n))
    expected = ChainRunner(deployable.manifest, deployable.folder).run(images)
    assert [r.status for r in records] == ["delivered"] * n
    assert [r.exit for r in records] == (expected.exit_partition + 1).tolist()
    assert [r.prediction for r in records] == expected.predictions.tolist()
    assert len(set(r.exit for r in records)) > 1  # the threshold splits the samples
    for r in records:
        assert [h["partition"] for h in r.hops] == list(range(1, r.exit + 1))
        assert r.latency_s is not None and r.latency_s > 0


def test_a_chain_binds_nothing_until_entered_and_closes_on_exit(deployable, served) -> None:  # type: ignore[no-untyped-def]
    chain = _chain(deployable, served)
    assert chain.sink.address == ""  # the constructor binds no server
    with pytest.raises(InputError, match="not started"):
        chain.wait_ready()
    with chain:
        # issue 14: no frame socket unless the chain's transport is tcp
        assert chain.sink.address and not chain.sink.data_address
        chain.wait_ready()
    with pytest.raises(InputError, match="not started"):  # closed: channels gone
        chain.deploy()
    chain.close()  # idempotent


def test_a_raising_client_fails_its_samples_and_drops_none(deployable, served) -> None:  # type: ignore[no-untyped-def]
    n = 12
    data = deployable.data.profile
    with _chain(deployable, served) as chain:
        chain.wait_ready()
        chain.deploy()
        real = chain.infer

        def flaky(index, image, label):  # type: ignore[no-untyped-def]
            if index in (3, 4):
                raise RuntimeError(f"injected fault on sample {index}")
            if index == 7:  # escapes the per-sample guard: the thread of client 2 dies
                raise KeyboardInterrupt("client thread killed")
            return real(index, image, label)

        chain.infer = flaky  # type: ignore[method-assign]
        # three clients: client 2 takes samples 1, 4, 7, 10
        records = chain.stream(data.images[:n], data.labels[:n], range(n), clients=3)
    assert [r.index for r in records] == list(range(n))  # one record per sample, in order
    failed = {r.index: r.reason for r in records if r.status == "failed"}
    assert failed == {
        3: "client error: RuntimeError: injected fault on sample 3",
        4: "client error: RuntimeError: injected fault on sample 4",
        7: "client 2 stopped: KeyboardInterrupt: client thread killed",
        10: "client 2 stopped: KeyboardInterrupt: client thread killed",
    }
    summary = summarize(records)
    assert summary["samples"] == n
    assert summary["failed"] == len(failed) and summary["delivered"] == n - len(failed)
