"""Labelled images from files: a ``.npz`` with arrays ``x`` and ``y``, or a folder of class folders.

Both readers return :class:`LabelledImages`: pixels (n, C, H, W) float32 scaled to [0, 1],
labels (n,) int64 and the class names; :func:`~splitexit.datasets.split_images` turns them
into seeded train / profiling / test splits. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, returned_type, validate_params
from splitexit.errors import InputError

__all__ = ["IMAGE_SUFFIXES", "LabelledImages", "read_image_folder", "read_npz"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
_CHANNELS = (1, 3, 4)


@returned_type
@dataclass(frozen=True, eq=False)
class LabelledImages:
    """Pixels (n, C, H, W) float32 in [0, 1], labels (n,) int64, one name per class."""

    pixels: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])


def _channels_first(path: Path, x: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
    if x.ndim == 3:  # (n, H, W): gray
        return x[:, None]
    if x.ndim == 4 and x.shape[3] in _CHANNELS:  # (n, H, W, C), as images are stored
        return np.transpose(x, (0, 3, 1, 2))
    if x.ndim == 4 and x.shape[1] in _CHANNELS:  # (n, C, H, W)
        return x
    raise InputError(
        f"{path}: x must be (n, H, W), (n, H, W, C) or (n, C, H, W) with C in 1, 3, 4, "
        f"got shape {tuple(x.shape)}"
    )


def _scaled(path: Path, x: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    if np.issubdtype(x.dtype, np.floating):
        pixels = x.astype(np.float32)
        if pixels.size and not (
            np.isfinite(pixels).all() and pixels.min() >= 0.0 and pixels.max() <= 1.0
        ):
            raise InputError(
                f"{path}: float pixels in x must be in [0, 1], got values in "
                f"[{np.nanmin(pixels):g}, {np.nanmax(pixels):g}]"
            )
        return pixels
    raise InputError(f"{path}: x must hold uint8 or float pixels, got {x.dtype}")


@validate_params({"path": [InstanceOf(str, Path)]})
def read_npz(path: str | Path) -> LabelledImages:
    """Images ``x`` (uint8 0..255 or float in [0, 1]) and integer labels ``y`` of an ``.npz``.

    >>> import numpy as np, tempfile, pathlib
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "tiny.npz"
    >>> np.savez(file, x=np.zeros((4, 8, 8), np.uint8), y=np.array([0, 1, 0, 1]))
    >>> data = read_npz(file)
    >>> data.pixels.shape, data.class_names
    ((4, 1, 8, 8), ('0', '1'))
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("x", "y") if k not in archive.files]
            if missing:
                raise InputError(
                    f"{path}: the .npz must hold arrays x and y, missing {', '.join(missing)}"
                )
            x, y = archive["x"], archive["y"]
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read the .npz file ({exc})") from None
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise InputError(f"{path}: y must be a 1-d integer array, got {y.dtype} {y.shape}")
    if x.shape[:1] != y.shape:
        raise InputError(f"{path}: x holds {x.shape[0]} images but y {y.shape[0]} labels")
    if y.size and int(y.min()) < 0:
        raise InputError(f"{path}: labels in y must be >= 0, got {int(y.min())}")
    pixels = np.ascontiguousarray(_scaled(path, _channels_first(path, x)))
    classes = int(y.max()) + 1 if y.size else 0
    return LabelledImages(pixels, y.astype(np.int64), tuple(str(c) for c in range(classes)))


@validate_params({"folder": [InstanceOf(str, Path)]})
def read_image_folder(folder: str | Path) -> LabelledImages:
    """Images in class sub-folders (``FOLDER/<class>/*.png``), classes in name order.

    All images must have one size; they are read as gray when the first one is gray, else
    as RGB (Pillow, which matplotlib already depends on).

    >>> import numpy as np, tempfile, pathlib
    >>> from PIL import Image
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("cat", "dog"):
    ...     (root / name).mkdir()
    ...     Image.fromarray(np.zeros((5, 6), np.uint8)).save(root / name / "a.png")
    >>> data = read_image_folder(root)
    >>> data.pixels.shape, data.labels.tolist(), data.class_names
    ((2, 1, 5, 6), [0, 1], ('cat', 'dog'))
    """
    from PIL import Image, UnidentifiedImageError

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: image folder not found")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    files = [
        (label, f)
        for label, name in enumerate(classes)
        for f in sorted((root / name).iterdir())
        if f.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not files:
        raise InputError(
            f"{root}: no images found; expected class sub-folders holding "
            f"{', '.join(IMAGE_SUFFIXES)} files"
        )
    images: list[npt.NDArray[np.uint8]] = []
    mode = ""
    for _, file in files:
        try:
            with Image.open(file) as image:
                mode = mode or ("L" if image.mode in ("1", "L", "I", "I;16", "F") else "RGB")
                array = np.asarray(image.convert(mode), dtype=np.uint8)
        except (OSError, UnidentifiedImageError) as exc:
            raise InputError(f"{file}: cannot read the image ({exc})") from None
        if images and array.shape != images[0].shape:
            raise InputError(
                f"{file}: image size {array.shape[1]}x{array.shape[0]} differs from the first "
                f"image's {images[0].shape[1]}x{images[0].shape[0]} ({files[0][1]})"
            )
        images.append(array)
    x = np.stack(images)
    pixels = np.ascontiguousarray(_scaled(root, _channels_first(root, x)))
    labels = np.array([label for label, _ in files], dtype=np.int64)
    return LabelledImages(pixels, labels, tuple(classes))
