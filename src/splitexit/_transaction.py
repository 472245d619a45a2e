"""Outputs written all or none: every file and folder of a command goes to a temporary
sibling first, and only when all are complete are they renamed into place together.

A command stages each output (:meth:`Outputs.file`, :meth:`Outputs.folder`, or the
``write_*`` shortcuts) inside ``with Outputs() as out:``. Leaving the block normally commits:
existing targets are moved aside, the staged ones renamed in, and the old ones removed; if a
rename fails, the targets already swapped are put back. Leaving it by an exception (a bad
value, Ctrl-C, SIGTERM raised in the main thread) removes the temporaries and touches no
target. Temporaries are hidden siblings (``.NAME.<random>.tmp.SUFFIX``), so a rename never
crosses file systems.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> with Outputs() as out:
...     _ = out.write_text(root / "a.md", "# a\\n")
...     out.write_json(root / "a.json", {"x": 1})
>>> sorted(p.name for p in root.iterdir())
['a.json', 'a.md']
>>> try:
...     with Outputs() as out:
...         _ = out.write_text(root / "b.md", "# b\\n")
...         raise KeyboardInterrupt
... except KeyboardInterrupt:
...     pass
>>> sorted(p.name for p in root.iterdir())
['a.json', 'a.md']
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from splitexit._boundary import OUTPUT_MARKER, dump_json
from splitexit.errors import InputError

__all__ = ["Outputs"]


@dataclass
class _Staged:
    temporary: Path
    target: Path
    backup: Path | None = None
    swapped: bool = False


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


class Outputs:
    """A set of output files and folders committed together (see the module docstring).

    Each target may be staged once; ``-`` (standard output) is accepted by
    :meth:`write_json` and written at the commit, after the files.
    """

    def __init__(self) -> None:
        self._staged: list[_Staged] = []
        self._stdout: list[str] = []
        self._done = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()

    @property
    def targets(self) -> tuple[Path, ...]:
        """The staged targets, in the order they were staged."""
        return tuple(s.target for s in self._staged)

    def _claim(self, target: Path) -> Path:
        if self._done:
            raise RuntimeError("these outputs were already committed or discarded")
        target = Path(target)
        if any(s.target == target for s in self._staged):
            raise InputError(f"{target}: named twice as an output")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def file(self, target: Path | str) -> Path:
        """A new empty temporary file beside ``target`` (same suffix, so that a renderer
        choosing its format by the suffix works); it replaces ``target`` at the commit."""
        target = self._claim(Path(target))
        if target.is_dir():
            raise InputError(f"{target}: is a folder; give a file name")
        handle, name = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}"
        )
        os.close(handle)
        os.chmod(name, 0o666 & ~_umask())  # as a plain open() would (mkstemp makes 0600)
        self._staged.append(_Staged(Path(name), target))
        return Path(name)

    def folder(self, target: Path | str, *, owner: str | None = None) -> Path:
        """A new empty temporary folder beside ``target``; at the commit it replaces
        ``target`` whole (the old one moved aside, then removed). With ``owner``, the folder
        carries the marker file naming the command that owns it (``_boundary.claim_folder``)."""
        target = self._claim(Path(target))
        if target.exists() and not target.is_dir():
            raise InputError(f"{target}: exists and is not a folder")
        name = tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
        os.chmod(name, 0o777 & ~_umask())
        if owner is not None:
            (Path(name) / OUTPUT_MARKER).write_text(owner + "\n", encoding="utf-8")
        self._staged.append(_Staged(Path(name), target))
        return Path(name)

    def write_bytes(self, target: Path | str, data: bytes) -> Path:
        """Stage ``data`` as the file ``target``; returns the temporary path."""
        path = self.file(target)
        path.write_bytes(data)
        return path

    def write_text(self, target: Path | str, text: str) -> Path:
        """Stage UTF-8 ``text`` as the file ``target``."""
        return self.write_bytes(target, text.encode("utf-8"))

    def write_json(self, target: Path | str, value: Any, *, indent: int | None = 2) -> None:
        """Stage ``value`` as JSON (never NaN or Infinity: an ``InputError`` naming the key);
        ``-`` writes it to standard output at the commit."""
        text = dump_json(value, indent=indent, where=str(target))
        if str(target) == "-":
            self._stdout.append(text)
        else:
            self.write_text(target, text)

    def commit(self) -> None:
        """Swap every staged output in; on a failure put back what was swapped, remove the
        temporaries and raise."""
        if self._done:
            return
        try:
            for staged in self._staged:
                if staged.target.exists() or staged.target.is_symlink():
                    staged.backup = self._backup_name(staged.target)
                    staged.target.rename(staged.backup)
                staged.temporary.rename(staged.target)
                staged.swapped = True
        except BaseException:
            self._undo()
            raise
        self._done = True
        for staged in self._staged:
            if staged.backup is not None:
                _remove(staged.backup)
        for text in self._stdout:
            sys.stdout.write(text)
        if self._stdout:
            sys.stdout.flush()

    def discard(self) -> None:
        """Remove every temporary; no target is touched."""
        if self._done:
            return
        self._done = True
        for staged in self._staged:
            _remove(staged.temporary)

    def _undo(self) -> None:
        self._done = True
        for staged in reversed(self._staged):
            if staged.swapped:
                _remove(staged.target)
            else:
                _remove(staged.temporary)
            if staged.backup is not None and staged.backup.exists():
                staged.backup.rename(staged.target)

    @staticmethod
    def _backup_name(target: Path) -> Path:
        name = tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old")
        os.rmdir(name)  # only the unique name is wanted
        return Path(name)
