"""Writing an output folder whole or not at all: files go to a hidden sibling, then a rename."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

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
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial"))
    try:
        for name, data in files.items():
            (stage / name).write_bytes(data)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
        stage.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
