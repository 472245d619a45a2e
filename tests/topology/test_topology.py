from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitexit import InputError, load_topology, preset_names
from tests.helpers import tiny_topology, valid_topology_mapping


def test_presets_mobile_matches_paper() -> None:
    # seed 000, section 3.1: smartwatch 500, smartphone 10, edge 2.5, cloud 1;
    # 500 kb/s 6 ms, 10 Mb/s 40 ms, 500 Mb/s 50 ms.
    topo = load_topology("mobile")
    assert [t.compute_ratio for t in topo.tiers] == [500, 10, 2.5, 1]
    assert [link.bandwidth for link in topo.links] == [5e5, 1e7, 5e8]
    assert [link.latency for link in topo.links] == pytest.approx([0.006, 0.04, 0.05])
    assert topo.source == 0 and topo.destination == 0


def test_presets_iot_matches_paper() -> None:
    topo = load_topology("iot")
    assert [t.compute_ratio for t in topo.tiers] == [100, 5, 2.5, 1]
    assert [link.bandwidth for link in topo.links] == [1e7, 4e7, 5e8]
    assert [link.latency for link in topo.links] == pytest.approx([0.01, 0.01, 0.05])


def test_presets_mec_bandwidths_from_seed_004() -> None:
    topo = load_topology("mec")
    assert [t.name for t in topo.tiers] == ["mobile", "edge", "cloud"]
    assert [link.bandwidth for link in topo.links] == [2e8, 1e6]
    assert set(preset_names()) >= {"mobile", "iot", "mec"}


def test_topology_transfer_crosses_every_link_in_either_direction() -> None:
    topo = tiny_topology([4, 2, 1], [1e6, 1e3], [0.01, 0.1])
    bits = 2000.0
    forward = topo.transfer_s(bits, 0, 2)
    assert forward == pytest.approx(0.01 + 0.1 + bits / 1e6 + bits / 1e3)
    assert topo.transfer_s(bits, 2, 0) == pytest.approx(forward)
    assert topo.transfer_s(bits, 1, 1) == 0.0
    assert np.allclose(topo.path_latency, topo.path_latency.T)


def test_topology_destination_defaults_to_source(write_yaml: Callable[..., Path]) -> None:
    data = valid_topology_mapping()
    data["source"] = "smartphone"
    del data["destination"]
    topo = load_topology(write_yaml(data))
    assert topo.source == 1 and topo.destination == 1
    assert topo.with_destination("cloud").destination == 3


def _mutate(path: str, value: Any) -> dict[str, Any]:
    data = valid_topology_mapping()
    target: Any = data
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("links.1.bandwidth", "-5Mbps", "links[1].bandwidth must be > 0, got '-5Mbps'"),
        ("links.0.bandwidth", 0, "links[0].bandwidth must be > 0"),
        ("links.2.latency", "-1ms", "links[2].latency must be >= 0"),
        ("links.0.bandwidth", "fast", "links[0].bandwidth cannot read 'fast'"),
        ("tiers.1.compute_ratio", 0, "tiers[1].compute_ratio must be a finite number > 0"),
        ("tiers.1.compute_ratio", _DELETE, "tiers[1].compute_ratio is required but missing"),
        ("source", "laptop", "source 'laptop' is not a tier"),
        ("destination", "fog", "destination 'fog' is not a tier"),
        ("links.2", _DELETE, "links has 2 entries but 4 tiers need 3"),
        ("tiers.2.name", "smartphone", "tiers[2].name 'smartphone' is used twice"),
        ("links.0.jitter", "1ms", "links[0].jitter is not a known field"),
        ("tiers", [], "tiers must list at least one tier"),
    ],
)
def test_topology_bad_input_names_file_field_problem(
    write_yaml: Callable[..., Path], path: str, value: Any, message: str
) -> None:
    file = write_yaml(_mutate(path, value))
    with pytest.raises(InputError) as info:
        load_topology(file)
    text = str(info.value)
    assert text.startswith(f"{file}: ")
    assert message in text
    assert "\n" not in text


def test_topology_unknown_preset_lists_presets() -> None:
    with pytest.raises(InputError, match="neither a file nor a preset; presets: iot, mec, mobile"):
        load_topology("moon")


def test_topology_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such topology file"):
        load_topology(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("tiers: [", encoding="utf-8")
    with pytest.raises(InputError, match="not valid YAML"):
        load_topology(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(InputError, match="mapping at the top level"):
        load_topology(listy)


def test_topology_with_unknown_destination_raises() -> None:
    with pytest.raises(InputError, match="destination 'mars' is not a tier"):
        load_topology("mobile").with_destination("mars")
