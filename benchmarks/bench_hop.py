"""Per-hop overhead of the runtime (issue 5): gRPC with raw tensor bytes vs Flask + base64 + JSON.

One hop is what a tier pays to hand an activation to the next one: serialize, send, receive,
deserialize (plus the small reply), on loopback with no emulated delay. Each side runs its
server in its own OS process (multiprocessing 'spawn') and the client in this one.

- ours: the runtime's worker server, built by ``WorkerServer.start()`` itself (the transport's
  ``make_server``: same thread pool, ``maximum_concurrent_rpcs``, ``channel_options``, the
  generated servicer registration), with the servicer's ``Infer`` replaced by one that only
  turns the ``InferRequest``'s tensor into an array with ``from_tensor``; the client builds
  the request with ``to_tensor`` and calls it through ``make_stub`` on a channel opened with
  ``channel_options``, as the driver does.
- baselines: the way seed 004 ships tensors between tiers: a Flask app receiving JSON with
  the base64-encoded bytes, dtype and shape and decoding them with numpy; the client encodes
  with base64 + json and POSTs with ``http.client``, one connection reused whenever the
  server allows it. Two hosts for the same app:
  * werkzeug's threaded server, what ``app.run()`` starts and what such deployments use
    (per-request log line switched off, it would only slow the baseline). Werkzeug 3 answers
    every request with ``Connection: close``, so this baseline pays a TCP set-up (and a new
    server thread) per call: that is how these deployments run.
  * a keep-alive HTTP/1.1 host (``http.server`` running the same WSGI app): no connection
    set-up per call, no per-request thread; the strictest baseline (up to 100 KiB).

Calls alternate between the three in chunks, repeat after repeat, so the machine's noise hits
all; the ratios baseline / ours are taken within the run. Every warm-up call is checked on the
server (the received array equals the one sent), and a corrupted array must be refused.
The in-process encode and decode times (no transport) are printed too.

Usage: .venv/bin/python benchmarks/bench_hop.py [--calls 500] [--repeats 5]
       [--size-kb 1 10 100 1000] [--json OUT]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import http.server
import importlib.metadata
import io
import json
import logging
import multiprocessing
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any, Protocol

import grpc
import numpy as np
import numpy.typing as npt

from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import FrameStub
from splitexit.runtime._servicer import WorkerServicer
from splitexit.runtime._worker import WorkerOptions, WorkerServer, channel_options, make_stub

Array = npt.NDArray[np.float32]
CHECK = 1  # InferRequest.label of a call the server must verify
SEED = 5


def activation_shape(size_kb: int) -> tuple[int, ...]:
    """float32 of ``size_kb`` KiB: (1, 16, 40, W) where it divides, e.g. 100 -> (1, 16, 40, 40)."""
    floats = size_kb * 1024 // 4
    return (1, 16, 40, floats // 640) if floats % 640 == 0 else (1, floats)


@lru_cache(maxsize=8)
def activation(shape: tuple[int, ...]) -> Array:
    """The activation every call sends; both servers rebuild it from the shape to check."""
    values = np.random.default_rng(SEED).standard_normal(shape, dtype=np.float32)
    values.flags.writeable = False
    return values


# -- servers (run in child processes) -----------------------------------------------------
class HopServicer(WorkerServicer):
    """The worker's servicer whose ``Infer`` (gRPC, and its TCP data plane) stops at the
    receiving side's decoding."""

    def Infer(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.infer_frame(request)

    def infer_frame(self, request: Any) -> Any:
        x = wire.from_tensor(request.input)
        if request.label == CHECK:
            same = x.dtype == np.float32 and np.array_equal(x, activation(tuple(x.shape)))
            return wire.InferReply(ok=bool(same), error="" if same else "array differs")
        return wire.InferReply(ok=True)


class HopWorker(WorkerServer):
    """The runtime's worker server with ``HopServicer``."""

    def make_servicer(self) -> WorkerServicer:
        return HopServicer(self.tier, self.options, on_shutdown=self.stop)


def serve_grpc(ready: Queue[int], token: str) -> None:
    worker = HopWorker("hop", token, options=WorkerOptions(transport="tcp"))  # frames on too
    ready.put(worker.start())
    worker.stopped.wait()


def flask_app() -> Any:
    """Seed 004's tier endpoint: JSON with the base64-encoded tensor, decoded with numpy."""
    from flask import Flask, jsonify, request

    app = Flask("hop")

    @app.post("/infer")
    def infer() -> Any:
        payload = request.get_json()
        data = base64.b64decode(payload["data"])
        x = np.frombuffer(data, dtype=np.dtype(payload["dtype"])).reshape(payload["shape"])
        if payload.get("check"):
            same = x.dtype == np.float32 and np.array_equal(x, activation(tuple(x.shape)))
            return jsonify(ok=bool(same))
        return jsonify(ok=True)

    return app


class KeepAliveHandler(http.server.BaseHTTPRequestHandler):
    """A bare HTTP/1.1 host for a WSGI app that keeps connections open (werkzeug's does not)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    app: Any = None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        path, _, query = self.path.partition("?")
        environ = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(length),
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.request.getsockname()[1]),
            "SERVER_PROTOCOL": self.request_version,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(self.rfile.read(length)),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: None

        body = b"".join(self.app(environ, start_response))
        status, headers = started
        self.send_response(int(status.split()[0]))
        for key, value in headers:
            if key.lower() != "content-length":
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt: str, *args: Any) -> None:
        pass


def serve_flask(ready: Queue[int], keep_alive: bool) -> None:
    app = flask_app()
    if keep_alive:
        KeepAliveHandler.app = app
        server: Any = http.server.ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveHandler)
        ready.put(server.server_address[1])
    else:
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no log line per request
        server = make_server("127.0.0.1", 0, app, threaded=True)  # what app.run() starts
        ready.put(server.server_port)
    server.serve_forever()


# -- clients ------------------------------------------------------------------------------
class Hop(Protocol):
    key: str
    name: str
    ours: bool  # one of ours (the ratios are baselines / each of ours)

    def call(self, x: Array, check: bool) -> bool: ...
    def payload_bytes(self, x: Array) -> int: ...
    def close(self) -> None: ...


class GrpcHop:
    key, name = "ours", "ours, gRPC + raw bytes"
    ours = True

    def __init__(self, port: int, token: str) -> None:
        options = WorkerOptions()
        self._channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=channel_options(options.max_message_bytes)
        )
        grpc.channel_ready_future(self._channel).result(timeout=30)
        self._infer = make_stub(
            self._channel, wire.WORKER_SERVICE, "Infer", wire.InferRequest, wire.InferReply
        )
        self._token = token
        self._ids = 0

    def _request(self, x: Array, check: bool) -> Any:
        self._ids += 1
        return wire.InferRequest(
            request_id=self._ids,
            sent_ns=time.monotonic_ns(),
            label=CHECK if check else 0,
            input=wire.to_tensor(x),
        )

    def call(self, x: Array, check: bool) -> bool:
        return bool(self._infer(self._request(x, check), timeout=30).ok)

    def payload_bytes(self, x: Array) -> int:
        return int(self._request(x, False).ByteSize()) + 5  # gRPC's length-prefixed frame

    def close(self) -> None:
        shutdown = make_stub(
            self._channel, wire.WORKER_SERVICE, "Shutdown", wire.ShutdownRequest, wire.Empty
        )
        shutdown(wire.ShutdownRequest(token=self._token), timeout=10)
        self._channel.close()


class TcpHop(GrpcHop):
    """The runtime's TCP data plane: the same message as a frame on a kept connection."""

    key, name = "ours_tcp", "ours, TCP frames + raw bytes"

    def __init__(self, port: int, token: str) -> None:
        super().__init__(port, token)
        health = make_stub(
            self._channel, wire.WORKER_SERVICE, "Health", wire.Empty, wire.HealthReply
        )
        address = health(wire.Empty(), timeout=10).data_address
        self._frames = FrameStub(address, max_bytes=WorkerOptions().max_message_bytes, token=token)

    def call(self, x: Array, check: bool) -> bool:
        return bool(self._frames(self._request(x, check), timeout=30).ok)

    def payload_bytes(self, x: Array) -> int:
        return int(self._request(x, False).ByteSize()) + 5  # length and kind

    def close(self) -> None:  # the gRPC side asks the shared worker to shut down
        self._frames.close()
        self._channel.close()


class FlaskHop:
    """POSTs with ``http.client``; keeps the connection when the server allows it."""

    ours = False

    def __init__(self, port: int, *, keep_alive: bool) -> None:
        self.key = "keep_alive" if keep_alive else "werkzeug"
        self.name = f"Flask, {'keep-alive HTTP/1.1 host' if keep_alive else 'werkzeug threaded'}"
        self.keep_alive = keep_alive
        self.connections = 0
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    @staticmethod
    def _body(x: Array, check: bool) -> bytes:
        payload = {
            "dtype": x.dtype.name,
            "shape": list(x.shape),
            "data": base64.b64encode(x.tobytes()).decode("ascii"),
            "check": check,
        }
        return json.dumps(payload).encode()

    def call(self, x: Array, check: bool) -> bool:
        if self._conn.sock is None:
            self.connections += 1  # http.client reconnects by itself
        headers = {"Content-Type": "application/json"}
        self._conn.request("POST", "/infer", body=self._body(x, check), headers=headers)
        response = self._conn.getresponse()
        reply = json.loads(response.read())
        if self.keep_alive and response.will_close:
            raise RuntimeError(f"{self.name}: the server closed the connection")
        return response.status == 200 and bool(reply["ok"])

    def payload_bytes(self, x: Array) -> int:
        return len(self._body(x, False))

    def close(self) -> None:
        self._conn.close()


# -- measurement --------------------------------------------------------------------------
def verify(hop: Hop, x: Array, calls: int) -> None:
    for _ in range(calls):
        if not hop.call(x, True):
            raise RuntimeError(f"{hop.name}: the server received a different array")
    corrupted = x.copy()
    corrupted.flat[len(corrupted.flat) // 2] += 1.0
    if hop.call(corrupted, True):
        raise RuntimeError(f"{hop.name}: the server's check accepted a corrupted array")


def time_calls(hop: Hop, x: Array, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        ok = hop.call(x, False)
        times.append((time.perf_counter_ns() - start) / 1e3)  # µs
        if not ok:
            raise RuntimeError(f"{hop.name}: the server refused a call")
    return times


def summary(times_us: list[float]) -> dict[str, float]:
    return {
        "median_us": statistics.median(times_us),
        "mean_us": statistics.fmean(times_us),
        "p95_us": float(np.percentile(times_us, 95)),
    }


def codec_us(encode: Callable[[], Any], decode: Callable[[], Any], n: int = 200) -> list[float]:
    """In-process encode and decode times (µs, median of ``n``), without any transport."""
    out = []
    for fn in (encode, decode):
        times = []
        for _ in range(n):
            start = time.perf_counter_ns()
            fn()
            times.append((time.perf_counter_ns() - start) / 1e3)
        out.append(statistics.median(times))
    return out


def codecs(x: Array) -> dict[str, list[float]]:
    message = wire.InferRequest(input=wire.to_tensor(x)).SerializeToString()
    body = FlaskHop._body(x, False)

    def json_decode() -> Any:
        payload = json.loads(body)
        data = base64.b64decode(payload["data"])
        return np.frombuffer(data, dtype=np.dtype(payload["dtype"])).reshape(payload["shape"])

    return {
        "ours": codec_us(
            lambda: wire.InferRequest(input=wire.to_tensor(x)).SerializeToString(),
            lambda: wire.from_tensor(wire.InferRequest.FromString(message).input),
        ),
        "baseline": codec_us(lambda: FlaskHop._body(x, False), json_decode),
    }


def run_size(hops: list[Hop], size_kb: int, args: argparse.Namespace) -> dict[str, Any]:
    shape = activation_shape(size_kb)
    x = activation(shape)
    opened = {hop.key: getattr(hop, "connections", 0) for hop in hops}
    for hop in hops:
        verify(hop, x, args.warmup)
    times: dict[str, list[float]] = {hop.key: [] for hop in hops}
    medians: dict[str, list[float]] = {hop.key: [] for hop in hops}
    for repeat in range(args.repeats):
        order = hops if repeat % 2 == 0 else hops[::-1]
        this: dict[str, list[float]] = {hop.key: [] for hop in hops}
        for start in range(0, args.calls, args.chunk):
            for hop in order:
                this[hop.key] += time_calls(hop, x, min(args.chunk, args.calls - start))
        for key, values in this.items():
            times[key] += values
            medians[key].append(statistics.median(values))
    for hop in hops:
        verify(hop, x, 3)
    variants = [hop.key for hop in hops if hop.ours]
    ours = {key: summary(times[key]) for key in variants}
    case: dict[str, Any] = {
        "size_kb": size_kb,
        "shape": list(shape),
        "array_bytes": int(x.nbytes),
        "codec_us": codecs(x),
    }
    for hop in hops:
        figures = summary(times[hop.key])
        case[hop.key] = {"name": hop.name, **figures, "payload_bytes": hop.payload_bytes(x)}
        if not hop.ours:
            case[hop.key]["connections"] = getattr(hop, "connections", 0) - opened[hop.key]
            case[hop.key]["vs"] = {
                key: {
                    "ratio_median": figures["median_us"] / ours[key]["median_us"],
                    "ratio_mean": figures["mean_us"] / ours[key]["mean_us"],
                    "ratio_per_repeat": [
                        b / o for b, o in zip(medians[hop.key], medians[key], strict=True)
                    ],
                }
                for key in variants
            }
    return case


def print_case(case: dict[str, Any], keys: list[str]) -> None:
    print(f"\n{case['size_kb']} KiB float32 {tuple(case['shape'])}, per call (µs)")
    print(f"{'':36} {'median':>7} {'mean':>7} {'p95':>7} {'request bytes':>14}  baseline / ours")
    for key in keys:
        s = case[key]
        line = (
            f"{s['name']:36} {s['median_us']:7.0f} {s['mean_us']:7.0f} {s['p95_us']:7.0f} "
            f"{s['payload_bytes']:14,}"
        )
        for versus, r in s.get("vs", {}).items():
            low, high = min(r["ratio_per_repeat"]), max(r["ratio_per_repeat"])
            line += (
                f"\n{'':38}/ {versus}: {r['ratio_median']:.1f}x median, {r['ratio_mean']:.1f}x "
                f"mean (repeats {low:.1f}-{high:.1f}x)"
            )
        print(line)
    (o_enc, o_dec), (b_enc, b_dec) = case["codec_us"]["ours"], case["codec_us"]["baseline"]
    print(
        f"in-process, no transport (µs): ours encode {o_enc:.0f} decode {o_dec:.0f}; "
        f"base64 + JSON encode {b_enc:.0f} decode {b_dec:.0f}"
    )


def machine() -> dict[str, Any]:
    packages = ("grpcio", "protobuf", "flask", "werkzeug", "numpy")
    return {
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_average_1min": os.getloadavg()[0],
        **{p: importlib.metadata.version(p) for p in packages},
    }


def start_server(context: Any, target: Callable[..., None], *args: Any) -> tuple[Any, int]:
    ready = context.Queue()
    process = context.Process(target=target, args=(ready, *args), daemon=True)
    process.start()
    return process, int(ready.get(timeout=60))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500, help="timed calls per repeat and side")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=50, help="checked calls before timing")
    parser.add_argument("--chunk", type=int, default=50, help="calls in a row before switching")
    parser.add_argument("--size-kb", type=int, nargs="+", default=[100], help="KiB of float32")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    if min(args.calls, args.repeats, args.warmup, args.chunk, *args.size_kb) < 1:
        parser.error("--calls, --repeats, --warmup, --chunk and --size-kb must be >= 1")

    info = machine()
    print(
        f"machine: {info['processor']}, {info['cpus']} cpus, python {info['python']}, grpcio "
        f"{info['grpcio']}, protobuf {info['protobuf']}, flask {info['flask']}, werkzeug "
        f"{info['werkzeug']}; load average at start {info['load_average_1min']:.2f}"
    )
    print(f"{args.calls} calls x {args.repeats} repeats per side, alternating every {args.chunk}")
    context = multiprocessing.get_context("spawn")
    token = secrets.token_hex(16)
    servers = []
    hops: list[Hop] = []
    cases = []
    try:
        servers.append(start_server(context, serve_grpc, token))
        servers.append(start_server(context, serve_flask, False))
        servers.append(start_server(context, serve_flask, True))
        hops = [
            GrpcHop(servers[0][1], token),
            TcpHop(servers[0][1], token),
            FlaskHop(servers[1][1], keep_alive=False),
            FlaskHop(servers[2][1], keep_alive=True),
        ]
        for size_kb in args.size_kb:
            cases.append(run_size(hops, size_kb, args))
            print_case(cases[-1], [hop.key for hop in hops])
    finally:
        for hop in hops:
            hop.close()
        for k, (process, _) in enumerate(servers):
            process.join(timeout=10 if k == 0 else 0)  # the worker stops on Shutdown
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)
    for case in cases:
        if case["size_kb"] != 100:
            continue
        for ours in ("ours", "ours_tcp"):
            ratios = [case[key]["vs"][ours]["ratio_median"] for key in ("werkzeug", "keep_alive")]
            verdicts = [
                f"{r:.1f}x vs {case[key]['name']}"
                for r, key in zip(ratios, ("werkzeug", "keep_alive"), strict=True)
            ]
            print(
                f"\nissue 5 target, >= 5x at 100 KiB (medians), {case[ours]['name']}: "
                f"{', '.join(verdicts)}: {'met' if min(ratios) >= 5 else 'not met'}"
            )
    if args.json is not None:
        figures = {"machine": info, "args": {**vars(args), "json": str(args.json)}, "cases": cases}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
