"""`model:` subjects: one of our models exported to ONNX with its held-out samples, then
studied as an ONNX subject (a tiny ResNet-8 on digits; nothing downloaded)."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import yaml
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.errors import InputError
from splitexit.experiment import export_study_subject, profile_data
from splitexit.profile import load_profile
from splitexit.study import load_study, with_subject_files
from splitexit.topology import load_topology
from splitexit.training import CACHE_ENV

runner = CliRunner()


def _study(tmp_path: Path, subjects: list[dict[str, str]], **more: Any) -> Path:
    data: dict[str, Any] = {
        "schema": "splitexit.study/1",
        "subjects": subjects,
        "operators": ["I", "P"],
        "strategies": [{"operator": "I", "tiers": ["E"]}, {"operator": "P", "tiers": ["ME"]}],
        **more,
    }
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _one_line_exit_2(result: Any, expected: str, out: Path) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("resnet99-nowhere", "subjects[0].model 'resnet99-nowhere' is neither one of our models"),
        ("missing.json", "subjects[0].model 'missing.json'"),
    ],
)
def test_bad_model_name_one_line_exit_2(tmp_path: Path, model: str, expected: str) -> None:
    path = _study(tmp_path, [{"name": "m", "model": model}])
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", str(path), "--out", str(out)])
    _one_line_exit_2(result, expected, out)
    assert "resnet20-fashion-mnist" in result.output  # names the models there are


def test_model_without_data_one_line_exit_2(tmp_path: Path) -> None:
    # the synthetic example profile has neither data nor weights: refused before the study
    path = _study(tmp_path, [{"name": "m", "model": "example"}], samples={"count": 2})
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", str(path), "--out", str(out)])
    _one_line_exit_2(result, "example: the held-out samples of its dataset", out)


def test_missing_torch_is_said_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(InputError, match="needs torch, which is not installed"):
        export_study_subject("resnet20-fashion-mnist", load_topology("seed004"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_with_subject_files_refuses_an_unexported_model(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, [{"name": "r20", "model": "resnet20-fashion-mnist"}]))
    with pytest.raises(InputError, match="'r20': model 'resnet20-fashion-mnist' was not exported"):
        with_subject_files(study, {})


@pytest.fixture(scope="module")
def tiny_profile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """ResNet-8 at quarter width, trained 5 epochs on digits (last exit about 37 % top-1)
    and profiled; its checkpoints in a cache folder of its own. Returns (profile, cache)."""
    folder = tmp_path_factory.mktemp("tiny-model")
    args = ["profile", "--model", "resnet8", "--dataset", "digits", "--epochs", "5"]
    args += ["--separate-epochs", "1", "--width", "0.25", "--threads", "1"]
    args += ["--timing-samples", "3", "--quiet", "--out", str(folder / "tiny.json")]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder / "cache"))
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return folder / "tiny.json", folder / "cache"


@pytest.mark.slow
def test_export_study_subject_is_the_model_and_its_test_split(
    tiny_profile: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime as ort
    import torch

    from splitexit.export import load_profile_joint
    from splitexit.training import profile_run_dir

    spec, cache = tiny_profile
    monkeypatch.setenv(CACHE_ENV, str(cache))
    profile = load_profile(str(spec))
    files = export_study_subject(str(spec), load_topology("seed004"), tmp_path, count=30)
    model = onnx.load(str(files.onnx))
    assert [o.name for o in model.graph.output] == ["probabilities"]  # no exit-rule entropy
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1  # batch of one
    data = np.load(files.data)
    test = profile_data(profile).test
    assert files.samples == 30
    np.testing.assert_array_equal(data["labels"], test.labels[:30])
    np.testing.assert_array_equal(data["input"], test.images[:30])
    # ONNX Runtime on the file gives the network's last exit, as torch computes it
    work = profile_run_dir(profile)
    assert work is not None
    net = load_profile_joint(profile, str(spec), work).net.eval()
    session = ort.InferenceSession(str(files.onnx), providers=["CPUExecutionProvider"])
    for image in data["input"][:5]:
        (onnx_p,) = session.run(None, {"input": image[None]})
        with torch.no_grad():
            torch_p = torch.softmax(net(torch.from_numpy(image[None]))[-1], dim=1).numpy()
        np.testing.assert_allclose(onnx_p, torch_p, atol=1e-5)


@pytest.mark.slow
def test_study_of_a_model_subject_runs_like_an_onnx_subject(
    tiny_profile: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, cache = tiny_profile
    monkeypatch.setenv(CACHE_ENV, str(cache))
    (tmp_path / "tiny.json").write_bytes(spec.read_bytes())  # relative to the study file
    path = _study(
        tmp_path, [{"name": "r8", "model": "tiny.json"}],
        samples={"count": 4}, repetitions=1, warmup=1, inferences=4,
    )  # fmt: skip
    out = tmp_path / "out"
    result = runner.invoke(app, ["study", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "r8: exported model tiny.json to ONNX with 200 held-out samples" in result.output
    with (out / "latencies.csv").open() as f:
        rows = list(csv.DictReader(f))
    measured = {(r["subject"], r["operator"], r["tiers"]) for r in rows}
    assert {("r8", "I", "E"), ("r8", "P", "ME")} <= measured
    assert len([r for r in rows if (r["operator"], r["tiers"]) == ("I", "E")]) == 4
    top1 = {}  # the report's accuracy table: | subject | operator | tiers | metric | value |
    for line in (out / "report.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 5 and cells[0] == "r8" and cells[3] == "top-1":
            top1[(cells[1], cells[2])] = float(cells[4])
    assert top1[("I", "E")] == top1[("P", "ME")] > 15.0  # above chance (10 %); P is I cut in two
