"""The measurement's per-sample client and timestamps: optional, round-trip, checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.fidelity import load_measurement
from splitexit.topology import load_topology
from tests.fidelity.helpers import measurement_mapping

PLAN = Configuration(partition=(2, 9), placement=(1, 2), thresholds=(0.5,))


def _with_clients(data: dict[str, Any]) -> dict[str, Any]:
    """Two clients dealt round-robin; each sends when its previous result is back."""
    clock = [0.0, 0.001]
    for i, sample in enumerate(data["samples"]):
        c = i % 2
        sample["client"] = c + 1
        sample["sent_s"] = clock[c]
        if sample["status"] == "delivered":
            sample["received_s"] = clock[c] + sample["latency_s"]
            clock[c] = sample["received_s"] + 1e-4
    data["run"] = {"clients": 2, "network": "netns", "transport": "grpc"}
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_client_ids_and_times_round_trip(tmp_path: Path) -> None:
    data = _with_clients(measurement_mapping(load_topology("mobile"), PLAN, rows=20, failed=2))
    m = load_measurement(_write(tmp_path, data))
    assert m.clients == 2 and m.network == "netns"
    assert m.client is not None and m.client.tolist() == [i % 2 + 1 for i in range(20)]
    assert m.sent_s is not None and m.received_s is not None
    np.testing.assert_allclose(m.sent_s, [s["sent_s"] for s in data["samples"]])
    assert np.isnan(m.received_s[:2]).all()  # the two failed samples have no arrival
    done = m.delivered
    np.testing.assert_allclose((m.received_s - m.sent_s)[done], m.latency_s[done], rtol=1e-12)


def test_files_without_clients_still_load(tmp_path: Path) -> None:
    m = load_measurement(_write(tmp_path, measurement_mapping(load_topology("mobile"), PLAN,
                                                              rows=10)))  # fmt: skip
    assert m.client is None and m.sent_s is None and m.received_s is None
    assert m.clients == 1 and m.network == "emulated"


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d["samples"][3].update(client=0), r"samples\[3\]\.client"),
        (lambda d: d["samples"][3].update(sent_s=-1.0), r"samples\[3\]\.sent_s"),
        (lambda d: d["samples"][4].update(received_s=0.0, sent_s=1.0), "before sent_s"),
        (lambda d: d["run"].update(network="carrier-pigeon"), "run.network must be"),
    ],
)
def test_bad_client_fields_are_one_line(tmp_path: Path, change: Any, needle: str) -> None:
    data = _with_clients(measurement_mapping(load_topology("mobile"), PLAN, rows=10))
    change(data)
    with pytest.raises(InputError, match=needle) as error:
        load_measurement(_write(tmp_path, data))
    assert "\n" not in str(error.value)
