"""The HTML reports: content of the plotly figures (info, not pixels), self-containment, and
one headless-Chromium check that the plot actually renders (skipped without chromium)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from splitexit import load_profile, load_topology, plan
from splitexit.fidelity import compare_many, load_cases
from splitexit.planner import Plan
from splitexit.reports import (
    bar_section,
    fidelity_figure,
    fidelity_info,
    fidelity_section,
    html_page,
    pareto_figure,
    pareto_plot_info,
    pareto_section,
    write_html_report,
)
from tests.fidelity.helpers import Overheads, measurement_mapping, random_deployments


@pytest.fixture(scope="module")
def result() -> Plan:
    return plan(load_profile("example"), load_topology("mobile"), max_latency_s=0.15)


@pytest.fixture(scope="module")
def fidelity_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("runs")
    topology = load_topology("mobile")
    paths = []
    for i, deployment in enumerate(random_deployments(topology, 3, seed=5)):
        data = measurement_mapping(topology, deployment, rows=80, overheads=Overheads(), seed=i)
        path = folder / f"m{i}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(path)
    return paths


def test_pareto_figure_hover_has_configuration_and_latency_split(result: Plan) -> None:
    info = pareto_plot_info(result)
    fig = pareto_figure(info)
    frontier = next(t for t in fig.data if t.name == "Pareto frontier")
    assert len(frontier.x) == len(result.pareto)
    assert np.allclose(frontier.x, [p.latency_s * 1e3 for p in result.pareto])
    for key in ("T = ", "P = ", "A = ", "compute", "transmission", "propagation", "accuracy"):
        assert key in frontier.hovertemplate
    first = result.pareto[0]
    assert frontier.customdata[0][4] == f"{first.estimate.compute_s * 1e3:.3g}"
    recommended = next(t for t in fig.data if t.name == "recommended")
    assert recommended.x[0] == pytest.approx(result.best.latency_s * 1e3)
    assert {t.name for t in fig.data} >= {"source", "fastest", "single-cut"}


def test_html_page_is_self_contained_with_click_handler(result: Plan) -> None:
    page = html_page("plan", [pareto_section(pareto_plot_info(result))])
    assert page.count("<script") >= 2
    assert 'src="http' not in page and "src='http" not in page  # plotly.js inline, no CDN
    assert "plotly_click" in page and "Recommended: T = " in page
    assert len(page) > 3_000_000  # plotly.js itself is embedded


def test_fidelity_figure_points_per_model(fidelity_files: list[Path]) -> None:
    info = fidelity_info(compare_many(load_cases(fidelity_files)))
    fig = fidelity_figure(info)
    for model in info.models:
        traces = [t for t in fig.data if t.name == model]
        assert len(traces) == 2  # mean and p99
        assert len(traces[0].x) == len(fidelity_files)
    section = fidelity_section(info)
    assert section.table[0][0] == "model" and len(section.table) == 1 + len(info.models)


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _distinct_colours(png: Path) -> int:
    from matplotlib.image import imread

    pixels = (imread(png)[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


@pytest.mark.slow
def test_html_reports_render_in_headless_chromium(
    result: Plan, fidelity_files: list[Path], tmp_path: Path
) -> None:
    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary (apt-get install chromium, or `make chromium`)")
    info = fidelity_info(compare_many(load_cases(fidelity_files)))
    # one page with both plots: one browser launch for the pixels, one for the DOM
    page = tmp_path / "report.html"
    bars = bar_section("methods", ["a", "b"], [3.0, 5.0], "images per second")
    write_html_report(page, "report", [pareto_section(pareto_plot_info(result)),
                                       fidelity_section(info), bars])  # fmt: skip
    click = (  # a click on the first frontier point, as plotly emits it
        "<script>setTimeout(function () { var gd = document.getElementById('plot0');"
        " var t = gd.data.find(function (d) { return d.name === 'Pareto frontier'; });"
        " gd.emit('plotly_click', {points: [{x: t.x[0], y: t.y[0], customdata: t.customdata[0]}]});"
        " }, 500);</script></body>"
    )
    page.write_text(page.read_text().replace("</body>", click))
    flags = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--virtual-time-budget=8000"]  # fmt: skip
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert _distinct_colours(shot) > 200  # a blank or text-only page has a handful
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()],
        check=True, capture_output=True, timeout=120, text=True,
    ).stdout  # fmt: skip
    assert dom.count('class="scatterlayer') == 3  # the Pareto plot and the two fidelity panels
    assert 'class="legendtext"' in dom and ">Pareto frontier</text>" in dom
    assert 'class="trace scatter tracefrontier"' in dom, "no frontier trace in the rendered SVG"
    frontier = dom.split('class="trace scatter tracefrontier"')[1].split('class="trace ')[0]
    assert len(re.findall(r'class="point[ "]', frontier)) == len(result.pareto)
    points = len(re.findall(r'class="point[ "]', dom))
    assert points >= len(result.pareto) + len(fidelity_files)
    first = pareto_plot_info(result).frontier[0]
    clicked = f"frontier: T = {first.threshold}, P = {first.partition}, A = {first.placement}"
    assert clicked in dom and ">clicked</text>" in dom  # the handler marked the point
    assert 'class="trace bars"' in dom  # the bar chart of distredge compare's kind
