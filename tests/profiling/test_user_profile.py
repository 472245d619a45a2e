"""Your own model and data through the CLI: profile (timed on ONNX Runtime, preprocessing and
hyperparameters recorded, checkpoints in the cache), validate with the recorded settings, a
stale profile refused, the plan warning for a profile without the workers' engine, and the
runtime's data loaded with the profile's preprocessing."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.experiment import profile_data
from splitexit.profile import load_profile, save_profile
from splitexit.training import CACHE_ENV, profile_run_dir

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_model.py"
TINY = ["--epochs", "1", "--batch-size", "16", "--timing-samples", "3", "--quiet"]
DECLARED = ["--resize", "10x10", "--mean", "0.5", "--std", "0.25"]


def _images(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (n, 12, 12), dtype=np.uint8), np.arange(n) % 3


def _npz(folder: Path) -> Path:
    x, y = _images()
    np.savez(folder / "data.npz", x=x, y=y)
    return folder / "data.npz"


def _image_folder(folder: Path) -> Path:
    x, y = _images()
    for i, (image, label) in enumerate(zip(x, y, strict=True)):
        (folder / "images" / f"class{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / "images" / f"class{label}" / f"{i}.png")
    return folder / "images"


@dataclasses.dataclass(frozen=True)
class Profiled:
    out: Path
    model: Path
    cache: Path


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Profiled:
    """One profile of the example module on an .npz, declared preprocessing, lr 0.05."""
    folder = tmp_path_factory.mktemp("user")
    model = folder / "mine.py"
    shutil.copy(EXAMPLE, model)
    out = folder / "p.json"
    args = ["profile", "--model", f"{model}:four_blocks", "--dataset", str(_npz(folder))]
    args += [*TINY, *DECLARED, "--lr", "0.05", "--cache", str(folder / "cache"), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return Profiled(out, model, folder / "cache")


@pytest.mark.slow
def test_profile_user_model_and_npz_records_what_later_steps_need(profiled: Profiled) -> None:
    profile = load_profile(profiled.out)
    assert profile.timing_engine == "onnxruntime" and profile.timing_warning() is None
    assert profile.timings is not None and set(profile.timings) == {"pytorch", "onnxruntime"}
    assert np.array_equal(profile.timings["onnxruntime"][0], profile.block_compute_s)
    assert profile.preprocessing == {"resize": [10, 10], "scale": pytest.approx(1 / 255),
                                     "mean": [0.5], "std": [0.25]}  # fmt: skip
    assert profile.input_bits == 10 * 10 * 8
    assert profile.training is not None and profile.training["joint"]["lr"] == 0.05
    run = profile_run_dir(profile, profiled.cache)
    assert run is not None and run.parent == profiled.cache and (run / "joint.pt").exists()

    # the runtime's data: resized and standardized as profiled
    runtime = profile_data(profile)
    assert runtime.image_size == (10, 10)
    assert runtime.mean is not None and runtime.std is not None
    assert float(runtime.mean.ravel()[0]) == 0.5 and float(runtime.std.ravel()[0]) == 0.25


@pytest.mark.slow
def test_validate_reads_the_profile_and_refuses_it_once_stale(
    profiled: Profiled, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(profiled.cache))  # the cache by its variable this time
    out = profiled.out
    run = profile_run_dir(load_profile(out))
    assert run is not None

    # no hyperparameters given: the recorded ones (lr 0.05, batch 16) find the joint model
    report = tmp_path / "v.json"
    result = runner.invoke(
        app, ["validate", "--profile", str(out), "--k", "2", "--quiet", "--json", str(report)]
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(report.read_text())["partitions"]) == 2
    assert len(list((run / "validate-joint").glob("final-*.pt"))) == 2

    source = profiled.model.read_text()
    profiled.model.write_text(source + "\n# edited after profiling\n")
    try:
        stale = runner.invoke(app, ["validate", "--profile", str(out), "--k", "2", "--quiet"])
    finally:
        profiled.model.write_text(source)
    assert stale.exit_code == 2
    assert f"{out}: stale profile: the model source" in stale.output
    assert stale.output.count("\n") == 1 and "Traceback" not in stale.output


@pytest.mark.slow
def test_profile_image_folder_without_onnx_timing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    out = tmp_path / "p.json"
    args = ["profile", "--model", f"{EXAMPLE}:four_blocks_with_heads"]
    args += ["--dataset", str(_image_folder(tmp_path)), *TINY, "--no-onnx-timing"]
    result = runner.invoke(app, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    profile = load_profile(out)
    assert profile.num_classes == 3 and profile.input_bits == 12 * 12 * 8
    assert profile.timing_engine == "pytorch" and profile.timing_warning() is not None
    run = profile_run_dir(profile)
    assert run is not None and run.parent == tmp_path / "cache" and (run / "joint.pt").exists()


def test_plan_warns_when_the_profile_lacks_the_workers_engine(tmp_path: Path) -> None:
    profile = load_profile("example")
    assert runner.invoke(app, ["plan", "--profile", "example"]).stderr == ""
    torch_only = dataclasses.replace(profile, timing_engine="pytorch", timings=None)
    save_profile(torch_only, tmp_path / "torch.json")
    result = runner.invoke(app, ["plan", "--profile", str(tmp_path / "torch.json")])
    assert result.exit_code == 0, result.output
    assert "warning: profile" in result.stderr
    assert "compute times come from pytorch, not onnxruntime" in result.stderr


def test_plan_uses_onnx_runtime_times_when_the_profile_has_them(tmp_path: Path) -> None:
    from splitexit.planner import load_plan_inputs

    profile = load_profile("example")
    slower = (profile.block_compute_s * 3, profile.branch_compute_s * 3)
    both = dataclasses.replace(
        profile,
        timing_engine="pytorch",
        timings={"pytorch": (profile.block_compute_s, profile.branch_compute_s),
                 "onnxruntime": slower},
    )  # fmt: skip
    save_profile(both, tmp_path / "both.json")
    loaded, _ = load_plan_inputs(tmp_path / "both.json")
    assert loaded.timing_engine == "onnxruntime"
    assert np.array_equal(loaded.block_compute_s, slower[0])


def test_profile_a_factory_whose_blocks_do_not_chain_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from torch import nn\n\n"
        "def unchained(num_classes, in_channels):\n"
        "    return [nn.Conv2d(in_channels, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1),\n"
        "            nn.Conv2d(32, 32, 3, padding=1)]\n"
    )
    out = tmp_path / "p.json"
    args = ["profile", "--model", f"{bad}:unchained", "--dataset", str(_npz(tmp_path))]
    result = runner.invoke(app, [*args, *TINY, "--out", str(out)])
    assert result.exit_code == 2
    assert result.output == (
        f"error: {bad}:unchained: block 3 expects 32 channels but block 2 gives 16\n"
    )
    assert not out.exists() and not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_export_finds_the_user_models_checkpoints_in_the_cache(
    profiled: Profiled, tmp_path: Path
) -> None:
    out = tmp_path / "export"
    args = ["export", "--profile", str(profiled.out), "--topology", "mobile", "--quiet"]
    result = runner.invoke(app, [*args, "--cache", str(profiled.cache), "--out", str(out)])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input"]["shape"] == [1, 10, 10]  # one channel, the declared resize
    run = profile_run_dir(load_profile(profiled.out), profiled.cache)
    assert run is not None and f"joint ({run / 'joint.pt'})" in result.output

    # a final model, trained on the data as profiled (resized to 10x10)
    final = [*args, "--cache", str(profiled.cache), "--weights", "final", "--out"]
    result = runner.invoke(app, [*final, str(tmp_path / "final")])
    assert result.exit_code == 0, result.output
    assert f"final ({run / 'final-joint'}" in result.output
