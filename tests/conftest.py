"""Shared fixtures: write small files to a temporary folder; the collector's freeze."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


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
