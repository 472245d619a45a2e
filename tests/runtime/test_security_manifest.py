"""Issue 14: manifest files stay inside the export folder; models with external data are
refused at deploy; every placement puts each partition on its own tier."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from splitexit.errors import InputError
from splitexit.export import load_manifest
from splitexit.export._manifest import contained_file
from splitexit.operators._manifest import load_pieces
from splitexit.runtime import _wire as wire
from splitexit.runtime._domain import load_partition


def _copy(deployable, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "export"
    shutil.copytree(deployable.folder, folder)
    return folder


def _edit(folder: Path, change) -> Path:  # type: ignore[no-untyped-def]
    path = folder / "manifest.json"
    raw = json.loads(path.read_text())
    change(raw)
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize("name", ["../part-1.onnx", "/etc/hostname", "a/../../x.onnx"])
def test_manifest_file_outside_the_folder_refused(deployable, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(deployable, tmp_path)
    path = _edit(folder, lambda raw: raw["partitions"][0].update(file=name))
    for verify in (True, False):
        with pytest.raises(InputError, match=r"partitions\[0\]\.file .*relative path inside"):
            load_manifest(path, verify_files=verify)


def test_manifest_symlink_escaping_the_folder_refused(deployable, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(deployable, tmp_path)
    name = json.loads((folder / "manifest.json").read_text())["partitions"][0]["file"]
    outside = tmp_path / "outside.onnx"
    (folder / name).rename(outside)
    (folder / name).symlink_to(outside)
    with pytest.raises(InputError, match="link that leads outside"):
        load_manifest(folder / "manifest.json")
    with pytest.raises(InputError, match="relative path inside"):
        contained_file(folder, "../outside.onnx", "x")


def test_manifest_repeated_tier_refused(deployable, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = _copy(deployable, tmp_path)
    path = _edit(folder, lambda raw: raw["partitions"][1].update(tier=raw["partitions"][0]["tier"]))
    with pytest.raises(InputError, match="each partition on its own tier"):
        load_manifest(path)


def test_pieces_manifest_file_outside_the_folder_refused(tmp_path: Path) -> None:
    raw = {
        "format": "splitexit.pieces/1",
        "source": {"file": "m.onnx", "sha256": "0" * 64},
        "operators": [],
        "inputs": [{"name": "x", "shape": [1], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [1], "dtype": "float32"}],
        "cuts": [],
        "pieces": [
            {
                "index": 1, "file": "../../secret.onnx", "sha256": "0" * 64,
                "inputs": [{"name": "x", "shape": [1], "dtype": "float32"}],
                "outputs": [{"name": "y", "shape": [1], "dtype": "float32"}],
                "param_bytes": 0, "flops": 0,
            }
        ],
    }  # fmt: skip
    path = tmp_path / "pieces.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InputError, match=r"pieces\[0\]\.file .*relative path inside"):
        load_pieces(path, verify_files=False)


def _external_model(location: str) -> bytes:
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], [0.0] * 4)
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    weight.external_data.add(key="length", value="16")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return bytes(model.SerializeToString())


@pytest.mark.parametrize("location", ["../../../../etc/hostname", "weights.bin"])
def test_deploy_refuses_external_data(location: str) -> None:
    data = _external_model(location)
    assert onnx.load_from_string(data).graph.initializer[0].data_location == TensorProto.EXTERNAL
    spec = wire.DeployRequest(
        token="t", partition=1, count=1, model=data, sha256=hashlib.sha256(data).hexdigest()
    )
    with pytest.raises(InputError, match="'w' keeps its data in an external file"):
        load_partition(spec)


def test_reexport_is_staged_then_swapped(tmp_path: Path) -> None:
    from splitexit.export._export import staged_folder

    out = tmp_path / "export"
    out.mkdir()
    (out / "manifest.json").write_text("old")
    with pytest.raises(KeyboardInterrupt), staged_folder(out) as stage:  # killed midway
        (stage / "manifest.json").write_text("half")
        raise KeyboardInterrupt
    assert (out / "manifest.json").read_text() == "old"  # the old export, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no stage left
    with staged_folder(out) as stage:
        (stage / "manifest.json").write_text("new")
    assert (out / "manifest.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    with pytest.raises(InputError, match="not an export"), staged_folder(other):
        pass
    assert (other / "keep.txt").read_text() == "mine"
