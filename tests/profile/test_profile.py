from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitexit import InputError, load_profile, random_profile, save_profile
from splitexit.profile import exit_rates_from_entropy
from tests.helpers import valid_profile_mapping


def test_profile_example_is_labelled_synthetic_and_valid() -> None:
    profile = load_profile("example")
    assert profile.num_blocks == 10
    assert "SYNTHETIC" in profile.model and "SYNTHETIC" in profile.notes
    assert np.allclose(profile.exit_rates.sum(axis=1), 1.0)
    assert profile.accuracy_joint is not None


def test_profile_round_trip(tmp_path: Path) -> None:
    original = random_profile(7, num_thresholds=5, seed=3)
    path = tmp_path / "p.json"
    save_profile(original, path)
    loaded = load_profile(path)
    assert loaded.block_names == original.block_names
    for name in ("thresholds", "output_bits", "block_compute_s", "accuracy", "exit_rates"):
        assert np.allclose(getattr(loaded, name), getattr(original, name)), name
    assert json.loads(path.read_text())["format"] == "splitexit.profile/1"


def test_profile_rows_within_tolerance_are_rescaled(write_json: Callable[..., Path]) -> None:
    data = valid_profile_mapping()
    data["exit_rates"][0] = [0.2, 0.3, 0.5 + 5e-7]
    profile = load_profile(write_json(data))
    assert profile.exit_rates[0].sum() == pytest.approx(1.0, abs=1e-15)


def test_exit_rates_from_entropy_first_branch_below_threshold() -> None:
    entropy = np.array([[0.1, 0.9, 0.9], [0.9, 0.2, 0.0], [0.9, 0.9, 0.9]])
    rates = exit_rates_from_entropy(entropy, np.array([0.5, 1.0]))
    # T = 0.5: sample 0 at branch 1, sample 1 at branch 2, sample 2 never below -> branch N.
    assert rates[0].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3])
    assert rates[1].tolist() == pytest.approx([1.0, 0.0, 0.0])


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    target: Any = data
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("model", _DELETE, "model is required but missing"),
        ("format", "splitexit.profile/0", "format must be 'splitexit.profile/1'"),
        ("exit_rates.1", [0.7, 0.2, 0.2], "exit_rates[1] sums to 1.1, expected 1 within 1e-06"),
        ("exit_rates.0", [0.5, 0.5], "exit_rates[0] has 2 values, expected 3"),
        ("exit_rates", [[0.2, 0.3, 0.5]], "exit_rates has 1 rows, expected 2"),
        ("branches", [{"compute_s": 0, "accuracy": 0.5}], "branches has 1 entries, expected 3"),
        ("blocks.1.output_bits", -8, "blocks[1].output_bits must be in (0, inf], got -8"),
        ("blocks.2.compute_s", "fast", "blocks[2].compute_s must be a number, got 'fast'"),
        ("branches.0.accuracy", 1.5, "branches[0].accuracy must be in [0, 1], got 1.5"),
        ("thresholds", [0.5, 0.5], "thresholds[1] = 0.5 must be greater than thresholds[0]"),
        ("thresholds.0", 0, "thresholds[0] must be in (0, 1], got 0"),
        ("num_classes", 1, "num_classes must be >= 2, got 1"),
        ("branches.1.accuracy_joint", 0.7, "branches[0].accuracy_joint is missing"),
        ("blocks.0.colour", "red", "blocks[0].colour is not a known field"),
        ("exit_rates.0.2", -0.1, "exit_rates[0][2] must be in [0, 1], got -0.1"),
    ],
)
def test_profile_bad_input_names_file_field_problem(
    write_json: Callable[..., Path], path: str, value: Any, message: str
) -> None:
    file = write_json(_set(valid_profile_mapping(), path, value))
    with pytest.raises(InputError) as info:
        load_profile(file)
    text = str(info.value)
    assert text.startswith(f"{file}: ")
    assert message in text
    assert "\n" not in text


def test_profile_bad_json_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text('{"format": ', encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON"):
        load_profile(bad)
    with pytest.raises(InputError, match="no such profile file"):
        load_profile(tmp_path / "absent.json")


def test_profile_joint_accuracy_required_when_asked(write_json: Callable[..., Path]) -> None:
    profile = load_profile(write_json(valid_profile_mapping()))
    with pytest.raises(InputError, match="accuracy 'joint' needs branches"):
        profile.branch_accuracy("joint")


def test_profile_bundled_real_profile_and_its_trace() -> None:
    from splitexit.profile import DEFAULT_PROFILE, load_profile_trace, profile_path

    profile = load_profile(DEFAULT_PROFILE)
    assert (profile.model, profile.dataset, profile.num_blocks) == ("resnet20", "fashion-mnist", 10)
    assert profile.accuracy[-1] >= 0.91  # issue 3's target for the last exit
    assert profile.trace is not None
    trace = load_profile_trace(profile, profile_path(DEFAULT_PROFILE))
    assert trace.num_blocks == 10 and trace.num_samples >= 1000
    # the trace's last-exit correctness is the profile's separate accuracy
    assert trace.correct_separate[:, -1].mean() == pytest.approx(profile.accuracy[-1], abs=1e-4)


def test_profile_unknown_bundled_name_is_a_missing_file() -> None:
    with pytest.raises(InputError, match="resnet21: no such profile file"):
        load_profile("resnet21")
