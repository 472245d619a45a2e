"""Helpers for the boundary: reading user files, turning validation errors into one line,
writing outputs atomically. Nothing here knows about topologies or profiles.
"""

from __future__ import annotations

import io
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from splitexit.errors import InputError, UnitError
from splitexit.units import format_bandwidth, parse_bandwidth, parse_duration

__all__ = [
    "OUTPUT_MARKER",
    "StrictModel",
    "atomic_write_bytes",
    "atomic_write_png",
    "atomic_write_text",
    "bandwidth_field",
    "check_output_folder",
    "check_parent_writable",
    "claim_folder",
    "describe_validation_error",
    "dump_json",
    "duration_field",
    "finite_json",
    "is_system_path",
    "mark_folder",
    "read_mapping",
    "safe_yaml",
    "write_json",
]

MAX_INPUT_BYTES = 64 * 1024 * 1024
"""The largest YAML or JSON file read (a profile with its numbers is far below this)."""

MAX_ALIAS_USES = 10_000
"""YAML aliases resolved per file."""

MAX_EXPANDED_NODES = 1_000_000
"""Values a YAML file may hold once its aliases are expanded: a 400-byte nested-alias bomb
expands to billions and is refused before anything walks it."""


class StrictModel(BaseModel):
    """Base of every file schema: unknown fields are errors (a typo is not silently
    ignored) and validated values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @classmethod
    def parse(cls, data: object, *, source: str) -> Self:
        """Validate ``data`` read from ``source``; a problem is one ``InputError`` line
        naming the source and the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise InputError(describe_validation_error(source, exc)) from None


def bandwidth_field(value: Any) -> float:
    """A bandwidth > 0 in bit/s, for pydantic ``BeforeValidator``: problems are ValueErrors."""
    try:
        bits_per_s = parse_bandwidth(value)
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    if bits_per_s <= 0:
        raise ValueError(f"must be > 0, got {value!r} ({format_bandwidth(bits_per_s)})")
    return bits_per_s


def duration_field(value: Any) -> float:
    """A duration >= 0 in seconds, for pydantic ``BeforeValidator``."""
    try:
        seconds = parse_duration(value)
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    if seconds < 0:
        raise ValueError(f"must be >= 0, got {value!r}")
    return seconds


def read_mapping(path: Path, *, kind: str) -> dict[str, Any]:
    """Read a YAML or JSON file whose top level must be a mapping.

    ``kind`` names what the file should hold ("topology", "profile") for the messages.
    """
    try:
        if path.is_file() and path.stat().st_size > MAX_INPUT_BYTES:
            raise InputError(
                f"{path}: the {kind} file is larger than {MAX_INPUT_BYTES // 2**20} MiB"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {kind} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {kind} file ({exc})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else safe_yaml(text)
    except _TooManyAliases:
        raise InputError(
            f"{path}: the YAML's aliases expand to more than {MAX_EXPANDED_NODES} values "
            "(refused: an alias bomb?)"
        ) from None
    except RecursionError:
        raise InputError(f"{path}: the {kind} file is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a {kind} file must hold a mapping at the top level")
    return data


class _TooManyAliases(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts alias uses: a nested-alias bomb stops at the limit instead of
    expanding into gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_uses = getattr(self, "alias_uses", 0) + 1
            if self.alias_uses > MAX_ALIAS_USES:
                raise _TooManyAliases
        return super().compose_node(parent, index)


def safe_yaml(text: str) -> Any:
    """``yaml.safe_load`` with at most :data:`MAX_ALIAS_USES` alias uses.

    >>> safe_yaml("a: &x 1\\nb: *x")
    {'a': 1, 'b': 1}
    """
    loader = _BoundedLoader(text)
    try:
        data = loader.get_single_data()
    finally:
        loader.dispose()
    if _expanded_size(data, {}) > MAX_EXPANDED_NODES:
        raise _TooManyAliases
    return data


def _expanded_size(value: Any, seen: dict[int, int]) -> int:
    """Values in ``value`` with shared (aliased) parts counted each time they appear; each
    distinct container is visited once."""
    if not isinstance(value, dict | list):
        return 1
    key = id(value)
    if key not in seen:
        seen[key] = 0  # a cycle counts once
        items = value.values() if isinstance(value, dict) else value
        total = 1
        for item in items:
            total += _expanded_size(item, seen)
            if total > MAX_EXPANDED_NODES:
                break
        seen[key] = total
    return seen[key]


def finite_json(value: Any, *, where: str = "output") -> Any:
    """``value`` with every non-finite float refused: an ``InputError`` naming its key.

    >>> finite_json({"a": [1.0, 2]})
    {'a': [1.0, 2]}
    """

    def walk(item: Any, at: str) -> None:
        if isinstance(item, float) and not math.isfinite(item):
            raise InputError(f"{where}: {at or 'value'} is {item} (inputs out of range?)")
        if isinstance(item, dict):
            for key, sub in item.items():
                walk(sub, f"{at}.{key}" if at else str(key))
        elif isinstance(item, list | tuple):
            for k, sub in enumerate(item):
                walk(sub, f"{at}[{k}]")

    walk(value, "")
    return value


def dump_json(value: Any, *, indent: int | None = 2, where: str = "output") -> str:
    """JSON text of ``value`` without NaN or Infinity (an ``InputError`` naming the key).

    >>> dump_json({"x": 1}, indent=None)
    '{"x": 1}\\n'
    """
    try:
        return json.dumps(value, indent=indent, allow_nan=False) + "\n"
    except ValueError:
        finite_json(value, where=where)  # names the key
        raise


def write_json(path: Path | str, value: Any, *, indent: int | None = 2) -> bool:
    """Write ``value`` as JSON to ``path`` atomically, or to stdout when ``path`` is ``-``;
    True when a file was written (the caller may say so).

    >>> write_json("-", {"ok": True}, indent=None)
    {"ok": true}
    False
    """
    text = dump_json(value, indent=indent, where=str(path))
    if str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return False
    atomic_write_text(Path(path), text)
    return True


OUTPUT_MARKER = ".splitexit-output"
"""The file a command leaves in a folder it owns: its content is the command's name."""

_SYSTEM = (Path("/proc"), Path("/sys"), Path("/dev"))


def is_system_path(path: Path) -> bool:
    """True for a path under /proc, /sys or /dev (never an output)."""
    absolute = Path(os.path.abspath(path))
    return any(absolute == root or root in absolute.parents for root in _SYSTEM)


def check_parent_writable(path: Path, option: str) -> None:
    """The nearest existing ancestor of ``path`` is a writable folder (missing ones are made)."""
    ancestor = Path(os.path.abspath(path)).parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{option} {path}: {ancestor} is not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: the folder {ancestor} is not writable")


def check_output_folder(path: Path | str, option: str) -> None:
    """Refuse a folder output that is a file, a system path, the current folder or an
    ancestor of it, or whose parent cannot be written."""
    path = Path(path)
    if str(path) == "-":
        raise InputError(f"{option} -: this output is a folder; give a folder name")
    if is_system_path(path):
        raise InputError(f"{option} {path}: refusing to write under /proc, /sys or /dev")
    if path.exists() and not path.is_dir():
        raise InputError(f"{option} {path}: exists and is not a folder")
    absolute = Path(os.path.abspath(path))
    here = Path(os.path.abspath(Path.cwd()))
    if absolute == here or absolute in here.parents or absolute == Path.home():
        raise InputError(
            f"{option} {path}: refusing the current, a parent or the home folder; "
            "give a new folder name"
        )
    check_parent_writable(path, option)


def claim_folder(path: Path | str, option: str, command: str) -> None:
    """Check ``path`` as :func:`check_output_folder` and refuse a non-empty folder that is not
    a previous output of ``command`` (it has no marker file naming it)."""
    path = Path(path)
    check_output_folder(path, option)
    if not path.is_dir() or not any(path.iterdir()):
        return
    marker = path / OUTPUT_MARKER
    try:
        owner = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    except OSError:
        owner = None
    if owner != command:
        raise InputError(
            f"{option} {path}: the folder exists, is not empty and is not an earlier output of "
            f"`splitexit {command}`; give a new or empty folder"
        )


def mark_folder(path: Path, command: str) -> None:
    """Leave the marker file saying ``command`` owns the folder ``path``."""
    (Path(path) / OUTPUT_MARKER).write_text(command + "\n", encoding="utf-8")


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def describe_validation_error(source: str, exc: ValidationError) -> str:
    """Turn the first pydantic error into ``"<source>: <field> <problem>"``."""
    error = exc.errors(include_url=False)[0]
    where = _location(error["loc"])
    kind = error["type"]
    if kind == "missing":
        problem = "is required but missing"
    elif kind == "extra_forbidden":
        problem = "is not a known field"
    elif kind == "value_error":
        problem = str(error["ctx"]["error"])
    else:
        problem = f"{error['msg'][0].lower()}{error['msg'][1:]}, got {error['input']!r}"
        problem = problem.replace("input should be", "must be")
    return f"{source}: {where} {problem}" if where else f"{source}: {problem}"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        # mkstemp creates 0600 files; give the result the permissions a plain open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_png(figure: Any, path: Path, **savefig: Any) -> None:
    """Render a matplotlib ``figure`` to PNG in memory, then write it atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", **savefig)
    atomic_write_bytes(path, buffer.getvalue())
