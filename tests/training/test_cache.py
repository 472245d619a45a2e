"""The checkpoint cache: where it is, and a key that follows model source, data and settings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from splitexit import InputError
from splitexit.training import (
    CACHE_ENV,
    TrainConfig,
    cache_key,
    cache_root,
    current_cache_key,
    profile_run_dir,
    run_dir,
    training_record,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user_model.py"


def test_cache_root_option_then_env_then_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert cache_root(tmp_path / "opt") == tmp_path / "opt"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv(CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "splitexit"


def test_cache_key_changes_with_model_source_data_and_hyperparameters(tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text(EXAMPLE.read_text())
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((10, 4, 4), np.uint8), y=np.arange(10) % 2)
    spec, settings = f"{model}:four_blocks", {"joint": TrainConfig(epochs=2)}
    key = cache_key(spec, str(data), settings)
    assert key == cache_key(spec, str(data), {"joint": TrainConfig(epochs=2)})
    assert key != cache_key(spec, str(data), {"joint": TrainConfig(epochs=3)})
    np.savez(data, x=np.ones((10, 4, 4), np.uint8), y=np.arange(10) % 2)
    changed_data = cache_key(spec, str(data), settings)
    assert changed_data != key
    model.write_text(EXAMPLE.read_text() + "\n# edited\n")
    assert cache_key(spec, str(data), settings) != changed_data
    folder = run_dir(tmp_path, spec, str(data), key)
    assert folder.parent == tmp_path and folder.name == f"m-d-{key[:16]}"


def test_a_profile_of_an_edited_model_or_changed_data_is_stale(tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text(EXAMPLE.read_text())
    data = tmp_path / "d.npz"
    np.savez(data, x=np.zeros((10, 4, 4), np.uint8), y=np.arange(10) % 2)
    spec, settings = f"{model}:four_blocks", training_record(joint=TrainConfig(epochs=2))
    key = cache_key(spec, str(data), settings)
    record = {**settings, "cache_key": key}
    profile = SimpleNamespace(model=spec, dataset=str(data), training=record)
    assert current_cache_key(profile) == key
    assert profile_run_dir(profile, tmp_path) == run_dir(tmp_path, spec, str(data), key)
    assert current_cache_key(SimpleNamespace(model=spec, dataset=str(data), training=None)) is None
    # the same file spelled another way is the same run
    other = SimpleNamespace(**{**vars(profile), "model": f"{tmp_path}/./m.py:four_blocks"})
    assert current_cache_key(other) == key
    model.write_text(EXAMPLE.read_text() + "\n# edited\n")
    with pytest.raises(InputError, match=r"^stale profile: the model source .* profile again$"):
        profile_run_dir(profile, tmp_path)
