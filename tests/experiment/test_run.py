"""`splitexit run` on a tiny experiment: trains a profile, plans, exports, measures, reports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.experiment import load_experiment

torch.set_num_threads(1)
runner = CliRunner()

# trained enough (4 epochs, width 0.5) that deeper exits are more accurate, so the front has
# several points (1 epoch at width 0.25 left exits near chance and the front at 1-2 points)
TINY = """
name: tiny
profile: tiny-profile.json
train: {model: resnet8, dataset: digits, epochs: 4, width: 0.5}
work_dir: work
topology: iot
requirement: {min_accuracy: 10%}
measure: {configurations: 3, samples: 40, compute_mode: sleep, deadline: 20s}
"""


@pytest.mark.slow
def test_run_goes_from_nothing_to_a_measured_report(tmp_path: Path) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY)
    out = tmp_path / "report"
    result = runner.invoke(app, ["run", str(tmp_path / "tiny.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "tiny-profile.json").is_file()  # profiled, then reused next time
    for name in ("experiment.json", "plan.json", "pareto.png", "fidelity.json", "fidelity.md",
                 "fidelity.png", "summary.md", "report.html"):  # fmt: skip
        assert (out / name).is_file(), name
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
    measurements = sorted((out / "measurements").glob("*.json"))
    plan = json.loads((out / "plan.json").read_text())
    count = min(3, len(plan["pareto"]))
    assert count >= 2 and [m.name for m in measurements] == [
        f"0{i}.json" for i in range(1, count + 1)
    ]
    assert (tmp_path / "work" / "joint.pt").is_file()  # work_dir is read beside the experiment
    first = json.loads(measurements[0].read_text())
    assert first["config"]["partition"] == plan["best"]["partition"]  # 01 is the recommendation
    fidelity = json.loads((out / "fidelity.json").read_text())
    for row in fidelity["configurations"]:
        # the same weights made the trace and the ONNX partitions: exits and accuracy agree
        assert row["exit_agreement"] == pytest.approx(1.0)
        assert row["accuracy"]["measured"] == pytest.approx(row["accuracy"]["predicted"])
    summary = (out / "summary.md").read_text()
    assert "Predicted against measured" in summary
    assert "](pareto.png)" in summary and "](fidelity.png)" in summary  # shows its plots


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("topology: mobile\nbogus: 1\n", "bogus"),
        ("requirement: {min_accuracy: 90%, max_latency: 50ms}\n", "not both"),
        ("requirement: {min_accuracy: 190%}\n", "requirement.min_accuracy"),
        ("measure: {compute_mode: warp}\n", "measure.compute_mode"),
        ("measure: {deadline: soon}\n", "measure.deadline"),
        ("measure: {clients: 0}\n", "measure.clients"),
        ("measure: {samples: 5, interleave: 6}\n", "interleave must be at most samples (5)"),
        ("measure: {interleave: 0}\n", "measure.interleave"),
        ("measure: {warmup: 0}\n", "measure.warmup"),
    ],
)
def test_a_bad_experiment_file_is_one_line_with_exit_status_2(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert needle in result.output and str(path) in result.output
    assert result.output.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


def test_the_bundled_default_experiment_is_valid() -> None:
    from splitexit.experiment import default_experiment_path

    experiment = load_experiment(default_experiment_path())
    assert experiment.profile == "resnet20-fashion-mnist-ort" and experiment.train is None


def test_the_example_experiments_are_valid() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples"
    names = sorted(p.name for p in folder.glob("fidelity-*.yaml"))
    assert names == [
        "fidelity-iot-netns-10.yaml",
        "fidelity-iot-netns-20-interleaved-100.yaml",
        "fidelity-iot-netns-20-interleaved.yaml",
        "fidelity-iot-netns-20.yaml",
        "fidelity-iot-netns-clients.yaml",
        "fidelity-iot-netns-quota.yaml",
        "fidelity-iot-netns.yaml",
        "fidelity-iot-tcp.yaml",
        "fidelity-iot.yaml",
        "fidelity-mobile-netns-10.yaml",
        "fidelity-mobile-netns-20-interleaved.yaml",
        "fidelity-mobile-netns-20.yaml",
        "fidelity-mobile-tcp.yaml",
        "fidelity-mobile.yaml",
        "fidelity-seed004-netns-20.yaml",
        "fidelity-seed004-wide-netns-20-warmup200.yaml",
        "fidelity-seed004-wide-netns-20.yaml",
    ]
    for name in names:
        experiment = load_experiment(folder / name)
        reduced = "netns" in name  # the kernel-shaped runs are reduced (docs/fidelity.md)
        assert experiment.measure.configurations >= (4 if reduced else 10)
        assert experiment.calibrate
        # interleaved: every configuration's samples in blocks (runtime/_interleave.py)
        blocks = 100 if "interleaved-100" in name else 10 if "interleaved" in name else 1
        assert experiment.measure.interleave == blocks


def test_measure_warmup_reaches_the_testbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`measure.warmup`: how many calls time each partition's reference at deploy."""
    import splitexit.runtime
    from splitexit.experiment import run_experiment

    class Stop(Exception):
        pass

    seen: dict[str, object] = {}

    def options(**kwargs: object) -> None:
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(splitexit.runtime, "TestbedOptions", options)
    path = tmp_path / "e.yaml"
    for text, warmup in (("measure: {warmup: 200}\n", 200), ("topology: mobile\n", 20)):
        path.write_text(text)
        with pytest.raises(Stop):
            run_experiment(load_experiment(path), tmp_path / "out", say=lambda _: None)
        assert seen["warmup"] == warmup


def test_the_user_model_experiment_reads_its_files_beside_it() -> None:
    from splitexit.experiment._run import _train_inputs

    folder = Path(__file__).resolve().parents[2] / "examples"
    experiment = load_experiment(folder / "user-npz.yaml")
    model, dataset = _train_inputs(experiment)
    assert model == f"{folder / 'user_model.py'}:four_blocks"
    assert Path(dataset) == folder / ".." / "runs" / "my.npz"
    assert experiment.work_dir is None  # checkpoints go to the cache folder of these inputs


def test_run_refuses_a_profile_made_with_other_train_settings(tmp_path: Path) -> None:
    from splitexit.profile import profile_path

    (tmp_path / "tiny.yaml").write_text(TINY)
    shutil.copy(profile_path("example"), tmp_path / "tiny-profile.json")  # no training record
    out = tmp_path / "report"
    result = runner.invoke(app, ["run", str(tmp_path / "tiny.yaml"), "--out", str(out)])
    assert result.exit_code == 2
    assert "tiny-profile.json: made with other train settings" in result.output
    assert "delete it to profile again" in result.output
    assert not out.exists() and (tmp_path / "tiny-profile.json").exists()
