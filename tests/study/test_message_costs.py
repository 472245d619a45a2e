"""The study's predictions charge the topology's per-message overheads (docs/study.md)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from splitexit.study._executor import message_costs
from splitexit.topology import Overheads, load_topology

SEED004 = load_topology("seed004")  # mobile 0, edge 1, cloud 2; 200 Mbps then 1 Mbps, no PL


def test_without_overheads_the_costs_are_the_transfers() -> None:
    path, bits = [0, 1, 2, 0], [1e6, 2e5, 80.0]
    assert message_costs(SEED004, path, bits) == [
        SEED004.transfer_s(b, a, c) for b, a, c in zip(bits, path[:-1], path[1:], strict=True)
    ]


@pytest.mark.parametrize(
    ("path", "messages", "links"),
    [
        ([0, 0, 0], 2, 0),  # I@M: input and result, no link
        ([0, 1, 0], 2, 2),  # I@E: input over link 0, result back
        ([0, 1, 2, 0], 3, 4),  # P@EC: input 1 link, cut 1 link, result from the cloud 2 links
        ([0, 0, 2, 0], 3, 4),  # P@MC: the cut crosses both links
    ],
)
def test_overheads_add_per_message_and_per_link(path: list[int], messages: int, links: int) -> None:
    topo = replace(SEED004, overheads=Overheads(per_message=1.1e-3, per_hop=0.2e-3))
    bits = [8e5] + [1e4] * (len(path) - 2)
    before = sum(message_costs(SEED004, path, bits))
    after = sum(message_costs(topo, path, bits))
    assert after - before == pytest.approx(messages * 1.1e-3 + links * 0.2e-3, rel=1e-12)
