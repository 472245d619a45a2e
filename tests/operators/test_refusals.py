from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import helper
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.errors import InputError
from splitexit.operators import load_model
from tests.operators import graphs


def test_refusals_not_onnx(tmp_path: Path) -> None:
    bad = tmp_path / "x.onnx"
    bad.write_text("hello")
    with pytest.raises(InputError, match="not an ONNX model"):
        load_model(bad)


def test_refusals_checker_failure(tmp_path: Path) -> None:
    model = graphs.chain()
    model.graph.node[0].input[1] = "missing_weight"
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    with pytest.raises(InputError, match=r"fails onnx\.checker"):
        load_model(path)


def test_refusals_missing_input_shape_names_the_input(tmp_path: Path) -> None:
    path = graphs.save(graphs.chain(batch="N"), tmp_path)
    with pytest.raises(InputError, match="--input-shape x=1x4x8x8"):
        load_model(path)
    assert load_model(path, {"x": (2, 4, 8, 8)}).inputs[0].shape == (2, 4, 8, 8)


def test_refusals_op_that_onnxruntime_cannot_run(tmp_path: Path) -> None:
    from splitexit.operators._model import ort_session

    node = helper.make_node("NoSuchOp", ["x"], ["y"], domain="my.domain")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", 1, [1])],
        [helper.make_tensor_value_info("y", 1, [1])],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("my.domain", 1)]
    )
    with pytest.raises(InputError, match="ONNX Runtime cannot run"):
        ort_session(model, source="m.onnx")


def test_refusals_external_data_outside_the_folder(tmp_path: Path) -> None:
    model = graphs.chain()
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "../elsewhere.bin"
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "m.onnx"
    onnx.save(model, str(path))
    with pytest.raises(InputError, match="outside the model's folder"):
        load_model(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cuts", "{bad}"], "not an ONNX model"),
        (["cuts", "{dyn}"], "--input-shape"),
        (["partition", "{model}", "--cut", "nope", "--out", "{out}"], "no tensor 'nope'"),
        (["cuts", "{model}", "--input-shape", "x=1xa"], "NAME=1x3x224x224"),
    ],
)
def test_refusals_cli_one_line_exit_2_nothing_written(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad.onnx").write_text("nope")
    graphs.save(graphs.chain(batch="N"), tmp_path, "dyn.onnx")
    graphs.save(graphs.chain(), tmp_path, "model.onnx")
    names = {
        "bad": tmp_path / "bad.onnx",
        "dyn": tmp_path / "dyn.onnx",
        "model": tmp_path / "model.onnx",
        "out": tmp_path / "out",
    }
    result = CliRunner().invoke(app, ["onnx", *[a.format(**names) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
