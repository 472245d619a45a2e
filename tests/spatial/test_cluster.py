from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from splitexit import InputError
from splitexit.spatial import (
    group_cluster,
    group_names,
    load_cluster,
    load_device_table,
    load_model,
    make_problem,
    save_device_table,
)
from tests.spatial.helpers import hand_model, linear_device


@pytest.mark.parametrize(
    ("group", "kwargs", "devices", "mbps"),
    [
        ("DA", {"bandwidth": 50e6}, ["tx2", "tx2", "nano", "nano"], [50] * 4),
        ("DB", {"bandwidth": 300e6}, ["xavier", "xavier", "nano", "nano"], [300] * 4),
        ("DC", {"bandwidth": 50e6}, ["xavier", "tx2", "nano", "pi3"], [50] * 4),
        ("NA", {"device": "nano"}, ["nano"] * 4, [50, 50, 200, 200]),
        ("ND", {"device": "xavier"}, ["xavier"] * 4, [50, 100, 200, 300]),
        ("LB", {}, ["pi3", "nano", "tx2", "xavier"] * 4, [300, 200, 100, 50] * 4),
        ("LD", {}, ["pi3", "nano", "tx2", "xavier"] * 4, [50, 100, 200, 300] * 4),
    ],
)
def test_groups_follow_tables_i_to_iii(
    group: str, kwargs: dict[str, Any], devices: list[str], mbps: list[float]
) -> None:
    cluster = group_cluster(group, **kwargs)
    assert [p.device.name for p in cluster.providers] == devices
    assert [p.bandwidth / 1e6 for p in cluster.providers] == mbps
    assert cluster.requester_bandwidth == 400e6
    assert len(set(cluster.names)) == cluster.size
    assert len(group_names()) == 11


@pytest.mark.parametrize(
    ("group", "kwargs", "message"),
    [
        ("DB", {}, "group DB sets the device types; give a bandwidth"),
        ("NA", {}, "group NA sets the bandwidths; give a device type"),
        ("NA", {"device": "nano", "bandwidth": 5e6}, "group NA sets its own bandwidths"),
        ("LA", {"device": "nano"}, "group LA sets its own device types"),
        ("NA", {"device": "rpi5"}, "device 'rpi5' is not a preset"),
        ("QQ", {}, "group 'QQ' is not one of DA"),
    ],
)
def test_group_errors(group: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        group_cluster(group, **kwargs)


def test_cluster_file_mixes_presets_and_measured_tables(
    tmp_path: Path, write_yaml: Callable[..., Path]
) -> None:
    model = hand_model(2)
    save_device_table(tmp_path / "me.json", linear_device("me", model, 0.25), measured_with="t")
    assert load_device_table(tmp_path / "me.json").seconds[0][-1] == 1.0
    path = write_yaml(
        {
            "name": "lab",
            "overhead": "1ms",
            "requester_bandwidth": "100Mbps",
            "providers": [
                {"name": "a", "device": "me.json", "bandwidth": "20Mbps"},
                {"name": "b", "device": "me.json", "bandwidth": 1e6},
            ],
        },
        "lab.yaml",
    )
    cluster = load_cluster(path)
    assert cluster.overhead_s == pytest.approx(1e-3)
    assert [p.bandwidth for p in cluster.providers] == [20e6, 1e6]
    problem = make_problem(model, cluster)
    assert problem.tables[1][0].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])


@pytest.mark.parametrize(
    ("providers", "message"),
    [
        (
            [{"name": "a", "device": "gpu9", "bandwidth": "5Mbps"}],
            "lab.yaml: providers[0].device 'gpu9' is neither a preset",
        ),
        (
            [{"name": "a", "device": "nano", "bandwidth": "-5Mbps"}],
            "lab.yaml: providers[0].bandwidth must be > 0",
        ),
        (
            [{"name": "a", "device": "nano", "bandwidth": "5MBps"}],
            "lab.yaml: providers[0].bandwidth '5MBps' looks like bytes",
        ),
        (
            [{"name": "a", "device": "nano", "bandwidth": "5Mbps"}] * 2,
            "lab.yaml: providers[1].name 'a' is used twice",
        ),
        ([], "lab.yaml: providers must list at least one provider"),
    ],
)
def test_cluster_file_errors(
    write_yaml: Callable[..., Path], providers: list[dict[str, Any]], message: str
) -> None:
    path = write_yaml({"providers": providers}, "lab.yaml")
    with pytest.raises(InputError, match=re.escape(message)):
        load_cluster(path)


def test_measured_table_for_another_model_is_refused(tmp_path: Path) -> None:
    save_device_table(
        tmp_path / "me.json", linear_device("me", hand_model(2), 1.0), measured_with=""
    )
    cluster_yaml = tmp_path / "c.yaml"
    cluster_yaml.write_text("providers: [{name: a, device: me.json, bandwidth: 5Mbps}]\n")
    with pytest.raises(InputError, match="profiled for model 'hand', not 'tinycnn'"):
        make_problem(load_model("tinycnn"), load_cluster(cluster_yaml))
