from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from splitexit import InputError
from splitexit.spatial import load_model, model_from_mapping, zoo_mapping


def _tiny() -> dict[str, Any]:
    return copy.deepcopy(zoo_mapping("tinycnn"))


def _set(path: str, value: Any) -> dict[str, Any]:
    data = _tiny()
    target: Any = data
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_set("layers.2.s", 0), "tiny.yaml: layers[2].s must be >= 1, got 0"),
        (_set("layers.2.f", "3"), "tiny.yaml: layers[2].f must be an integer, got '3'"),
        (
            _set("layers.0.c_in", 4),
            "tiny.yaml: layers[0].c_in is 4 but the previous layer outputs 3",
        ),
        (
            _set("layers.2.c_in", 9),
            "tiny.yaml: layers[2].c_in is 9 but the previous layer outputs 8",
        ),
        (
            _set("layers.6.f", 40),
            "tiny.yaml: layers[6]: a 8x8 input with f=40, s=1, p=0 gives an empty output",
        ),
        (_set("layers.2.p", 5), "tiny.yaml: layers[2].p must be < f = 5, got 5"),
        (
            _set("layers.3.branches.1", [{"kind": "conv", "c_out": 5, "f": 1}]),
            "tiny.yaml: layers[3].branches[1] outputs 5 channels but branches[0] outputs 12",
        ),
        (
            _set("layers.4.branches.1.1.s", 3),
            "tiny.yaml: layers[4].branches[1][1]: reorg by 3 needs a height and width divisible",
        ),
        (
            _set("layers.4.branches.1.1.s", 4),
            "tiny.yaml: layers[4].branches[1] outputs 4x4 but branches[0] outputs 8x8",
        ),
        (_set("layers.0.colour", "red"), "tiny.yaml: layers[0].colour is not a known field"),
        (_set("layers.1.kind", "avgpool"), "tiny.yaml: layers[1].kind must be"),
        (_set("layers.0.c_out", None), "tiny.yaml: layers[0] needs c_out and f for a conv"),
        (_set("layers", []), "tiny.yaml: layers must list at least one layer"),
        (_set("layers.1.name", "conv1"), "tiny.yaml: layers[1].name 'conv1' is used twice"),
    ],
)
def test_model_spec_bad_input_is_one_located_line(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as info:
        model_from_mapping(data, source="tiny.yaml")
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_model_spec_file_round_trip(write_yaml: Callable[..., Path]) -> None:
    path = write_yaml(_tiny(), "tiny.yaml")
    model = load_model(path)
    assert model.name == "tinycnn"
    assert model.heights == load_model("tinycnn").heights


def test_model_spec_unknown_name_lists_models() -> None:
    with pytest.raises(InputError, match="models: resnet50, tinycnn, vgg16, vgg19, yolov2"):
        load_model("alexnet")


def test_shrunk_zoo_model_keeps_heights_and_changes_name() -> None:
    small = load_model("vgg16", channel_divisor=16, input_size=(224, 32))
    assert small.heights == load_model("vgg16").heights
    assert small.layers[0].c_out == 4 and small.name == "vgg16-c16-224x32"
