from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from splitexit import InputError
from splitexit.datasets import FASHION_MNIST_ENV, load_dataset, read_idx, write_idx


def fake_fashion_mnist(folder: Path, *, train: int = 60, test: int = 12, gz: bool = True) -> Path:
    """Tiny IDX files shaped like Fashion-MNIST's (28x28 images, labels 0..9)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for prefix, n in (("train", train), ("t10k", test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n, dtype=np.uint8) % 10)
    return folder


def test_load_dataset_digits_splits_are_fixed_and_disjoint() -> None:
    a, b = load_dataset("digits"), load_dataset("digits")
    assert (len(a.train), len(a.profile), len(a.test)) == (1078, 359, 360)
    assert np.array_equal(a.train.images, b.train.images)
    rows = np.concatenate([s.images.reshape(len(s), -1) for s in (a.train, a.profile, a.test)])
    assert len(np.unique(rows, axis=0)) >= len(rows) - 20  # digits has a few duplicate images
    assert abs(float(a.train.images.mean())) < 1e-5
    assert a.input_bits == 8 * 8 * 8 and not a.flip


def test_load_dataset_split_seed_changes_the_split() -> None:
    a, b = load_dataset("digits"), load_dataset("digits", split_seed=1)
    assert not np.array_equal(a.train.labels, b.train.labels)


@pytest.mark.parametrize("gz", [True, False])
def test_load_dataset_fashion_mnist_reads_idx_files(tmp_path: Path, gz: bool) -> None:
    data = load_dataset("fashion-mnist", data_dir=fake_fashion_mnist(tmp_path, gz=gz))
    assert (len(data.train), len(data.profile), len(data.test)) == (50, 10, 12)
    assert data.image_size == (28, 28) and data.in_channels == 1
    assert data.input_bits == 28 * 28 * 8 and data.flip
    assert sorted(np.concatenate([data.train.labels, data.profile.labels]).tolist()) == sorted(
        (np.arange(60) % 10).tolist()
    )


def test_load_dataset_fashion_mnist_folder_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(FASHION_MNIST_ENV, str(fake_fashion_mnist(tmp_path)))
    assert len(load_dataset("fashion-mnist").test) == 12


def test_load_dataset_missing_files_name_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        load_dataset("fashion-mnist", data_dir=tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte" in message and "dataset-fashion-mnist" in message
    assert FASHION_MNIST_ENV in message and "\n" not in message


def test_load_dataset_unknown_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="dataset must be one of fashion-mnist, digits, got 'x'"):
        load_dataset("x")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x07", "bad magic number"),
        (b"\x00\x00\x0d\x01\x00\x00\x00\x01\x07", "element type must be unsigned byte"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x01", "expected 1 dimension(s), got 3"),
        (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "IDX data has 2 bytes, expected 5"),
        (b"\x00\x00\x08\x01\x00\x00", "truncated IDX header"),
    ],
)
def test_read_idx_bad_files_name_file_and_problem(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_idx(path, ndim=1)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_read_idx_round_trip_and_bad_gzip(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a.gz", ndim=3), array)
    (tmp_path / "b.gz").write_bytes(b"not gzip")
    with pytest.raises(InputError, match="cannot read the IDX file"):
        read_idx(tmp_path / "b.gz", ndim=3)


def test_load_dataset_fashion_mnist_label_problems(tmp_path: Path) -> None:
    folder = fake_fashion_mnist(tmp_path)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.full(12, 10, dtype=np.uint8))
    with pytest.raises(InputError, match=r"labels must be in 0\.\.9, got 10"):
        load_dataset("fashion-mnist", data_dir=folder)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.zeros(11, dtype=np.uint8))
    with pytest.raises(InputError, match=r"holds 11 labels, but .* holds 12 images"):
        load_dataset("fashion-mnist", data_dir=folder)
