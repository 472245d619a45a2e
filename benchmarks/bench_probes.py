"""Hostile-but-fair probes against one worker process (issue 14), loopback only.

Starts ``splitexit worker --transport tcp`` (token in the environment) and reads its thread
count and resident memory from /proc before and after each probe:

- slow-loris: N connections opened and left silent on the frames port, then on the gRPC
  port; figures while they are held (after ``--hold`` s) and after the frames read deadline
  (10 s) has passed;
- oversize: K frames whose header claims more than ``--max-message-mb`` (refused on the
  header), K frames within the limit sent only half-way (held until the read deadline),
  and K gRPC calls over the limit;
- parent watch: a parent process starts a worker with ``--parent``, is SIGKILLed, and the
  time until the worker is gone is measured (several times).

Usage: PYTHONPATH=src .venv/bin/python benchmarks/bench_probes.py [--connections 400]
       [--oversize 6] [--hold 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc

from splitexit.runtime import _wire as wire
from splitexit.runtime._frames import handshake_response
from splitexit.runtime._transport import WorkerOptions, make_stub, open_channel

READY = "splitexit worker ready "
WORKER = [sys.executable, "-m", "splitexit", "worker", "--tier", "edge", "--log-level", "error"]


def proc(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("Threads", "VmRSS"):
                fields[key] = int(value.split()[0])
    return {"threads": fields["Threads"], "rss_mib": fields["VmRSS"] // 1024}


def start_worker(token: str, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    env = dict(os.environ, SPLITEXIT_TOKEN=token)
    worker = subprocess.Popen(
        [*WORKER, "--transport", "tcp", "--listen", "127.0.0.1:0", *extra],
        env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert worker.stdout is not None
    line = worker.stdout.readline()
    address = line[len(READY) :].split()[1]
    channel = open_channel(address, WorkerOptions())
    health = make_stub(channel, wire.WORKER_SERVICE, "Health", wire.Empty, wire.HealthReply)
    data = health(wire.Empty(), timeout=10).data_address
    channel.close()
    return worker, address, data


def hostport(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def silent(address: str, n: int) -> list[socket.socket]:
    socks = []
    for _ in range(n):
        with contextlib.suppress(OSError):
            socks.append(socket.create_connection(hostport(address), timeout=5))
    return socks


def authenticated(address: str, token: str) -> socket.socket:
    sock = socket.create_connection(hostport(address), timeout=15)
    sock.sendall(handshake_response(token, sock.recv(16)))
    assert sock.recv(1) == b"\x01"
    return sock


def slow_loris(pid: int, address: str, n: int, hold: float) -> dict[str, Any]:
    before = proc(pid)
    socks = silent(address, n)
    time.sleep(hold)
    held = proc(pid)
    time.sleep(11.0)  # past the frames read deadline (10 s)
    later = proc(pid)
    for sock in socks:
        sock.close()
    return {"connections": n, "before": before, "held": held, "after_12s": later}


def oversize(
    pid: int, data: str, grpc_address: str, token: str, k: int, limit_mb: int
) -> dict[str, Any]:
    before = proc(pid)
    refused = 0
    for _ in range(k):  # headers over the limit: closed at once
        sock = authenticated(data, token)
        sock.sendall(struct.pack(">IB", (limit_mb + 36) << 20, 1))
        refused += sock.recv(1) == b""
        sock.close()
    after_headers = proc(pid)
    half = []
    size = (limit_mb - 14) << 20  # 50 MiB of a 64 MiB limit, half of it sent
    for _ in range(k):
        sock = authenticated(data, token)
        sock.sendall(struct.pack(">IB", size, 1) + b"\0" * (size // 2))
        half.append(sock)
    time.sleep(1.0)
    during_half = proc(pid)
    time.sleep(11.0)
    after_half = proc(pid)
    for sock in half:
        sock.close()
    channel = open_channel(grpc_address, WorkerOptions(max_message_bytes=256 << 20))
    infer = make_stub(channel, wire.WORKER_SERVICE, "Infer", wire.InferRequest, wire.InferReply)
    big = wire.InferRequest(
        input=wire.Tensor(
            dtype="uint8", shape=[(limit_mb + 16) << 20], data=b"\0" * ((limit_mb + 16) << 20)
        )
    )
    codes: list[str] = []

    def call() -> None:
        try:
            infer(big, timeout=30)
            codes.append("OK")
        except grpc.RpcError as error:
            codes.append(error.code().name)

    threads = [threading.Thread(target=call) for _ in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    channel.close()
    time.sleep(1.0)
    return {
        "frames_over_limit": k, "refused_on_header": refused, "before": before,
        "after_headers": after_headers, "half_sent_50mib": k, "during_half": during_half,
        "after_half_12s": after_half, "grpc_over_limit_codes": sorted(set(codes)),
        "after_grpc": proc(pid),
    }  # fmt: skip


PARENT = """
import os, subprocess, sys, time
w = subprocess.Popen(sys.argv[1:] + ["--parent", str(os.getpid())])
print(w.pid, flush=True)
time.sleep(600)
"""


def parent_watch(token: str, runs: int) -> dict[str, Any]:
    env = dict(os.environ, SPLITEXIT_TOKEN=token)
    waits = []
    for _ in range(runs):
        parent = subprocess.Popen(
            [sys.executable, "-c", PARENT, *WORKER, "--listen", "127.0.0.1:0"],
            env=env, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert parent.stdout.readline().startswith(READY)
        killed = time.monotonic()
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        while (
            Path(f"/proc/{pid}").exists()
            and "zombie" not in Path(f"/proc/{pid}/status").read_text()
        ):
            time.sleep(0.01)
        waits.append(round(time.monotonic() - killed, 3))
    return {"runs": runs, "stop_s": waits, "max_s": max(waits)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=400)
    parser.add_argument("--oversize", type=int, default=6)
    parser.add_argument("--hold", type=float, default=2.0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    token = secrets.token_hex(16)
    worker, address, data = start_worker(token)
    try:
        report = {
            "idle": proc(worker.pid),
            "slow_loris_frames": slow_loris(worker.pid, data, args.connections, args.hold),
            "slow_loris_grpc": slow_loris(worker.pid, address, args.connections, args.hold),
            "oversize": oversize(worker.pid, data, address, token, args.oversize, 64),
        }
    finally:
        worker.terminate()
        worker.wait(10)
    report["parent_watch"] = parent_watch(token, 5)
    print(json.dumps(report, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
