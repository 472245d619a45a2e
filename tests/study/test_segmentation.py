"""mIoU for segmentation subjects: the metric by hand, masks in the subject's data, and a
tiny fully-convolutional model through the study (accuracy per operator and tier)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from splitexit.errors import InputError
from splitexit.study import load_study
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._measured import measured_study
from splitexit.study._segmentation import load_masks, mean_iou, predicted_masks


def tiny_segmenter(path: Path) -> None:
    """input (1, 1, 4, 4) -> conv-relu, three identical conv-relu blocks (2 channels), a 1 x 1
    conv -> scores (1, 2, 4, 4): two classes per pixel."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(2, 1, 3, 3)).astype(np.float32), "w0")]
    nodes = [
        helper.make_node("Conv", ["input", "w0"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
    ]
    for k in (1, 2, 3):
        weight = 0.5 * rng.normal(size=(2, 2, 3, 3)).astype(np.float32)
        inits.append(numpy_helper.from_array(weight, f"w{k}"))
        nodes += [
            helper.make_node("Conv", [f"r{k - 1}", f"w{k}"], [f"c{k}"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", [f"c{k}"], [f"r{k}"]),
        ]
    head = rng.normal(size=(2, 2, 1, 1)).astype(np.float32)
    inits.append(numpy_helper.from_array(head, "wh"))
    nodes.append(helper.make_node("Conv", ["r3", "wh"], ["scores"]))
    graph = helper.make_graph(
        nodes, "seg",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 2, 4, 4])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def _study(tmp_path: Path, operators: list[str], strategies: list[dict[str, object]]) -> Path:
    tiny_segmenter(tmp_path / "seg.onnx")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 1, 4, 4)).astype(np.float32)
    masks = (x[:, 0] > 0).astype(np.int64)  # class 1 where the pixel is positive
    np.savez(tmp_path / "shapes.npz", input=x, masks=masks)
    (tmp_path / "study.yaml").write_text(
        yaml.safe_dump(
            {
                "schema": "splitexit.study/1",
                "subjects": [{"name": "seg", "onnx": "seg.onnx", "data": "shapes.npz"}],
                "operators": operators,
                "strategies": strategies,
                "samples": {"count": 3},
                "repetitions": 1,
                "warmup": 1,
                "inferences": 2,
            }
        )
    )
    return tmp_path / "study.yaml"


def test_mean_iou_by_hand() -> None:
    truth = np.array([[[0, 0, 1], [1, 2, 2]]])
    predicted = np.array([[[0, 1, 1], [1, 2, 0]]])
    # class 0: 1 of 3 pixels in the union; class 1: 2 of 3; class 2: 1 of 2
    assert mean_iou(truth, predicted) == pytest.approx(100 * (1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert mean_iou(truth, truth) == 100.0
    # a class only predicted counts, with IoU 0
    assert mean_iou(np.zeros((1, 2, 2), int), np.array([[[0, 0], [0, 3]]])) == pytest.approx(
        100 * (3 / 4 + 0) / 2
    )
    with pytest.raises(InputError, match="must match"):
        mean_iou(truth, predicted[:, :1])


def test_masks_from_the_subject_data(tmp_path: Path) -> None:
    np.savez(tmp_path / "a.npz", input=np.zeros((2, 1, 4, 4), np.float32))
    assert load_masks(tmp_path / "a.npz") is None
    np.savez(tmp_path / "b.npz", input=np.zeros((2, 1, 4, 4)), masks=np.zeros((2, 4, 4), int))
    assert load_masks(tmp_path / "b.npz").shape == (2, 4, 4)  # type: ignore[union-attr]
    np.savez(tmp_path / "c.npz", input=np.zeros((2, 1, 4, 4)), masks=np.zeros((2, 4, 4)))
    with pytest.raises(InputError, match="masks must be integer class ids"):
        load_masks(tmp_path / "c.npz")
    scores = np.zeros((1, 3, 2, 2))
    scores[0, 2, 0, 0] = 1.0
    assert predicted_masks(scores).tolist() == [[[2, 0], [0, 0]]]


def test_accuracy_is_miou_per_operator_and_tier(tmp_path: Path) -> None:
    path = _study(
        tmp_path,
        ["I", "Q", "E", "P"],
        [
            {"operator": "I", "tiers": ["M"]},
            {"operator": "I", "tiers": ["E"]},
            {"operator": "Q", "tiers": ["E"]},
            {"operator": "E", "tiers": ["E"]},
            {"operator": "P", "tiers": ["ME"]},
        ],
    )
    executor = RuntimeExecutor(load_study(path), tmp_path / "work")
    rows = executor.accuracy()
    assert {r.metric for r in rows} == {"mIoU"}
    got = {(r.operator, r.tiers): r.value for r in rows}
    assert set(got) == {("I", "M"), ("I", "E"), ("Q", "E"), ("E", "E"), ("P", "ME")}
    # I's mIoU recomputed from ONNX Runtime on the original file and the masks
    data = np.load(tmp_path / "shapes.npz")
    expected = mean_iou(data["masks"], _scores(tmp_path, data["input"]).argmax(1))
    assert got[("I", "M")] == pytest.approx(expected)
    assert got[("I", "E")] == got[("I", "M")]  # one ONNX Runtime build on every tier
    assert got[("P", "ME")] == pytest.approx(expected)  # the pieces chain to the whole
    assert 0.0 <= got[("E", "E")] <= 100.0 and 0.0 <= got[("Q", "E")] <= 100.0


@pytest.mark.slow  # 4.4 s of CPU (CONTRIBUTING.md: over 1 s is slow)
def test_segmentation_subject_through_the_study(tmp_path: Path) -> None:
    path = _study(
        tmp_path,
        ["I", "P"],
        [{"operator": "I", "tiers": ["M"]}, {"operator": "P", "tiers": ["ME"]}],
    )
    result, check = measured_study(load_study(path), tmp_path / "out")
    stats = json.loads(result.statistics_path.read_text())
    assert stats["prediction_check"]["planner"], "the planner recommends on the mIoU profiles"
    report = result.report.markdown.read_text()
    assert "mIoU" in report
    # the planner's accuracy is the study's mIoU (over the subject's 6 samples), not the
    # profile's agreement of the model with itself (100 %)
    data = np.load(tmp_path / "shapes.npz")
    expected = mean_iou(data["masks"], _scores(tmp_path, data["input"]).argmax(1)) / 100
    assert expected < 1.0
    assert [p["predicted_accuracy"] for p in check["planner"]] == pytest.approx(
        [expected] * len(check["planner"])
    )


def _scores(tmp_path: Path, inputs: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(tmp_path / "seg.onnx"))
    return np.concatenate([session.run(None, {"input": x[None]})[0] for x in inputs])


def test_samples_are_the_rows_with_masks(tmp_path: Path) -> None:
    path = _study(tmp_path, ["I"], [{"operator": "I", "tiers": ["M"]}])
    data = np.load(tmp_path / "shapes.npz")
    np.savez(tmp_path / "shapes.npz", input=data["input"], masks=data["masks"][:4])
    executor = RuntimeExecutor(load_study(path), tmp_path / "work")
    assert len(executor.samples["seg"].feeds) == 4 and executor.masks["seg"].shape == (4, 4, 4)
    (row,) = executor.accuracy()
    scores = _scores(tmp_path, data["input"][:4])
    assert row.value == pytest.approx(mean_iou(data["masks"][:4], scores.argmax(1)))
