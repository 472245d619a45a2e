"""A worker's logs: stdlib ``logging`` under ``splitexit.runtime``, as text or JSON lines.

The worker logs its start, every deploy (with the execution providers it got), refusals
(wrong token, a sample before deploy, a bad model or sample), failed samples and its
shutdown. ``configure_logging`` sets a handler on the ``splitexit.runtime`` logger only, so a
program that embeds the runtime keeps its own logging; JSON lines carry ``time`` (ISO 8601,
UTC), ``level``, ``logger``, ``message`` and the record's extra fields (``tier``,
``partition``, ``reason``, ...), one object per line, as log shippers expect.

>>> import io, json, logging
>>> stream = io.StringIO()
>>> configure_logging("info", "json", stream=stream)
>>> logging.getLogger("splitexit.runtime.worker").info("deployed", extra={"tier": "edge"})
>>> record = json.loads(stream.getvalue())
>>> record["message"], record["tier"], record["level"]
('deployed', 'edge', 'INFO')
>>> configure_logging("warning", "text")  # back to quiet text on stderr
"""

from __future__ import annotations

import json
import logging
import math
import sys
from datetime import UTC, datetime
from typing import IO, Any

from splitexit.errors import InputError

__all__ = ["LOGGER", "LOG_FORMATS", "LOG_LEVELS", "JsonFormatter", "configure_logging", "log"]

LOGGER = "splitexit.runtime"
LOG_FORMATS = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")

# attributes every LogRecord has; anything else came in through ``extra=``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, extra fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                plain = isinstance(value, int | bool | None) or (
                    isinstance(value, float) and math.isfinite(value)
                )
                entry[key] = value if plain else str(value)  # NaN, inf: "nan", "inf"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, allow_nan=False)


_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at each record, not the one at configuration:
    a program (or a test runner) that swaps stderr keeps receiving the worker's lines."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:  # the base class assigns it once
        pass


def configure_logging(level: str, fmt: str, *, stream: IO[str] | None = None) -> None:
    """Log ``splitexit.runtime`` at ``level`` (debug..error) as ``fmt`` (text, json)."""
    if level.lower() not in LOG_LEVELS:
        raise InputError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    if fmt not in LOG_FORMATS:
        raise InputError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    logger = logging.getLogger(LOGGER)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT))
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


log = logging.getLogger(f"{LOGGER}.worker")
