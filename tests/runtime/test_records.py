"""run_clients: every sample ends with one record, whatever the clients do."""

from __future__ import annotations

import threading

import pytest

from splitexit.errors import InputError
from splitexit.runtime import SampleRecord, summarize
from splitexit.runtime._records import run_clients


def _failed(i: int, why: str) -> SampleRecord:
    return SampleRecord(i, 0, "failed", reason=why)


def test_run_clients_gives_each_sample_one_record_in_order() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> SampleRecord:
        with lock:
            seen.append(i)
        return SampleRecord(i, 0, "delivered", latency_s=0.001, prediction=0, exit=1)

    records = run_clients(10, 4, one, _failed)
    assert [r.index for r in records] == list(range(10))
    assert sorted(seen) == list(range(10))  # each sample sent exactly once
    assert summarize(records)["delivered"] == 10


def test_a_raising_progress_stops_its_client_and_fails_the_rest_with_the_reason() -> None:
    calls = {"n": 0}

    def progress() -> None:
        calls["n"] += 1
        raise RuntimeError("progress bar broke")

    def one(i: int) -> SampleRecord:
        return SampleRecord(i, 0, "delivered", latency_s=0.001, prediction=0, exit=1)

    records = run_clients(6, 1, one, _failed, progress)
    assert [r.status for r in records] == ["delivered"] + ["failed"] * 5
    assert {r.reason for r in records[1:]} == {"client 1 stopped: RuntimeError: progress bar broke"}
    summary = summarize(records)
    assert (summary["samples"], summary["delivered"], summary["failed"]) == (6, 1, 5)


def test_run_clients_needs_a_client() -> None:
    with pytest.raises(InputError, match="clients must be >= 1, got 0"):
        run_clients(3, 0, lambda i: _failed(i, ""), _failed)


def test_run_clients_names_each_samples_client() -> None:
    """Sample i goes to client i % clients + 1, failed ones included."""

    def one(i: int) -> SampleRecord:
        if i == 4:
            raise ValueError("bad sample")
        return SampleRecord(i, 0, "delivered", latency_s=0.001, prediction=0, exit=1)

    records = run_clients(7, 3, one, _failed)
    assert [r.client for r in records] == [1, 2, 3, 1, 2, 3, 1]
    assert records[4].status == "failed"
