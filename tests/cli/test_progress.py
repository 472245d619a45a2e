"""The CLI's progress helper and the testbed's progress hook (counts and live latencies)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from splitexit.cli._progress import SampleBar, progress_enabled, set_log_level, steps
from splitexit.errors import InputError
from splitexit.runtime import Chain
from splitexit.runtime._records import SampleRecord, run_clients
from splitexit.runtime._testbed import TestbedOptions, measure


class _FakeChain(Chain):
    """Just what ``measure`` calls: infer per sample, stream through ``run_clients`` (a
    ``Chain``, as ``measure`` declares, with none of its servers)."""

    def __init__(self) -> None:
        self.streams = 0

    def wait_ready(self) -> None: ...

    def deploy(self) -> None: ...

    def infer(self, index: int, image: Any, label: int) -> SampleRecord:
        if index == 3:
            return SampleRecord(index, label, "failed", reason="boom")
        return SampleRecord(index, label, "delivered", latency_s=(index + 1) / 1000)

    def stream(self, images: Any, labels: Any, indices: list[int], *, clients: int = 1,
               progress: Any = None) -> list[SampleRecord]:  # fmt: skip
        self.streams += 1

        def one(i: int) -> SampleRecord:
            return self.infer(indices[i], images[i], int(labels[i]))

        def failed(i: int, reason: str) -> SampleRecord:
            return SampleRecord(indices[i], int(labels[i]), "failed", reason=reason)

        return run_clients(len(indices), clients, one, failed, progress)


def test_sample_bar_counts_and_percentiles_without_a_terminal() -> None:
    with SampleBar("x", total=4, enabled=False) as bar:
        for latency in (0.001, 0.002, None, 0.004):
            bar.observe(latency)
            bar()
    assert bar.done == 4
    assert bar.percentile(50) == pytest.approx(0.002)
    assert bar.percentile(99) == pytest.approx(np.percentile([0.001, 0.002, 0.004], 99))


def test_sample_bar_percentile_is_nan_before_any_sample() -> None:
    assert math.isnan(SampleBar("x", total=1, enabled=False).percentile(50))


def test_testbed_measure_feeds_the_bar_measured_samples_only() -> None:
    chain = _FakeChain()
    images, labels = np.zeros((10, 1), np.float32), np.zeros(10, np.int64)
    bar = SampleBar("x", total=10, enabled=False)
    records = measure(chain, images, labels, TestbedOptions(samples=10, clients=2),  # type: ignore[arg-type]
                      progress=bar)  # fmt: skip
    assert chain.streams == 2  # the warm samples, then the measured ones
    assert bar.done == 10 and len(records) == 10
    # nine delivered samples observed (index 3 failed), the warm ones not counted
    assert bar.percentile(50) == pytest.approx(
        np.percentile([1, 2, 3, 5, 6, 7, 8, 9, 10], 50) / 1e3
    )
    assert "infer" not in vars(chain)  # the class's method is back


def test_testbed_measure_plain_callable_hook_still_counts() -> None:
    calls: list[int] = []
    images, labels = np.zeros((5, 1), np.float32), np.zeros(5, np.int64)
    measure(_FakeChain(), images, labels, TestbedOptions(samples=5),  # type: ignore[arg-type]
            progress=lambda: calls.append(1))  # fmt: skip
    assert len(calls) == 5


def test_progress_is_quiet_when_asked_or_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert progress_enabled(quiet=True) is False
    assert progress_enabled() is False  # pytest captures stderr: not a terminal
    with steps("methods", 2, enabled=False) as advance:
        advance("a")


def test_set_log_level_refuses_an_unknown_level() -> None:
    with pytest.raises(InputError, match="--log-level must be one of debug, info"):
        set_log_level("loud")
