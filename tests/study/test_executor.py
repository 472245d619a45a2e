from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from splitexit.study import load_study
from splitexit.study._executor import RuntimeExecutor
from splitexit.study._measured import measured_study


def tiny_model(path: Path) -> None:
    """input (1, 1, 4, 4) -> conv-relu -> conv-relu -> flatten -> gemm -> logits (1, 3)."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.normal(size=(2, 1, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(size=(2, 2, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(size=(32, 3)).astype(np.float32), "w3"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("Flatten", ["r2"], ["f"]),
        helper.make_node("Gemm", ["f", "w3"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.mark.slow
def test_executor_runs_two_strategies_end_to_end(tmp_path: Path) -> None:
    tiny_model(tmp_path / "tiny.onnx")
    x = np.random.default_rng(1).normal(size=(6, 1, 4, 4)).astype(np.float32)
    # the labels are the tiny model's own top-1 (random weights): an accuracy above chance,
    # which "fastest" requires
    labels = np.array([2, 1, 1, 2, 2, 1])
    np.savez(tmp_path / "samples.npz", input=x[:, None][:, 0], labels=labels)
    (tmp_path / "study.yaml").write_text(
        yaml.safe_dump(
            {
                "schema": "splitexit.study/1",
                "subjects": [{"name": "tiny", "onnx": "tiny.onnx", "data": "samples.npz"}],
                "operators": ["I", "P"],
                "strategies": [
                    {"operator": "I", "tiers": ["M"]},
                    {"operator": "P", "tiers": ["ME"]},
                ],
                "samples": {"count": 3},
                "repetitions": 1,
                "warmup": 1,
                "inferences": 3,
            }
        )
    )
    study = load_study(tmp_path / "study.yaml")
    lines: list[str] = []
    result, check = measured_study(study, tmp_path / "out", progress=lines.append)
    with result.latencies.open() as f:
        rows = list(csv.DictReader(f))
    # the planner (over I, the only whole-model variant) recommends I on the edge, which the
    # study file does not list: it is measured as an extra strategy, after the study's own
    picks = check["planner"]
    assert [p["kind"] for p in picks] == ["fastest", "near_identity", "budget"]
    extra = [(p["strategy"], p["extra"]) for p in picks]
    assert extra[0] == ("tiny I@E", True) and all(p["variant"] == "I" for p in picks)
    expected = [("I", "M")] * 3 + [("P", "ME")] * 3 + [("I", "E")] * 3
    assert [(r["operator"], r["tiers"]) for r in rows] == expected
    assert all(float(r["latency_s"]) > 0 for r in rows)
    assert [line for line in lines if line.startswith("deploying")] == [
        "deploying tiny I@M",
        "deploying tiny P@ME",
        "deploying tiny I@E",
    ]
    stats = json.loads(result.statistics_path.read_text())
    assert (
        stats["prediction_check"]["compute_ratios"]["mobile"] == check["compute_ratios"]["mobile"]
    )
    assert stats["prediction_check"]["planner"] == picks
    recs = check["recommendations"]
    assert recs and recs[0]["requirement"] == "fastest above chance"
    assert recs[0]["recommended"] == "tiny I@E" and recs[0]["planner"]["extra"]
    report = result.report.markdown.read_text()
    assert "Prediction check and recommendations" in report
    assert result.report.html.is_file()


def _tiny_study(tmp_path: Path) -> Path:
    tiny_model(tmp_path / "tiny.onnx")
    x = np.random.default_rng(1).normal(size=(6, 1, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "samples.npz", input=x, labels=np.array([2, 1, 1, 2, 2, 1]))
    data = {
        "schema": "splitexit.study/1",
        "subjects": [{"name": "tiny", "onnx": "tiny.onnx", "data": "samples.npz"}],
        "operators": ["I"],
        "strategies": [{"operator": "I", "tiers": ["M", "C"]}],
        "samples": {"count": 3},
        "repetitions": 1,
        "warmup": 1,
        "inferences": 3,
    }
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(data))
    return tmp_path / "study.yaml"


def test_executor_cpu_quotas_are_the_runtimes_short_period_quotas(tmp_path: Path) -> None:
    study = load_study(_tiny_study(tmp_path))
    quota = RuntimeExecutor(study, tmp_path / "w1", compute_mode="cpu-quota")
    # seed004: mobile x24, edge x12 get the kernel's 1 ms minimum quota in a period of R ms;
    # the cloud (x1) is this machine, unconfined
    assert quota.cpu_quotas() == {"mobile": (1000, 24000), "edge": (1000, 12000)}
    assert RuntimeExecutor(study, tmp_path / "w2").cpu_quotas() == {}


def _cpu_cgroup_writable() -> bool:
    root = Path("/sys/fs/cgroup/cpu")
    return os.geteuid() == 0 and os.access(root, os.W_OK) and (root / "cpu.cfs_quota_us").exists()


@pytest.mark.skipif(not _cpu_cgroup_writable(), reason="needs root and the v1 cpu controller")
@pytest.mark.xdist_group("netns")  # real CPU groups: with the netns tests, on one worker
@pytest.mark.slow  # a measured study in real CPU groups: worker processes, 2.5-2.7 s of CPU
def test_cpu_quota_study_states_its_quotas_and_leaves_no_group(tmp_path: Path) -> None:
    study = load_study(_tiny_study(tmp_path))
    before = {p.name for p in Path("/sys/fs/cgroup/cpu").iterdir()}
    result, check = measured_study(study, tmp_path / "out", compute_mode="cpu-quota")
    assert {p.name for p in Path("/sys/fs/cgroup/cpu").iterdir()} <= before  # all removed
    assert check["compute_mode"] == "cpu-quota"
    assert check["cpu_quotas"] == {
        "mobile": {"quota_us": 1000, "period_us": 24000},
        "edge": {"quota_us": 1000, "period_us": 12000},
    }
    stats = json.loads(result.statistics_path.read_text())
    assert stats["prediction_check"]["cpu_quotas"] == check["cpu_quotas"]
    statement = "mobile 1000 us of CPU every 24000 us (1/24 of a core)"
    assert statement in result.report.markdown.read_text()
    assert statement in result.report.html.read_text()
    assert "cloud unconfined" in result.report.markdown.read_text()


def test_variant_predictions_under_cpu_quotas_take_whole_periods() -> None:
    from splitexit.study._variants import Variant, variant_predictions

    variant = Variant("P", ())
    timed = [(0.0003, 0.0004), (0.0025, 0.0031)]  # piece CPU times on this host (s)
    # sleep stretch: 0.3 ms x 24 + 2.5 ms x 12 = 37.2 ms (p99 46.8), plus 1 ms of transfers
    median, p99 = variant_predictions(variant, timed, [24.0, 12.0], [0.001])
    assert (median, p99) == pytest.approx((0.0382, 0.0478))
    # CFS: 0.3 ms fits the 1 ms quota but still takes one 24 ms period; 2.5 ms needs 3 of
    # the edge's 12 ms periods; p99's 3.1 ms needs 4
    quotas = [(1000, 24000), (1000, 12000)]
    median, p99 = variant_predictions(variant, timed, [24.0, 12.0], [0.001], quotas)
    assert (median, p99) == pytest.approx((0.024 + 0.036 + 0.001, 0.024 + 0.048 + 0.001))
    # an unconfined tier (None) keeps the ratio
    median, _ = variant_predictions(variant, timed, [24.0, 1.0], [0.0], [(1000, 24000), None])
    assert median == pytest.approx(0.024 + 0.0025)
