"""Several configurations measured in interleaved blocks (runtime/_interleave.py)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np
import pytest

from splitexit.errors import InputError
from splitexit.fidelity import measurement_from_mapping
from splitexit.fidelity._calibrate import _pause
from splitexit.runtime import (
    PixelCodec,
    TestbedOptions,
    TestbedSession,
    interleaved_order,
    measure_interleaved,
    open_testbed,
)
from splitexit.runtime._netns import list_namespaces


def test_every_configuration_once_a_round_and_every_sample_once() -> None:
    order = interleaved_order(3, 10, 4, seed=5)
    assert len(order) == 12
    for r in range(4):
        this_round = order[3 * r : 3 * r + 3]
        assert sorted(c for c, _ in this_round) == [0, 1, 2]
        assert all(positions == list(range(r, 10, 4)) for _, positions in this_round)
    for c in range(3):
        mine = sorted(p for k, positions in order if k == c for p in positions)
        assert mine == list(range(10))


def test_the_order_is_seeded_and_differs_between_rounds() -> None:
    assert interleaved_order(20, 500, 10, seed=0) == interleaved_order(20, 500, 10, seed=0)
    assert interleaved_order(20, 500, 10, seed=0) != interleaved_order(20, 500, 10, seed=1)
    rounds = [
        tuple(c for c, _ in interleaved_order(20, 500, 10, seed=0)[20 * r : 20 * r + 20])
        for r in range(10)
    ]
    assert len(set(rounds)) == 10  # not the same round-robin every round
    assert len({r[0] for r in rounds}) > 1  # nobody always first


def test_more_blocks_than_samples_is_refused() -> None:
    with pytest.raises(InputError, match="interleave must be at most the samples"):
        interleaved_order(2, 3, 4)


class _FakeSession:
    def __init__(self, name: int, count: int, log: list[tuple[int, list[int]]]) -> None:
        self.name, self.count, self.log = name, count, log
        self.seen: list[int] = []

    def block(self, positions: Sequence[int], *, progress: Callable[[], None] | None) -> None:
        self.log.append((self.name, list(positions)))
        self.seen.extend(positions)

    def measurement(self) -> dict[str, Any]:
        return {"name": self.name, "seen": self.seen}


def test_measure_interleaved_follows_the_order_and_returns_one_document_each() -> None:
    log: list[tuple[int, list[int]]] = []
    sessions = [_FakeSession(c, 7, log) for c in range(3)]
    documents = measure_interleaved(sessions, 3, seed=2)
    assert log == interleaved_order(3, 7, 3, seed=2)
    assert [d["name"] for d in documents] == [0, 1, 2]
    assert all(sorted(d["seen"]) == list(range(7)) for d in documents)
    with pytest.raises(InputError, match="as many samples"):
        measure_interleaved([_FakeSession(0, 7, []), _FakeSession(1, 8, [])], 2)


class _FakeChain:
    def __init__(self) -> None:
        self.streams: list[list[int]] = []

    def stream(self, images: Any, labels: Any, indices: Sequence[int], **kwargs: Any) -> list[Any]:
        self.streams.append(list(indices))
        return [object() for _ in indices]


def test_a_session_warms_before_every_block_and_never_measures_a_sample_twice() -> None:
    chain = _FakeChain()
    images, labels = np.zeros((6, 1), np.float32), np.zeros(6, np.int64)
    options = TestbedOptions(samples=6, warm_samples=2)
    session = TestbedSession(chain, None, None, images, labels, options, "x", 0.0)  # type: ignore[arg-type]
    session.block([0, 3])
    session.block([1, 4])
    assert chain.streams == [[0, 1], [0, 3], [0, 1], [1, 4]]  # warm (not kept), then the block
    assert sorted(session.records) == [0, 1, 3, 4] and session.blocks == {0: 0, 3: 0, 1: 1, 4: 1}
    with pytest.raises(InputError, match="new sample positions"):
        session.block([2, 3])  # 3 was measured
    with pytest.raises(InputError, match="new sample positions"):
        session.block([6])


def test_pauses_between_blocks_are_not_the_clients_pause() -> None:
    """A one-client run interleaved in two blocks: the minute between them is no pause."""
    from splitexit.topology import load_topology
    from tests.fidelity.helpers import measurement_mapping, random_deployments

    topology = load_topology("iot")
    deployment = random_deployments(topology, 1, seed=0)[0]
    data = measurement_mapping(topology, deployment, rows=10)
    clock = 0.0
    for i, sample in enumerate(data["samples"]):
        clock += 60.0 if i == 5 else 0.001  # 1 ms pause, then another block a minute later
        sample["sent_s"], sample["received_s"] = clock, clock + sample["latency_s"]
        clock = sample["received_s"]
        sample["block"] = int(i >= 5)
    case_of = measurement_from_mapping(data, source="m.json")
    assert case_of.block is not None and case_of.block.tolist() == [0] * 5 + [1] * 5

    class _Case:
        measurement = case_of

    assert _pause(_Case()) == pytest.approx(0.001)  # type: ignore[arg-type]
    for sample in data["samples"]:
        del sample["block"]
    mixed = measurement_from_mapping(data, source="m.json")

    class _Plain:
        measurement = mixed

    assert _pause(_Plain()) > 6.0  # type: ignore[arg-type]  # read as one block: 60 s / 9


def _interleaved(deployable: Any, network: str) -> list[dict[str, Any]]:
    data = deployable.data
    pixels = PixelCodec(data.pixel_levels, data.mean, data.std)
    options = TestbedOptions(samples=6, network=network, warmup=2, warm_samples=1)

    def opened() -> Any:
        return open_testbed(
            deployable.manifest, deployable.folder, deployable.topology,
            data.profile.images, data.profile.labels, pixels, options, profile_name="tiny",
        )  # fmt: skip

    with ExitStack() as stack:
        sessions = [stack.enter_context(opened()) for _ in range(2)]
        return measure_interleaved(sessions, 3, seed=0)


def _check(documents: list[dict[str, Any]]) -> None:
    for data in documents:
        samples = data["samples"]
        assert data["run"]["blocks"] == 3 and data["summary"]["delivered"] == 6
        assert [s["index"] for s in samples] == list(range(6))
        assert [s["block"] for s in samples] == [i % 3 for i in range(6)]
        by_block = sorted(samples, key=lambda s: s["sent_s"])
        assert [s["block"] for s in by_block] == [0, 0, 1, 1, 2, 2]  # block after block
        for before, after in itertools.pairwise(by_block):
            assert after["sent_s"] >= before["received_s"]
        assert measurement_from_mapping(data, source="m.json").block is not None


@pytest.mark.slow
def test_two_configurations_interleaved_on_local_workers(deployable: Any) -> None:
    _check(_interleaved(deployable, "emulated"))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: makes network namespaces and veths")
@pytest.mark.slow
def test_two_configurations_interleaved_on_namespaces_leave_nothing(deployable: Any) -> None:
    before = {n for n in list_namespaces() if n.startswith("splitexit-")}
    _check(_interleaved(deployable, "netns"))
    assert {n for n in list_namespaces() if n.startswith("splitexit-")} <= before
