"""Writing an output folder whole or not at all: files go to a hidden sibling, then a swap
(``_transaction.Outputs``)."""

from __future__ import annotations

from pathlib import Path

from splitexit._transaction import Outputs
from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.errors import InputError

__all__ = ["write_folder"]


@validate_params({"out": [PathLike()], "files": [InstanceOf(dict)]})
def write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` (relative name -> bytes) as the folder ``out``, replacing it whole.

    >>> write_folder(Path("pieces"), {"piece-1.onnx": b"..."})  # doctest: +SKIP
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder")
    with Outputs() as outputs:
        stage = outputs.folder(out)
        for name, data in files.items():
            (stage / name).write_bytes(data)
