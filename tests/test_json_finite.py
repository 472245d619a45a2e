"""JSON never holds NaN or Infinity: every ``json.dump``/``json.dumps`` under src/splitexit
passes ``allow_nan=False`` (or goes through ``_boundary.dump_json``, which does), so a
non-finite number is an error naming its key instead of a ``NaN`` token a strict reader
rejects."""

from __future__ import annotations

import ast
import json
import logging
import math
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "splitexit"
CONSOLE_ONLY = {("cli/operators.py", "_report")}  # printed for people, never a file


def _json_calls() -> list[tuple[str, str, ast.Call]]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("dump", "dumps")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "json"
                ):
                    found.append((str(path.relative_to(SRC)), function.name, node))
    return found


def test_every_json_dump_refuses_nan() -> None:
    calls = _json_calls()
    assert len(calls) > 5
    loose = [
        f"{file}:{node.lineno} ({function})"
        for file, function, node in calls
        if (file, function) not in CONSOLE_ONLY
        and not any(
            k.arg == "allow_nan" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in node.keywords
        )
    ]
    assert loose == [], f"json.dump(s) without allow_nan=False: {loose}"


def test_json_log_lines_stay_json_with_non_finite_fields() -> None:
    from splitexit.runtime._logs import JsonFormatter

    record = logging.LogRecord("w", logging.INFO, __file__, 1, "slow", None, None)
    record.latency_s = math.nan
    record.ratio = math.inf
    line = JsonFormatter().format(record)
    assert json.loads(line)["latency_s"] == "nan" and json.loads(line)["ratio"] == "inf"
    assert "NaN" not in line and "Infinity" not in line
