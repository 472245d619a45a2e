from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from splitexit.errors import InputError
from splitexit.export import MANIFEST_NAME, load_manifest, save_manifest
from tests.export.conftest import Exported


def _copy(exported: Exported, tmp_path: Path) -> Path:
    out = tmp_path / "export"
    shutil.copytree(exported.out_dir, out)
    return out / MANIFEST_NAME


def test_manifest_round_trip(exported: Exported, tmp_path: Path) -> None:
    path = _copy(exported, tmp_path)
    save_manifest(exported.manifest, path)
    assert load_manifest(path) == exported.manifest
    data = json.loads(path.read_text())
    assert data["format"] == "splitexit.manifest/1" and data["destination"] == "cloud"
    assert data["input"] == {"shape": [1, 8, 8], "dtype": "float32"}
    first = data["partitions"][0]
    assert first["file"] == "partition-1.onnx" and len(first["sha256"]) == 64
    assert first["inputs"] == [{"name": "input", "shape": [1, 8, 8]}]
    assert [t["name"] for t in first["outputs"]] == ["activation", "probabilities", "entropy"]
    assert data["partitions"][1]["inputs"][0]["shape"] == first["outputs"][0]["shape"]


def _edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_manifest_bad_hash_names_file_and_field(exported: Exported, tmp_path: Path) -> None:
    path = _copy(exported, tmp_path)
    with (path.parent / "partition-2.onnx").open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(InputError) as info:
        load_manifest(path)
    message = str(info.value)
    assert message.startswith(f"{path}: partitions[1].sha256 does not match 'partition-2.onnx'")
    assert "\n" not in message
    load_manifest(path, verify_files=False)  # the schema and the chain are still fine


def test_manifest_missing_file(exported: Exported, tmp_path: Path) -> None:
    path = _copy(exported, tmp_path)
    (path.parent / "partition-3.onnx").unlink()
    with pytest.raises(InputError, match=r"partitions\[2\].file 'partition-3.onnx': no such file"):
        load_manifest(path)


def _shape(i: int, j: int, shape: list[int]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        data["partitions"][i]["inputs"][j]["shape"] = shape

    return change


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target = data
        *parents, last = key.split(".")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return change


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data[key]

    return change


def _per_exit(values: list[float]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        del data["threshold"]
        data["thresholds"] = values

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _shape(1, 0, [4, 8, 9]),
            r"partitions\[1\].inputs\[0\].shape \[4, 8, 9\] does not chain: "
            r"partitions\[0\].outputs\[0\].shape is \[4, 8, 8\]",
        ),
        (
            _shape(0, 0, [1, 28, 28]),
            r"partitions\[0\].inputs\[0\].shape \[1, 28, 28\] does not chain: "
            r"the manifest's input.shape is \[1, 8, 8\]",
        ),
        (_set("partitions.1.first_block", 3), r"partitions\[1\]: blocks 3..3 do not follow"),
        (_set("partitions.2.index", 7), r"partitions\[2\].index must be 3, got 7"),
        (_set("threshold", None), "threshold is needed with 3 partitions, got null"),
        (_set("format", "other/1"), "format"),
        (_set("partitions.0.sha256", "xyz"), r"partitions\[0\].sha256"),
        (_set("input.dtype", "int8"), r"input.dtype"),
        (_set("thresholds", [0.3, 0.6]), "give threshold or thresholds, not both"),
        (_drop("threshold"), "threshold is required but missing"),
        (
            _per_exit([0.3]),
            r"thresholds must hold one threshold per partition but the last \(2\), got 1",
        ),
        (_per_exit([0.3, 1.5]), r"thresholds.1"),
    ],
)
def test_manifest_inconsistent_fields_raise_one_line(
    exported: Exported,
    tmp_path: Path,
    change: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    path = _copy(exported, tmp_path)
    _edit(path, change)
    with pytest.raises(InputError, match=message) as info:
        load_manifest(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_manifest_with_one_threshold_keeps_the_old_fields(exported: Exported) -> None:
    """A global-T manifest is written exactly as before per-exit thresholds existed, so old
    files load and old readers read new ones."""
    data = json.loads((exported.out_dir / MANIFEST_NAME).read_text())
    assert "thresholds" not in data and data["threshold"] == 0.5
    assert list(data) == [
        "format", "model", "dataset", "num_classes", "threshold", "destination", "input",
        "opset", "partitions",
    ]  # fmt: skip
    assert [exported.manifest.threshold_of(k) for k in range(3)] == [0.5, 0.5, None]


def test_manifest_per_exit_thresholds_round_trip(exported: Exported, tmp_path: Path) -> None:
    path = _copy(exported, tmp_path)
    _edit(path, _per_exit([0.3, 0.6]))
    manifest = load_manifest(path)
    assert manifest.threshold is None and manifest.thresholds == (0.3, 0.6)
    assert [manifest.threshold_of(k) for k in range(3)] == [0.3, 0.6, None]
    save_manifest(manifest, path)
    assert load_manifest(path) == manifest
    _edit(path, _set("threshold", None))  # an explicit null beside thresholds is accepted
    assert load_manifest(path) == manifest


@pytest.mark.parametrize("k", [-1, 3])
def test_manifest_threshold_of_out_of_range(exported: Exported, k: int) -> None:
    with pytest.raises(IndexError, match=rf"partition index k must be in 0..2, got {k}"):
        exported.manifest.threshold_of(k)


def test_manifest_threshold_of_single_partition(exported: Exported) -> None:
    single = dataclasses.replace(
        exported.manifest, thresholds=(), partitions=exported.manifest.partitions[:1]
    )
    assert single.threshold_of(0) is None


@pytest.mark.parametrize("thresholds", [(), (0.3,), (0.3, 0.4, 0.5)])
def test_manifest_rejects_inconsistent_thresholds(
    exported: Exported, thresholds: tuple[float, ...]
) -> None:
    with pytest.raises(InputError, match="one threshold per partition but the last"):
        dataclasses.replace(exported.manifest, thresholds=thresholds)
