"""The splitexit.measurement/1 schema: valid files load, bad ones fail in one line."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.fidelity import load_cases, load_measurement
from splitexit.topology import load_topology
from tests.fidelity.helpers import measurement_mapping

PLAN = Configuration(partition=(2, 9), placement=(1, 2), thresholds=(0.5,))


@pytest.fixture
def valid() -> dict[str, Any]:
    return measurement_mapping(load_topology("mobile"), PLAN, rows=20, failed=2)


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_measurement_valid(tmp_path: Path, valid: dict[str, Any]) -> None:
    m = load_measurement(_write(tmp_path, valid))
    assert m.partition == (2, 9) and m.placement == ("smartphone", "edge")
    assert m.exit_thresholds == (0.5,) and not m.per_exit
    assert m.num_samples == 20 and int(m.delivered.sum()) == 18
    assert np.isnan(m.latency_s[:2]).all() and (m.exit[:2] == -1).all()
    hops = sum(s["exit"] for s in valid["samples"] if s["status"] == "delivered")
    assert m.hop_sample.shape == (hops,)
    assert m.label_text() == "P=[3,10] A=[smartphone,edge] T=0.5"


def _drop_hop(d: dict[str, Any]) -> None:
    sample = next(s for s in d["samples"] if s["status"] == "delivered" and s["exit"] == 2)
    sample["hops"] = sample["hops"][1:]


MUTATIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("format", lambda d: d.update(format="splitexit.measurement/9"), "format must be"),
    ("missing", lambda d: d.pop("input_bits"), "input_bits is required"),
    ("extra", lambda d: d.update(extra=1), "extra is not a known field"),
    ("order", lambda d: d["config"].update(partition=[10, 3]), "increasing 1-based"),
    ("both", lambda d: d["config"].update(thresholds=[0.5]), "not both"),
    ("count", lambda d: d["config"].update(threshold=None, thresholds=[0.5, 0.6]), "but the last"),
    ("range", lambda d: d["config"].update(threshold=1.5), "config.threshold"),
    ("tier", lambda d: d["partitions"][1].update(tier="cloud"), "partitions[1] must be"),
    ("bits", lambda d: d["partitions"][1].update(activation_bits=5.0), "activation_bits"),
    ("negative", lambda d: d["samples"][3].update(latency_s=-1.0), "samples[3].latency_s"),
    ("hops", _drop_hop, "hops must visit partitions"),
    ("dup", lambda d: d["samples"][4].update(index=d["samples"][5]["index"]), "distinct row"),
]


@pytest.mark.parametrize(("name", "mutate", "message"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_load_measurement_bad_field_one_line(
    tmp_path: Path,
    valid: dict[str, Any],
    name: str,
    mutate: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    data = copy.deepcopy(valid)
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(InputError) as info:
        load_measurement(path)
    text = str(info.value)
    assert text.startswith(str(path)) and message in text and "\n" not in text


def test_load_cases_checks_against_trace_and_topology(
    tmp_path: Path, valid: dict[str, Any]
) -> None:
    data = copy.deepcopy(valid)
    data["samples"][0]["index"] = 10**6
    with pytest.raises(InputError, match="not a row of the trace"):
        load_cases([_write(tmp_path, data)])
    data = copy.deepcopy(valid)
    data["partitions"][0]["compute_ratio"] = 3.0
    with pytest.raises(InputError, match="compute_ratio is 3"):
        load_cases([_write(tmp_path, data)])
    with pytest.raises(InputError, match="not a tier"):
        load_cases([_write(tmp_path, valid)], topology="iot")


def test_load_measurement_accepts_testbed_notes(tmp_path: Path, valid: dict[str, Any]) -> None:
    data = {**valid, "run": {"clients": 4, "wall_s": 1.0}, "summary": {"mean_s": 0.1}}
    assert load_measurement(_write(tmp_path, data)).clients == 4
    data["run"] = {"clients": 0}
    with pytest.raises(InputError, match=r"run\.clients must be an integer >= 1"):
        load_measurement(_write(tmp_path, data))
    data["run"] = {"transport": "tcp"}
    assert load_measurement(_write(tmp_path, data)).setting == ("sleep", "tcp")
    data["run"] = {"transport": "pigeon"}
    with pytest.raises(InputError, match=r"run\.transport must be grpc or tcp"):
        load_measurement(_write(tmp_path, data))
