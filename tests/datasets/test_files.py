from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from splitexit import InputError
from splitexit.datasets import read_image_folder, read_npz, split_images


def _image_folder(root: Path, *, mode: str = "L", size: tuple[int, int] = (6, 5)) -> Path:
    """Two classes, three images each; pixel value = 10 * image index, so order is checked."""
    for label, name in enumerate(("b-dog", "a-cat")[::-1]):
        (root / name).mkdir(parents=True)
        for i in range(3):
            value = 40 * label + 10 * i
            shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
            Image.fromarray(np.full(shape, value, np.uint8), mode=mode).save(
                root / name / f"{i}.png"
            )
    (root / "a-cat" / "notes.txt").write_text("not an image", encoding="utf-8")
    return root


def test_read_npz_channels_last_uint8(tmp_path: Path) -> None:
    x = np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([1, 0]))
    data = read_npz(tmp_path / "d.npz")
    assert data.pixels.shape == (2, 3, 4, 4) and data.pixels.dtype == np.float32
    assert np.allclose(data.pixels[1, 2, 3, 1], x[1, 3, 1, 2] / 255.0)
    assert data.labels.tolist() == [1, 0] and data.class_names == ("0", "1")


def test_read_npz_float_gray_images(tmp_path: Path) -> None:
    x = np.linspace(0, 1, 3 * 5 * 5, dtype=np.float64).reshape(3, 5, 5)
    np.savez(tmp_path / "d.npz", x=x, y=np.array([0, 2, 1]))
    data = read_npz(tmp_path / "d.npz")
    assert data.pixels.shape == (3, 1, 5, 5) and len(data) == 3
    assert np.allclose(data.pixels[:, 0], x) and len(data.class_names) == 3


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"x": np.zeros((2, 4, 4), np.uint8)}, "must hold arrays x and y, missing y"),
        ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.zeros(3, int)}, "x holds 2 images but y 3"),
        ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.zeros(2)}, "y must be a 1-d integer"),
        ({"x": np.zeros((2, 4, 4), np.uint8), "y": np.array([0, -1])}, "must be >= 0, got -1"),
        ({"x": np.full((2, 4, 4), 2.0), "y": np.zeros(2, int)}, "must be in [0, 1]"),
        ({"x": np.zeros((2, 4, 4), np.int16), "y": np.zeros(2, int)}, "uint8 or float pixels"),
        ({"x": np.zeros((2, 5, 4, 5), np.uint8), "y": np.zeros(2, int)}, "got shape (2, 5, 4, 5)"),
    ],
)
def test_read_npz_bad_arrays_name_file_and_problem(
    tmp_path: Path, arrays: dict[str, np.ndarray], message: str
) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(InputError) as info:
        read_npz(path)
    assert str(info.value).startswith(f"{path}: ") and message in str(info.value)


def test_read_npz_not_an_archive(tmp_path: Path) -> None:
    (tmp_path / "x.npz").write_bytes(b"nope")
    with pytest.raises(InputError, match=r"x\.npz: cannot read the \.npz file"):
        read_npz(tmp_path / "x.npz")


def test_read_image_folder_classes_in_name_order(tmp_path: Path) -> None:
    data = read_image_folder(_image_folder(tmp_path))
    assert data.class_names == ("a-cat", "b-dog")
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data.pixels.shape == (6, 1, 5, 6)
    assert np.allclose(data.pixels[:, 0, 0, 0] * 255, [0, 10, 20, 40, 50, 60])


def test_read_image_folder_rgb(tmp_path: Path) -> None:
    data = read_image_folder(_image_folder(tmp_path, mode="RGB"))
    assert data.pixels.shape == (6, 3, 5, 6)


def test_read_image_folder_sizes_must_agree(tmp_path: Path) -> None:
    root = _image_folder(tmp_path)
    Image.fromarray(np.zeros((7, 7), np.uint8)).save(root / "b-dog" / "9.png")
    with pytest.raises(
        InputError, match=r"9\.png: image size 7x7 differs from the first image's 6x5"
    ):
        read_image_folder(root)


def test_read_image_folder_empty_or_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no images found; expected class sub-folders"):
        read_image_folder(tmp_path)
    with pytest.raises(InputError, match="image folder not found"):
        read_image_folder(tmp_path / "absent")


def test_read_image_folder_unreadable_image(tmp_path: Path) -> None:
    root = _image_folder(tmp_path)
    (root / "a-cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match=r"broken\.png: cannot read the image"):
        read_image_folder(root)


def test_split_images_seeded_disjoint_and_standardized(tmp_path: Path) -> None:
    data = read_image_folder(_image_folder(tmp_path))
    pixels = np.concatenate([data.pixels] * 5)  # 30 images
    labels = np.concatenate([data.labels] * 5)
    a = split_images("folder", pixels, labels, split_seed=3)
    b = split_images("folder", pixels, labels, split_seed=3)
    assert (len(a.train), len(a.profile), len(a.test)) == (18, 6, 6)
    assert np.array_equal(a.train.images, b.train.images) and a.num_classes == 2
    assert abs(float(a.train.images.mean())) < 1e-5 and a.input_bits == 5 * 6 * 8


def test_split_images_too_few_or_misshaped() -> None:
    with pytest.raises(InputError, match="too few images to split"):
        split_images("tiny", np.zeros((2, 1, 3, 3), np.float32), np.zeros(2, int))
    with pytest.raises(InputError, match=r"images must be \(n, C, H, W\) with one label each"):
        split_images("tiny", np.zeros((4, 3, 3), np.float32), np.zeros(4, int))
