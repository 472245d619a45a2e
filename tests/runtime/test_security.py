"""Issue 14's doors: the frame plane's handshake, connection limit, read deadline and size
bound; ports; retries; shapes that overflow. In-process servers, loopback only."""

from __future__ import annotations

import socket
import struct

import grpc
import pytest

from splitexit.errors import InputError
from splitexit.runtime import WorkerOptions, WorkerServer
from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import FrameServer, FrameStub, TransportError, handshake_response
from splitexit.runtime._transport import (
    RETRY_REFUSED,
    call_with_retry,
    make_server,
    split_listen,
)

from .conftest import in_process_workers


def _echo_server(**kwargs: object) -> tuple[FrameServer, list[object]]:
    seen: list[object] = []

    def handle(message: object) -> wire.Empty:
        seen.append(message)
        return wire.Empty()

    options = {"max_bytes": 1 << 20, "token": "right", **kwargs}
    return FrameServer("127.0.0.1", handle, **options), seen  # type: ignore[arg-type]


def _raw(server: FrameServer, timeout: float = 5.0) -> socket.socket:
    host, port = split_listen(server.address)
    return socket.create_connection((host, port), timeout=timeout)


def _authenticated(server: FrameServer, token: str = "right") -> socket.socket:
    sock = _raw(server)
    nonce = sock.recv(16)
    sock.sendall(handshake_response(token, nonce))
    assert sock.recv(1) == b"\x01"
    return sock


def test_frames_handshake_refuses_a_wrong_token() -> None:
    server, seen = _echo_server()
    try:
        good = FrameStub(server.address, max_bytes=1 << 20, token="right")
        assert good(wire.Result(request_id=1), timeout=5.0) == wire.Empty()
        bad = FrameStub(server.address, max_bytes=1 << 20, token="wrong")
        with pytest.raises(TransportError, match="handshake refused"):
            bad(wire.Result(request_id=2), timeout=5.0)
        assert [m.request_id for m in seen] == [1]  # type: ignore[attr-defined]
        assert server.refused == 1
        good.close()
    finally:
        server.close()


def test_frames_token_never_travels_in_the_clear() -> None:
    nonce = b"n" * 16
    assert b"right" not in handshake_response("right", nonce)
    assert handshake_response("right", nonce) != handshake_response("right", b"m" * 16)


def test_frames_connection_limit_closes_the_excess() -> None:
    server, _ = _echo_server(max_connections=2)
    try:
        held = [_raw(server), _raw(server)]
        for sock in held:
            assert len(sock.recv(16)) == 16  # each got its challenge
        extra = _raw(server)
        assert extra.recv(16) == b""  # closed at once, no challenge
        assert server.connections == 2
        for sock in [*held, extra]:
            sock.close()
    finally:
        server.close()


def test_frames_read_deadline_drops_a_silent_peer() -> None:
    server, _ = _echo_server(read_timeout_s=0.2)
    try:
        sock = _raw(server)
        assert len(sock.recv(16)) == 16
        assert sock.recv(1) == b""  # never answered the challenge: dropped by the server
        sock.close()
        stalled = _authenticated(server)
        stalled.sendall(b"\x00\x00")  # a frame begun, never finished
        assert stalled.recv(1) == b""
        stalled.close()
    finally:
        server.close()


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def test_frames_oversize_header_refused_before_allocating() -> None:
    server, seen = _echo_server(max_bytes=1 << 20)
    try:
        before = _rss_kib()
        socks = []
        for _ in range(8):  # eight frames claiming 4 GiB each
            sock = _authenticated(server)
            sock.sendall(struct.pack(">IB", 0xFFFFFFFF, 3))
            socks.append(sock)
        for sock in socks:
            assert sock.recv(1) == b""  # refused on the 5-byte header
            sock.close()
        assert seen == []
        assert _rss_kib() - before < 64 * 1024  # nowhere near 8 x 4 GiB
    finally:
        server.close()


def test_frames_off_unless_asked_and_loopback_unless_insecure() -> None:
    plain = WorkerServer("edge", "t", options=WorkerOptions())
    plain.start()
    assert plain.servicer.data_address == ""  # no second port by default
    plain.stop(0)
    wide = WorkerServer("edge", "t", listen="0.0.0.0:0", options=WorkerOptions(transport="tcp"))
    with pytest.raises(InputError, match=r"frames have no TLS.*--insecure"):
        wide.start()
    ok = WorkerServer(
        "edge", "t", listen="0.0.0.0:0", options=WorkerOptions(transport="tcp", insecure=True)
    )
    ok.start()
    assert ok.servicer.data_address.startswith("0.0.0.0:")
    ok.stop(0)


@pytest.mark.parametrize("listen", ["127.0.0.1:99999", "bogus", "127.0.0.1:", ":80", "h:-1"])
def test_ports_bad_listen_refused_in_one_line(listen: str) -> None:
    with pytest.raises(InputError, match="HOST:PORT") as error:
        make_server(listen, WorkerOptions(), lambda server: None)
    assert "\n" not in str(error.value) and repr(listen) in str(error.value)


def test_ports_reuseport_off_second_bind_fails() -> None:
    first, port = make_server("127.0.0.1:0", WorkerOptions(), lambda server: None)
    first.start()
    try:
        with pytest.raises(InputError, match=f"127.0.0.1:{port}: cannot bind"):
            make_server(f"127.0.0.1:{port}", WorkerOptions(), lambda server: None)
    finally:
        first.stop(None)


def test_ports_cli_worker_refuses_bad_and_taken_ports() -> None:
    from typer.testing import CliRunner

    from splitexit.cli import app

    runner = CliRunner()
    env = {"SPLITEXIT_TOKEN": "t"}
    for listen in ("127.0.0.1:99999", "bogus"):
        result = runner.invoke(app, ["worker", "--tier", "e", "--listen", listen], env=env)
        assert result.exit_code == 2, result.output
        assert listen in result.output and "Traceback" not in result.output
    held, port = make_server("127.0.0.1:0", WorkerOptions(), lambda server: None)
    held.start()
    try:
        taken = f"127.0.0.1:{port}"
        result = runner.invoke(app, ["worker", "--tier", "e", "--listen", taken], env=env)
        assert result.exit_code == 2 and taken in result.output, result.output
    finally:
        held.stop(None)


def test_ports_cli_worker_refuses_a_taken_metrics_port_in_one_line() -> None:
    import socket

    from typer.testing import CliRunner

    from splitexit.cli import app

    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        args = ["worker", "--tier", "e", "--metrics-port", str(port)]
        result = CliRunner().invoke(app, args, env={"SPLITEXIT_TOKEN": "t"})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--metrics-port" in lines[0]


class _Refused(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return "busy"


def test_retry_resource_exhausted_twice_then_success() -> None:
    calls: list[float] = []
    pauses: list[float] = []

    def stub(request: object, *, timeout: float) -> str:
        calls.append(timeout)
        if len(calls) <= 2:
            raise _Refused(grpc.StatusCode.RESOURCE_EXHAUSTED)
        return "ok"

    assert call_with_retry(stub, None, timeout=30.0, sleep=pauses.append) == "ok"
    assert len(calls) == 3 and len(pauses) == 2
    assert pauses[0] > 0
    assert pauses[1] > pauses[0] / 3  # backoff grows (with jitter)


def test_retry_infer_never_repeats_a_call_that_may_have_run() -> None:
    calls: list[int] = []

    def stub(request: object, *, timeout: float) -> str:
        calls.append(1)
        raise _Refused(grpc.StatusCode.UNAVAILABLE)

    with pytest.raises(grpc.RpcError):
        call_with_retry(stub, None, timeout=30.0, retry=RETRY_REFUSED, sleep=lambda s: None)
    assert len(calls) == 1
    with pytest.raises(grpc.RpcError):  # Deploy/Health: UNAVAILABLE is retried, bounded
        call_with_retry(stub, None, timeout=30.0, attempts=3, sleep=lambda s: None)
    assert len(calls) == 4


def test_overflowing_shape_is_invalid_argument(deployable) -> None:  # type: ignore[no-untyped-def]
    from .test_chain import _chain

    huge = wire.Tensor(dtype="float32", shape=[1 << 62, 4], data=b"")
    with pytest.raises(InputError, match="more elements"):
        wire.from_tensor(huge)
    tiers = [p.tier for p in deployable.manifest.partitions]
    with in_process_workers(tiers) as served, _chain(deployable, served) as chain:
        chain.wait_ready()
        chain.deploy()
        first = served.addresses[deployable.manifest.partitions[0].tier]
        channel = grpc.insecure_channel(first)
        infer = channel.unary_unary(
            wire.method(wire.WORKER_SERVICE, "Infer"),
            request_serializer=wire.InferRequest.SerializeToString,
            response_deserializer=wire.InferReply.FromString,
        )
        for shape in ([1 << 62, 4], [1 << 40, 1 << 40, 1 << 40]):
            tensor = wire.Tensor(dtype="uint8", shape=shape, data=b"")
            with pytest.raises(grpc.RpcError) as error:
                infer(wire.InferRequest(request_id=1, input=tensor), timeout=10)
            assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        channel.close()
