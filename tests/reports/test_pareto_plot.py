from __future__ import annotations

from pathlib import Path

import numpy as np

from splitexit import load_profile, load_topology, plan
from splitexit.reports import pareto_plot_info, render_pareto_plot


def test_pareto_plot_info_content() -> None:
    result = plan(load_profile("example"), load_topology("mobile"), max_latency_s=0.15)
    info = pareto_plot_info(result)
    assert info.configurations_evaluated == result.configurations_evaluated
    assert info.frontier_latency_ms.size == len(result.pareto)
    assert np.all(np.diff(info.frontier_latency_ms) > 0)
    # the example is small enough (169,240 configurations) that the sample is ~20,000 points
    assert 15_000 < info.sample_latency_ms.size < 25_000
    assert set(np.unique(info.sample_partitions)) == {1, 2, 3, 4}
    lat, _, label = info.chosen
    assert lat <= 150.0 and "P=[5,10]" in label
    assert info.requirement == ("latency", 150.0)
    assert {name for *_, name in info.baselines} == {"source", "fastest", "single-cut"}


def test_pareto_plot_renders_png(tmp_path: Path) -> None:
    result = plan(load_profile("example"), load_topology("iot"))
    path = tmp_path / "sub" / "pareto.png"
    render_pareto_plot(pareto_plot_info(result), path)
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert path.stat().st_size > 10_000
