"""Reading IDX files (the MNIST family's format), plain or gzip-compressed, with checks."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

__all__ = ["read_idx", "write_idx"]

_UBYTE = 0x08  # the only element type Fashion-MNIST uses


@validate_params({"path": [InstanceOf(Path)], "ndim": [Interval(int, 1, None, closed="left")]})
def read_idx(path: Path, *, ndim: int) -> npt.NDArray[np.uint8]:
    """The unsigned-byte array stored in IDX file ``path``, which must have ``ndim`` dims."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: cannot read the IDX file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise InputError(f"{path}: not an IDX file (bad magic number)")
    if raw[2] != _UBYTE:
        raise InputError(f"{path}: IDX element type must be unsigned byte (0x08), got {raw[2]:#x}")
    if raw[3] != ndim:
        raise InputError(f"{path}: expected {ndim} dimension(s), got {raw[3]}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise InputError(f"{path}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise InputError(
            f"{path}: IDX data has {len(raw) - header} bytes, expected {expected} for shape "
            f"{tuple(shape)}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@validate_params({"path": [InstanceOf(Path)], "array": [InstanceOf(np.ndarray)]})
def write_idx(path: Path, array: npt.NDArray[np.uint8]) -> None:
    """Write ``array`` (uint8) as an IDX file, gzip-compressed when ``path`` ends in .gz."""
    data = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _UBYTE, data.ndim]) + struct.pack(f">{data.ndim}I", *data.shape)
    raw = header + data.tobytes()
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
