"""The study's statistics call statsmodels' Holm correction, which runs a full ``gc.collect()``
on every call: each would scan every object the earlier tests of the run left alive (seconds
in a full run). Collect once and freeze what survives before each study test, so that those
collections scan only what the test itself makes."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True)
def _frozen_heap() -> None:
    gc.collect()
    gc.freeze()
