"""Helpers for the boundary: reading user files, turning validation errors into one line,
writing outputs atomically. Nothing here knows about topologies or profiles.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from splitexit.errors import InputError, UnitError
from splitexit.units import format_bandwidth, parse_bandwidth, parse_duration

__all__ = [
    "StrictModel",
    "atomic_write_bytes",
    "atomic_write_png",
    "atomic_write_text",
    "bandwidth_field",
    "describe_validation_error",
    "duration_field",
    "read_mapping",
]


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {kind} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the {kind} file ({exc})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise InputError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: a {kind} file must hold a mapping at the top level")
    return data


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
