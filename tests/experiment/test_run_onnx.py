"""`splitexit run` on a user's ONNX model: profile (with its one-exit trace), plan, pieces,
testbed, predicted against measured; every sample leaves at the model's one exit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.profile import load_profile, load_profile_trace
from tests.operators import graphs


def _profiled(folder: Path) -> Path:
    model = graphs.save(graphs.residual(2), folder)
    rng = np.random.default_rng(3)
    data = folder / "data.npz"
    np.savez(data, x=rng.standard_normal((8, 3, 8, 8)).astype(np.float32))
    out = folder / "p.json"
    args = ["profile", "--onnx", str(model), "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--runs", "3"])
    assert result.exit_code == 0, result.output
    return out


def test_profile_onnx_writes_a_one_exit_trace_the_replay_accepts(tmp_path: Path) -> None:
    out = _profiled(tmp_path)
    profile = load_profile(out)
    trace = load_profile_trace(profile, out)  # checks the replayed exit rates
    entropy, correct = trace.arrays("joint")
    assert entropy.shape == (trace.num_samples, profile.num_blocks)
    assert not correct[:, :-1].any() and correct[:, -1].all()  # agreement with itself


@pytest.mark.slow
def test_run_measures_a_user_onnx_model_end_to_end(tmp_path: Path) -> None:
    profile = _profiled(tmp_path)
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(
        yaml.safe_dump(
            {
                "name": "onnx",
                "profile": str(profile),
                "topology": "mobile",
                "requirement": {},
                "measure": {"configurations": 2, "samples": 8, "compute_mode": "none"},
                "calibrate": False,
            }
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(experiment), "--out", str(out)])
    assert result.exit_code == 0, result.output
    fidelity = json.loads((out / "fidelity.json").read_text(encoding="utf-8"))
    assert fidelity["configurations"], fidelity
    for case in fidelity["configurations"]:
        assert case["delivered"] == 8 and case["failed"] == 0
        assert case["exit_agreement"] == 1.0 and case["accuracy"]["measured"] == 1.0
