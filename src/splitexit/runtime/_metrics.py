"""A worker's Prometheus metrics: requests, failures by reason, latency per partition.

Each worker has its own registry (several workers may share a process, as the tests run
them), served over HTTP on ``WorkerOptions.metrics_port`` when one is given (loopback by
default, ``metrics_host`` to widen it). Names follow Prometheus conventions:

- ``splitexit_worker_requests_total{tier, partition, api}``: samples received (api: infer,
  frame, kserve), whatever became of them;
- ``splitexit_worker_failures_total{tier, partition, api, reason}``: samples that failed:
  ``not_deployed``, ``invalid_argument``, ``downstream`` (a later tier or the sink did not
  take it), ``error`` (anything else);
- ``splitexit_worker_request_seconds{tier, partition, api}``: a histogram of the time a
  sample spent in this worker's hands, downstream calls included;
- ``splitexit_worker_in_flight{tier}``: samples in this worker's hands now.

>>> metrics = WorkerMetrics("edge")
>>> with metrics.track("infer", lambda: 1) as call:
...     call.fail("downstream")
>>> metrics.value("splitexit_worker_failures_total", partition="1", api="infer",
...               reason="downstream")
1.0
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

__all__ = ["Call", "WorkerMetrics"]

# seconds: a fast partition on loopback takes ~1 ms, a chain over emulated links seconds
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass
class Call:
    """One tracked sample; ``fail(reason)`` marks it failed (once)."""

    reason: str = ""

    def fail(self, reason: str) -> None:
        self.reason = self.reason or reason


class WorkerMetrics:
    """The metrics of the worker of ``tier``, in a registry of its own."""

    def __init__(self, tier: str) -> None:
        self.tier = tier
        self.registry = CollectorRegistry()
        labels = ["tier", "partition", "api"]
        self.requests = Counter(
            "splitexit_worker_requests", "Samples received.", labels, registry=self.registry
        )
        self.failures = Counter(
            "splitexit_worker_failures",
            "Samples that failed, by reason.",
            [*labels, "reason"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "splitexit_worker_request_seconds",
            "Time a sample spent in this worker, downstream calls included.",
            labels,
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "splitexit_worker_in_flight", "Samples in this worker now.", ["tier"],
            registry=self.registry,
        )  # fmt: skip
        self.in_flight.labels(tier).set(0)  # scraped as 0 from the start, not absent
        self._http: object | None = None
        self._lock = threading.Lock()

    @contextmanager
    def track(self, api: str, partition: Callable[[], int]) -> Iterator[Call]:
        """Count a sample on ``api``; an exception escaping marks it failed (``error``
        unless ``fail`` named the reason). ``partition()`` is read at the end (0: none)."""
        call = Call()
        gauge = self.in_flight.labels(self.tier)
        gauge.inc()
        start = time.perf_counter()
        try:
            yield call
        except BaseException:
            call.fail("error")
            raise
        finally:
            elapsed = time.perf_counter() - start
            gauge.dec()
            labels = (self.tier, str(partition()), api)
            self.requests.labels(*labels).inc()
            self.latency.labels(*labels).observe(elapsed)
            if call.reason:
                self.failures.labels(*labels, call.reason).inc()

    def value(self, name: str, **labels: str) -> float:
        """The current value of sample ``name`` with ``labels`` (tier is implied); 0 if none."""
        found = self.registry.get_sample_value(name, {"tier": self.tier, **labels})
        return 0.0 if found is None else float(found)

    def serve(self, port: int, host: str = "127.0.0.1") -> int:
        """Serve ``/metrics`` over HTTP on ``host:port`` (0: any free port); the bound port."""
        with self._lock:
            server, _thread = start_http_server(port, addr=host, registry=self.registry)
            self._http = server
            return int(server.server_port)

    def close(self) -> None:
        """Stop serving ``/metrics`` (if it was)."""
        with self._lock:
            server, self._http = self._http, None
        if server is not None:
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
