"""User data: an .npz or an image folder, with declared preprocessing and seeded splits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splitexit import InputError
from splitexit.datasets import Preprocessing, data_fingerprint, is_user_dataset, load_dataset


def _npz(path: Path, n: int = 40, shape: tuple[int, ...] = (12, 12)) -> Path:
    rng = np.random.default_rng(0)
    np.savez(path, x=rng.integers(0, 256, (n, *shape), dtype=np.uint8), y=np.arange(n) % 4)
    return path


def test_load_dataset_npz_splits_and_records_preprocessing(tmp_path: Path) -> None:
    path = str(_npz(tmp_path / "d.npz"))
    assert is_user_dataset(path)
    data = load_dataset(path)
    assert (len(data.train), len(data.profile), len(data.test)) == (24, 8, 8)
    assert data.num_classes == 4 and data.in_channels == 1 and data.image_size == (12, 12)
    record = data.preprocessing().to_record()
    assert record["resize"] is None and record["scale"] == pytest.approx(1 / 255)
    assert record["mean"] == pytest.approx([float(data.mean.ravel()[0])])
    again = load_dataset(path)
    assert np.array_equal(again.test.labels, data.test.labels)  # seeded splits


def test_load_dataset_npz_declared_resize_mean_std(tmp_path: Path) -> None:
    path = str(_npz(tmp_path / "d.npz"))
    declared = Preprocessing(resize=(8, 8), mean=(0.5,), std=(0.25,))
    data = load_dataset(path, preprocessing=declared)
    assert data.image_size == (8, 8)
    record = data.preprocessing().to_record()
    assert (record["resize"], record["mean"], record["std"]) == ([8, 8], [0.5], [0.25])
    assert Preprocessing.from_record(record).resize == (8, 8)


def test_load_dataset_image_folder(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)
    for name in ("cat", "dog"):
        (tmp_path / name).mkdir()
        for i in range(10):
            pixels = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    data = load_dataset(str(tmp_path))
    assert data.num_classes == 2 and data.in_channels == 3
    assert len(data.train) + len(data.profile) + len(data.test) == 20


def test_user_data_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_dataset(str(tmp_path / "none.npz"))
    with pytest.raises(InputError, match="--resize must be HxW"):
        Preprocessing.from_cli(resize="32", mean=None, std=None)
    with pytest.raises(InputError, match="needs 1 or 1 values"):
        load_dataset(str(_npz(tmp_path / "d.npz")), preprocessing=Preprocessing(mean=(0.1, 0.2)))


def test_data_fingerprint_follows_the_content(tmp_path: Path) -> None:
    path = _npz(tmp_path / "d.npz")
    before = data_fingerprint(str(path))
    _npz(path, n=44)
    assert data_fingerprint(str(path)) != before
    assert data_fingerprint("digits") != data_fingerprint("digits", split_seed=1)
