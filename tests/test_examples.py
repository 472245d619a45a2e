"""The four cases of seed 000 on the bundled profile (examples/four_cases.py, docs/cases.md)."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import pytest


def _module() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "examples" / "four_cases.py"
    spec = importlib.util.spec_from_file_location("four_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_four_cases_reproduce_the_papers_qualitative_findings() -> None:
    rows = {(r["case"], r["estimator"]): r for r in _module().run()}
    # I: trimming, a partial DNN on one tier is optimal
    trimmed = rows[("I trimming", "paper")]
    assert len(trimmed["partition"]) == 1 and trimmed["partition"][0] < 10
    # II: a binding cap calls for early exits over several tiers
    assert len(rows[("II cap 35 ms", "paper")]["partition"]) >= 2
    assert rows[("II cap 35 ms", "trace")]["latency_s"] <= 0.035
    # III: a non-consecutive placement (a later partition on an earlier tier)
    tiers = rows[("III cap 80 ms", "trace")]["placement_tiers"]
    assert any(b < a for a, b in itertools.pairwise(tiers))
    # IV: the destination changes the placement of the same partitioning
    near, far = rows[("IV dest. tier 1", "trace")], rows[("IV dest. tier 4", "trace")]
    assert near["partition"] == far["partition"] and near["placement"] != far["placement"]
