"""Shared fixtures: write small files to a temporary folder; the collector's freeze; the CLI's
click command built once for typer's ``CliRunner``."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.testing
import yaml

from splitexit.cli import app, click_command

_build_command = typer.testing._get_command


def _splitexit_command_once(given: typer.Typer) -> Any:
    """``CliRunner.invoke(app, ...)`` rebuilds the click command from every signature on each
    call (0.1 s of CPU, hundreds of calls); splitexit's is built once, as in a real process
    (``splitexit.cli.click_command``). Other Typer apps (a test's own) are built as before."""
    return click_command() if given is app else _build_command(given)


typer.testing._get_command = _splitexit_command_once


# session fixtures that take seconds to build (a training run, an ONNX export): under
# pytest-xdist, the tests that use one run on one worker, which builds it once
EXPENSIVE_FIXTURES = ("deployable", "exported", "tiny_profile")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test without an ``xdist_group`` of its own the group of the first expensive
    session fixture it uses, else the group of its file (where its module fixtures live).
    With ``--dist loadgroup`` (``make test``) a group runs on one worker; without xdist the
    mark does nothing. ``tryfirst``: xdist reads the groups in its own hook."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        used = getattr(item, "fixturenames", ())
        fixture = next((name for name in EXPENSIVE_FIXTURES if name in used), None)
        group = fixture or item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what importing and collecting made (torch, every test item) out of the cyclic
    collector's reach: it lives for the whole run anyway, and a full ``gc.collect()``, which
    statsmodels' Holm correction runs on every call, then scans only what the tests make
    instead of the whole heap (seconds per call in a full run)."""
    gc.freeze()


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[dict[str, Any], str], Path]:
    def write(data: dict[str, Any], name: str = "topology.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[dict[str, Any], str], Path]:
    def write(data: dict[str, Any], name: str = "profile.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write
