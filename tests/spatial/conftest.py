"""Spatial tests: the ``slow`` marker (process-spawning runs, a few seconds or more)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: spawns worker processes (several seconds)")
