"""What an idle pause before a call costs the runtime's gRPC hop (docs/benchmarks.md).

The worker's own server (``WorkerServer``, its ``Infer`` cut down to decoding the tensor) in a
child process; the client sends a 4-float ``InferRequest`` back to back, then after a pause
of 1 ms and 10 ms (a plain sleep, as a sample that just crossed an emulated link), and prints
the median call time of each. Run: ``.venv/bin/python benchmarks/bench_grpc_idle.py``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import secrets
import statistics
import time
from multiprocessing.queues import Queue
from typing import Any

import grpc
import numpy as np

from splitexit.runtime import _wire as wire
from splitexit.runtime._servicer import WorkerServicer
from splitexit.runtime._worker import WorkerOptions, WorkerServer, make_stub


class DecodeOnlyServicer(WorkerServicer):
    """Decodes the tensor and replies; no model."""

    def Infer(self, request: Any, context: grpc.ServicerContext) -> Any:
        wire.from_tensor(request.input)
        return wire.InferReply(ok=True)


class DecodeOnly(WorkerServer):
    def make_servicer(self) -> WorkerServicer:
        return DecodeOnlyServicer(self.tier, self.options, on_shutdown=self.stop)


def serve(ready: Queue[int], token: str) -> None:
    worker = DecodeOnly("idle", token, options=WorkerOptions())
    ready.put(worker.start())
    worker.stopped.wait()


def median_call_us(stub: Any, pause_s: float, calls: int) -> float:
    x = np.zeros(4, dtype=np.float32)
    times = []
    for i in range(calls + 20):
        if pause_s:
            time.sleep(pause_s)
        start = time.perf_counter()
        stub(wire.InferRequest(request_id=i, input=wire.to_tensor(x)), timeout=10)
        times.append(time.perf_counter() - start)
    return statistics.median(times[20:]) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="timed calls per pause")
    args = parser.parse_args()
    if args.calls < 1:
        parser.error("--calls must be >= 1")
    context = multiprocessing.get_context("spawn")
    token = secrets.token_hex(8)
    ready = context.Queue()
    process = context.Process(target=serve, args=(ready, token), daemon=True)
    process.start()
    port = int(ready.get(timeout=60))
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    try:
        infer = make_stub(channel, wire.WORKER_SERVICE, "Infer", wire.InferRequest, wire.InferReply)
        for pause in (0.0, 0.001, 0.01):
            us = median_call_us(infer, pause, args.calls)
            print(f"pause {pause * 1e3:4g} ms before each call: median {us:6.0f} µs per call")
        stop = make_stub(channel, wire.WORKER_SERVICE, "Shutdown", wire.ShutdownRequest, wire.Empty)
        stop(wire.ShutdownRequest(token=token), timeout=10)
    finally:
        channel.close()
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()


if __name__ == "__main__":
    main()
