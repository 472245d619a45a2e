from __future__ import annotations

import dataclasses
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitexit import InputError, load_profile, save_profile
from splitexit.profile import (
    Trace,
    exit_rates_from_entropy,
    load_profile_trace,
    load_trace,
    save_trace,
)
from tests.helpers import valid_profile_mapping


def small_trace(samples: int = 40, blocks: int = 3, seed: int = 0) -> Trace:
    rng = np.random.default_rng(seed)
    return Trace(
        model="toy",
        dataset="toy",
        split="profile",
        labels=rng.integers(0, 10, samples),
        entropy_joint=rng.random((samples, blocks)).astype(np.float32),
        correct_joint=rng.random((samples, blocks)) < 0.7,
        entropy_separate=rng.random((samples, blocks)).astype(np.float32),
        correct_separate=rng.random((samples, blocks)) < 0.8,
    )


def profile_with_trace(tmp_path: Path, trace: Trace, *, name: str = "t.trace.npz") -> Path:
    """A valid profile whose exit rates replay ``trace`` and which names it."""
    data = valid_profile_mapping()
    rates = exit_rates_from_entropy(trace.entropy_joint.astype(np.float64), np.array([0.5, 1.0]))
    data["exit_rates"] = rates.tolist()
    data["trace"] = name
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_profile_trace_field_is_optional_and_round_trips(
    write_json: Callable[..., Path], tmp_path: Path
) -> None:
    plain = load_profile(write_json(valid_profile_mapping()))
    assert plain.trace is None and "trace" not in plain.to_mapping()
    named = dataclasses.replace(plain, trace="runs/x.trace.npz")
    save_profile(named, tmp_path / "q.json")
    assert load_profile(tmp_path / "q.json").trace == "runs/x.trace.npz"


def test_profile_trace_field_must_name_a_file(write_json: Callable[..., Path]) -> None:
    data = valid_profile_mapping()
    data["trace"] = " "
    with pytest.raises(InputError, match="trace must name a file"):
        load_profile(write_json(data))


def test_trace_round_trip(tmp_path: Path) -> None:
    trace = small_trace()
    save_trace(trace, tmp_path / "t.trace.npz")
    loaded = load_trace(tmp_path / "t.trace.npz")
    for name in ("labels", "entropy_joint", "correct_joint", "entropy_separate"):
        assert np.array_equal(getattr(loaded, name), getattr(trace, name)), name
    assert (loaded.model, loaded.dataset, loaded.split) == ("toy", "toy", "profile")
    assert loaded.num_samples == 40 and loaded.num_blocks == 3


def test_load_profile_trace_resolves_beside_the_profile(tmp_path: Path) -> None:
    trace = small_trace()
    save_trace(trace, tmp_path / "t.trace.npz")
    path = profile_with_trace(tmp_path, trace)
    loaded = load_profile_trace(load_profile(path), path)
    assert np.array_equal(loaded.correct_separate, trace.correct_separate)


def _write_npz(path: Path, **arrays: Any) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())


def _arrays(trace: Trace) -> dict[str, Any]:
    meta = {"format": "splitexit.trace/1", "model": "toy", "dataset": "toy", "split": "profile"}
    return {
        "meta": np.array(json.dumps(meta)),
        "labels": trace.labels,
        "entropy_joint": trace.entropy_joint,
        "correct_joint": trace.correct_joint,
        "entropy_separate": trace.entropy_separate,
        "correct_separate": trace.correct_separate,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"correct_joint": None}, "trace array 'correct_joint' is missing"),
        ({"entropy_separate": np.zeros((40, 2), np.float32)}, "entropy_separate has shape (40, 2)"),
        ({"entropy_joint": np.full((40, 3), 1.5, np.float32)}, "normalized entropies in [0, 1]"),
        ({"correct_separate": np.zeros((40, 3), np.int8)}, "correct_separate must hold booleans"),
        ({"labels": np.zeros((0,), np.int64)}, "labels must be a non-empty 1-d array"),
        ({"meta": np.array("{}")}, "format must be 'splitexit.trace/1', got None"),
        ({"meta": np.array("[1]")}, "trace meta must be a JSON object"),
    ],
)
def test_load_trace_bad_arrays_name_file_and_problem(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    arrays = _arrays(small_trace())
    for key, value in change.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    path = tmp_path / "t.trace.npz"
    _write_npz(path, **arrays)
    with pytest.raises(InputError) as info:
        load_trace(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_load_trace_missing_or_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such trace file"):
        load_trace(tmp_path / "absent.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"not a readable \.npz trace"):
        load_trace(tmp_path / "bad.npz")


def test_load_profile_trace_needs_the_field(write_json: Callable[..., Path]) -> None:
    path = write_json(valid_profile_mapping())
    with pytest.raises(InputError, match="the profile names no per-sample trace"):
        load_profile_trace(load_profile(path), path)


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        (small_trace(blocks=4), r"trace has 4 branches, but .* has 3 blocks"),
        (dataclasses.replace(small_trace(), model="other"), "trace model 'other' does not match"),
        (small_trace(seed=1), r"joint entropies give exit rates up to .* away from"),
    ],
)
def test_load_profile_trace_that_does_not_match(tmp_path: Path, trace: Trace, message: str) -> None:
    path = profile_with_trace(tmp_path, small_trace())
    save_trace(trace, tmp_path / "t.trace.npz")
    with pytest.raises(InputError, match=message):
        load_profile_trace(load_profile(path), path)


def test_bundled_resnet20_profile_is_real_and_its_trace_matches() -> None:
    from importlib import resources

    bundled = resources.files("splitexit.profile") / "data" / "resnet20_fashion_mnist.json"
    with resources.as_file(bundled) as path:
        profile = load_profile(path)
        trace = load_profile_trace(profile, path)
    assert (profile.model, profile.dataset, profile.num_blocks) == ("resnet20", "fashion-mnist", 10)
    assert "SYNTHETIC" not in profile.notes and profile.accuracy[-1] >= 0.91
    assert trace.num_samples == 10_000 and trace.split == "profile"
    assert profile.accuracy.tolist() == pytest.approx(trace.correct_separate.mean(0).tolist())
