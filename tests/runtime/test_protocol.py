"""The wire format, the link arithmetic, the pixel codec, and the worker's refusals."""

from __future__ import annotations

import hashlib

import grpc
import numpy as np
import pytest

from splitexit.errors import InputError
from splitexit.runtime import Chain, LinkEmulator, LinkHop, PixelCodec, path_links
from splitexit.runtime import _wire as wire
from splitexit.topology import load_topology

from .conftest import in_process_workers


@pytest.mark.parametrize("dtype", ["float32", "uint8", "int64", "float16"])
def test_tensors_travel_as_raw_bytes(dtype: str) -> None:
    array = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    message = wire.to_tensor(array)
    assert len(message.data) == array.nbytes  # raw, no base64 growth
    back = wire.from_tensor(wire.Tensor.FromString(message.SerializeToString()))
    assert back.dtype == array.dtype and np.array_equal(back, array)


def test_a_tensor_whose_bytes_do_not_match_its_shape_is_refused() -> None:
    message = wire.Tensor(dtype="float32", shape=[2, 3], data=b"\0" * 20)
    with pytest.raises(InputError, match="needs 24 bytes, got 20"):
        wire.from_tensor(message)
    with pytest.raises(InputError, match="dtype"):
        wire.from_tensor(wire.Tensor(dtype="object", shape=[1], data=b"\0"))


def test_alone_on_its_path_a_transfer_costs_what_the_topology_says() -> None:
    topo = load_topology("mobile")
    bits = 123_456.0
    for a in range(topo.num_tiers):
        for b in range(topo.num_tiers):
            hops = path_links(topo, a, b)
            assert len(hops) == abs(a - b)
            arrival = LinkEmulator().arrival(hops, bits, now=10.0)
            assert arrival - 10.0 == pytest.approx(topo.transfer_s(bits, a, b), rel=1e-12)


def test_transfers_on_one_link_are_serialized_and_directions_are_separate() -> None:
    emu = LinkEmulator()
    up, down = LinkHop("a->b", 1e6, 0.005), LinkHop("b->a", 1e6, 0.005)
    first = emu.arrival([up], 1e5, now=0.0)  # 0.1 s on the wire + 5 ms
    second = emu.arrival([up], 1e5, now=0.05)  # waits until 0.1, then 0.1 s more
    other_way = emu.arrival([down], 1e5, now=0.05)  # full duplex: no wait
    assert (first, second, other_way) == pytest.approx((0.105, 0.205, 0.155))
    # store and forward over two links: the second link is busy until the first transfer
    # has crossed it
    two = LinkEmulator()
    l1, l2 = LinkHop("x->y", 1e6, 0.01), LinkHop("y->z", 5e5, 0.02)
    assert two.arrival([l1, l2], 1e5, now=0.0) == pytest.approx(0.1 + 0.01 + 0.2 + 0.02)
    assert two.arrival([l1, l2], 1e5, now=0.0) == pytest.approx(0.11 + 0.2 + 0.2 + 0.02)


def test_pixels_round_trip_to_the_loaders_floats_exactly(deployable) -> None:  # type: ignore[no-untyped-def]
    data = deployable.data
    codec = PixelCodec(data.pixel_levels, data.mean, data.std)
    pixels = codec.encode(data.profile.images)
    assert pixels.dtype == np.uint8 and pixels.max() <= 16
    assert np.array_equal(codec.decode(pixels), data.profile.images)  # bit-identical


def _deploy_request(deployable, **changes):  # type: ignore[no-untyped-def]
    part = deployable.manifest.partitions[-1]
    model = (deployable.folder / part.file).read_bytes()
    fields = dict(
        token="", partition=3, count=3, model=model, sha256=part.sha256, warmup=1,
        input_shape=list(part.inputs[0].shape), deadline_s=5, compute_mode="none",
    )  # fmt: skip
    fields.update(changes)
    return wire.DeployRequest(**fields)


@pytest.mark.slow
def test_a_worker_refuses_a_wrong_token_a_bad_hash_and_a_bad_model(deployable) -> None:  # type: ignore[no-untyped-def]
    with in_process_workers(["cloud"]) as workers:
        channel = grpc.insecure_channel(workers.addresses["cloud"])
        deploy = channel.unary_unary(
            wire.method(wire.WORKER_SERVICE, "Deploy"),
            request_serializer=wire.DeployRequest.SerializeToString,
            response_deserializer=wire.DeployReply.FromString,
        )
        with pytest.raises(grpc.RpcError) as wrong:
            deploy(_deploy_request(deployable, token="guess"), timeout=10)
        assert wrong.value.code() == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as tampered:
            deploy(_deploy_request(deployable, token=workers.token, sha256="0" * 64), timeout=10)
        assert tampered.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "does not match" in (tampered.value.details() or "")
        junk = b"not an onnx model"
        with pytest.raises(grpc.RpcError) as bad:
            deploy(
                _deploy_request(
                    deployable, token=workers.token, model=junk,
                    sha256=hashlib.sha256(junk).hexdigest(),
                ),
                timeout=10,
            )  # fmt: skip
        assert "onnx.checker" in (bad.value.details() or "") or "onnx" in (
            bad.value.details() or ""
        )
        ok = deploy(_deploy_request(deployable, token=workers.token), timeout=30)
        assert ok.reference_s > 0 and ok.result_bits == 10 * 32
        health = channel.unary_unary(
            wire.method(wire.WORKER_SERVICE, "Health"),
            request_serializer=wire.Empty.SerializeToString,
            response_deserializer=wire.HealthReply.FromString,
        )(wire.Empty(), timeout=5)
        assert (health.tier, health.deployed, health.partition) == ("cloud", True, 3)
        channel.close()


def test_an_unreachable_worker_is_named(deployable) -> None:  # type: ignore[no-untyped-def]
    chain = Chain(
        deployable.manifest, deployable.folder, deployable.topology,
        ["127.0.0.1:9", "127.0.0.1:9", "127.0.0.1:9"], "token", ready_timeout_s=0.5,
    )  # fmt: skip
    with chain, pytest.raises(InputError, match=r"tier smartphone at 127.0.0.1:9 is unreachable"):
        chain.wait_ready()


@pytest.mark.slow
def test_a_worker_stops_when_its_parent_has_ended(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys
    import time

    # a parent that is already gone: a finished child process's id
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    worker = subprocess.Popen(
        [sys.executable, "-m", "splitexit", "worker", "--tier", "edge", "--parent", str(gone.pid)],
        env={**__import__("os").environ, "SPLITEXIT_TOKEN": "t"},
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    start = time.monotonic()
    assert worker.wait(timeout=20) == 0  # at once: while starting up (it never serves)
    assert time.monotonic() - start < 20
    assert worker.stdout is not None
    out = worker.stdout.read()  # nothing, or the ready line when the watch came after it
    assert out == "" or out.startswith("splitexit worker ready edge ")


def test_a_worker_without_a_token_refuses_to_start(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from splitexit.cli import app

    monkeypatch.delenv("SPLITEXIT_TOKEN", raising=False)
    for args, needle in (
        ([], "a worker needs a token"),
        (["--token-file", str(tmp_path / "missing")], "cannot read the token"),
    ):
        result = CliRunner().invoke(app, ["worker", "--tier", "edge", *args])
        assert result.exit_code == 2 and needle in result.output
        assert result.output.strip().count("\n") == 0


def test_a_worker_maps_domain_refusals_to_status_codes(deployable) -> None:  # type: ignore[no-untyped-def]
    from splitexit.runtime._frames import FrameStub

    with in_process_workers(["edge"], transport="tcp") as workers:
        channel = grpc.insecure_channel(workers.addresses["edge"])
        infer = channel.unary_unary(
            wire.method(wire.WORKER_SERVICE, "Infer"),
            request_serializer=wire.InferRequest.SerializeToString,
            response_deserializer=wire.InferReply.FromString,
        )
        sample = wire.InferRequest(request_id=1, input=wire.to_tensor(np.zeros(4, np.float32)))
        with pytest.raises(grpc.RpcError) as early:
            infer(sample, timeout=5)
        assert early.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert early.value.details() == "tier edge: not deployed"
        frames = FrameStub(
            workers.servers["edge"].servicer.data_address,  # type: ignore[attr-defined]
            max_bytes=1 << 20,
            token=workers.token,
        )
        reply = frames(sample, timeout=5)  # the frame plane answers with a failed reply
        assert (reply.ok, reply.error) == (False, "tier edge: not deployed")
        frames.close()
        deploy = channel.unary_unary(
            wire.method(wire.WORKER_SERVICE, "Deploy"),
            request_serializer=wire.DeployRequest.SerializeToString,
            response_deserializer=wire.DeployReply.FromString,
        )
        # partition 1 of 3 without a threshold: only the last partition takes every sample
        part = deployable.manifest.partitions[0]
        request = _deploy_request(
            deployable, token=workers.token, partition=1,
            model=(deployable.folder / part.file).read_bytes(), sha256=part.sha256,
            input_shape=list(part.inputs[0].shape),
        )  # fmt: skip
        with pytest.raises(grpc.RpcError) as unbounded:
            deploy(request, timeout=10)
        assert unbounded.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "partition 1 of 3 needs a threshold" in (unbounded.value.details() or "")
        channel.close()
