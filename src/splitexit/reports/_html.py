"""Self-contained HTML reports: plotly figures with plotly.js inline (no network needed to
open the page), tables and short texts. Info objects in, one HTML file out.

>>> from splitexit import load_profile, load_topology, plan
>>> from splitexit.reports import pareto_plot_info
>>> page = html_page("plan", [pareto_section(pareto_plot_info(
...     plan(load_profile("example"), load_topology("mobile"))))])
>>> "plotly" in page and "cdn" not in page.split("<script")[0].lower()
True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from splitexit._boundary import atomic_write_text
from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.reports._fidelity import FidelityInfo
from splitexit.reports._pareto_plot import ParetoPlotInfo, PointInfo

__all__ = [
    "HtmlSection",
    "bar_section",
    "fidelity_figure",
    "fidelity_section",
    "html_page",
    "pareto_figure",
    "pareto_section",
    "write_html_report",
]

_MAX_SAMPLES = 4000  # sampled configurations drawn as SVG points (no WebGL needed)


@returned_type
@dataclass(frozen=True)
class HtmlSection:
    """One part of a page: a heading, a paragraph, a plotly figure and/or a table."""

    heading: str
    text: str = ""
    figure: Any = None  # a plotly Figure
    table: tuple[tuple[str, ...], ...] = field(default=())  # header row first
    click_highlight: bool = False  # clicking a point rings it and shows its details


def _go() -> Any:
    """plotly.graph_objects, or one line saying how to install it."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        raise InputError(
            "HTML reports need plotly: pip install 'splitexit[reports]' (or plotly)"
        ) from None
    return go


def _hover(points: Sequence[PointInfo]) -> tuple[list[list[str]], str]:
    data = [
        [
            p.name,
            p.threshold,
            p.partition,
            p.placement,
            f"{p.compute_ms:.3g}",
            f"{p.transmission_ms:.3g}",
            f"{p.propagation_ms:.3g}",
        ]
        for p in points
    ]
    template = (
        "<b>%{customdata[0]}</b><br>T = %{customdata[1]}<br>P = %{customdata[2]}"
        "<br>A = %{customdata[3]}<br>accuracy %{y:.2f}%<br>latency %{x:.3g} ms"
        "<br>compute %{customdata[4]} ms<br>transmission %{customdata[5]} ms"
        "<br>propagation %{customdata[6]} ms<extra></extra>"
    )
    return data, template


@validate_params({"info": [InstanceOf(ParetoPlotInfo)]})
def pareto_figure(info: ParetoPlotInfo) -> Any:
    """The interactive Pareto plot: samples, frontier, baselines, the recommendation."""
    go = _go()
    fig = go.Figure()
    rng = np.random.default_rng(0)
    total = info.sample_latency_ms.size
    keep = np.sort(rng.choice(total, _MAX_SAMPLES, replace=False)) if total > _MAX_SAMPLES else None
    lat = info.sample_latency_ms if keep is None else info.sample_latency_ms[keep]
    acc = info.sample_accuracy_pct if keep is None else info.sample_accuracy_pct[keep]
    parts = info.sample_partitions if keep is None else info.sample_partitions[keep]
    for num_parts in np.unique(parts):
        mask = parts == num_parts
        fig.add_trace(
            go.Scatter(
                x=lat[mask],
                y=acc[mask],
                mode="markers",
                marker={"size": 3, "opacity": 0.35},
                name=f"L = {num_parts} (sampled)",
                hoverinfo="skip",
            )
        )
    data, template = _hover(info.frontier)
    fig.add_trace(
        go.Scatter(
            x=[p.latency_ms for p in info.frontier],
            y=[p.accuracy_pct for p in info.frontier],
            mode="lines+markers",
            line={"shape": "hv", "color": "black", "width": 1.2},
            marker={"size": 6, "color": "black"},
            name="Pareto frontier",
            uid="frontier",  # the SVG group's class names it: trace scatter tracefrontier
            customdata=data,
            hovertemplate=template,
        )
    )
    markers = ("square-open", "diamond-open", "triangle-up-open", "triangle-down-open")
    for k, point in enumerate(info.baseline_points):
        data, template = _hover([point])
        fig.add_trace(
            go.Scatter(
                x=[point.latency_ms],
                y=[point.accuracy_pct],
                mode="markers",
                marker={"symbol": markers[k % len(markers)], "size": 10 + 3 * k, "color": "gray"},
                name=point.name,
                customdata=data,
                hovertemplate=template,
            )
        )
    if info.recommended is not None:
        data, template = _hover([info.recommended])
        fig.add_trace(
            go.Scatter(
                x=[info.recommended.latency_ms],
                y=[info.recommended.accuracy_pct],
                mode="markers",
                marker={"symbol": "star", "size": 18, "color": "red"},
                name="recommended",
                customdata=data,
                hovertemplate=template,
            )
        )
    if info.requirement is not None:
        kind, value = info.requirement
        if kind == "accuracy":
            fig.add_hline(y=value, line_dash="dash", line_color="gray")
        else:
            fig.add_vline(x=value, line_dash="dash", line_color="gray")
    fig.update_layout(
        title=f"{info.title}: {info.configurations_evaluated:,} configurations",
        xaxis_title="expected end-to-end latency (ms)",
        yaxis_title="estimated accuracy (%)",
        xaxis_type="log" if info.log_latency else "linear",
        template="plotly_white",
        height=560,
    )
    return fig


@validate_params({"info": [InstanceOf(FidelityInfo)]})
def fidelity_figure(info: FidelityInfo) -> Any:
    """Predicted against measured mean and p99 latency, per model, with y = x."""
    go = _go()
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=("mean latency", "p99 latency"))
    for col, stat in ((1, 0), (2, 3)):
        every: list[float] = []
        for model in info.models:
            rows = [r for r in info.rows if model in r.predicted_ms]
            x = [r.measured_ms[stat] for r in rows]
            y = [r.predicted_ms[model][stat] for r in rows]
            every += x + y
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="markers",
                    name=model,
                    legendgroup=model,
                    showlegend=col == 1,
                    text=[r.label for r in rows],
                    hovertemplate="%{text}<br>measured %{x:.3g} ms<br>predicted %{y:.3g} ms",
                ),
                row=1,
                col=col,
            )
        if every:
            lo, hi = min(every) * 0.9, max(every) * 1.1
            fig.add_trace(
                go.Scatter(
                    x=[lo, hi],
                    y=[lo, hi],
                    mode="lines",
                    line={"color": "black", "width": 1},
                    name="y = x",
                    showlegend=col == 1,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="measured (ms)", row=1, col=col)
        fig.update_yaxes(title_text="predicted (ms)", row=1, col=col)
    fig.update_layout(template="plotly_white", height=480)
    return fig


@validate_params({"info": [InstanceOf(ParetoPlotInfo)], "heading": [InstanceOf(str)]})
def pareto_section(info: ParetoPlotInfo, heading: str = "Latency and accuracy") -> HtmlSection:
    """The Pareto plot as a section; clicking a point highlights it."""
    rec = info.recommended
    text = (
        ""
        if rec is None
        else f"Recommended: T = {rec.threshold}, P = {rec.partition}, A = {rec.placement}: "
        f"{rec.latency_ms:.3g} ms, {rec.accuracy_pct:.2f}% accuracy."
    )
    return HtmlSection(heading, text=text, figure=pareto_figure(info), click_highlight=True)


@validate_params({"info": [InstanceOf(FidelityInfo)], "heading": [InstanceOf(str)]})
def fidelity_section(
    info: FidelityInfo, heading: str = "Predicted against measured"
) -> HtmlSection:
    """The predicted-against-measured plot and the error table as a section."""
    header = ("model", "mean APE", "max mean APE", "p99 APE", "max p99 APE", "meets targets")
    rows = tuple(
        (
            e.model,
            f"{e.mean_ape:.1%}",
            f"{e.max_mean_ape:.1%}",
            f"{e.p99_ape:.1%}",
            f"{e.max_p99_ape:.1%}",
            "yes" if e.meets_targets else "no",
        )
        for e in info.errors
    )
    return HtmlSection(heading, figure=fidelity_figure(info), table=(header, *rows))


@validate_params(
    {
        "heading": [InstanceOf(str)],
        "labels": [InstanceOf(list, tuple)],
        "values": [InstanceOf(list, tuple)],
        "ylabel": [InstanceOf(str)],
        "table": [InstanceOf(tuple)],
    }
)
def bar_section(
    heading: str,
    labels: Sequence[str],
    values: Sequence[float],
    ylabel: str,
    table: tuple[tuple[str, ...], ...] = (),
) -> HtmlSection:
    """One bar per label (e.g. images per second per method) with hover, and a table."""
    go = _go()
    fig = go.Figure(
        go.Bar(x=list(labels), y=list(values), hovertemplate="%{x}: %{y:.3g}<extra></extra>")
    )
    fig.update_layout(yaxis_title=ylabel, template="plotly_white", height=440)
    return HtmlSection(heading, figure=fig, table=table)


_CLICK_JS = """
var gd = document.getElementById('{plot_id}');
gd.on('plotly_click', function (ev) {
  var p = ev.points[0];
  var info = document.getElementById('{plot_id}-clicked');  // after the plot in the page
  var ring = {x: [p.x], y: [p.y], mode: 'markers', name: 'clicked', hoverinfo: 'skip',
    marker: {size: 22, color: 'rgba(0,0,0,0)', line: {color: 'orange', width: 3}}};
  var last = gd.data.length - 1;
  if (gd.data[last].name === 'clicked') { Plotly.deleteTraces(gd, last); }
  Plotly.addTraces(gd, ring);
  var c = p.customdata;
  info.textContent = c ? (c[0] + ': T = ' + c[1] + ', P = ' + c[2] + ', A = ' + c[3] +
    ', accuracy ' + p.y.toFixed(2) + '%, latency ' + p.x.toPrecision(3) + ' ms') : '';
});
"""

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em}"
    "th{background:#f3f3f3}.clicked{font-family:monospace;color:#a60}"
)


def _table(rows: tuple[tuple[str, ...], ...]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@validate_params({"title": [InstanceOf(str)], "sections": [InstanceOf(list, tuple)]})
def html_page(title: str, sections: Sequence[HtmlSection]) -> str:
    """One self-contained HTML page; plotly.js is embedded once, inline (never a CDN)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    plotly_included = False
    for k, section in enumerate(sections):
        parts.append(f"<h2>{html.escape(section.heading)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        if section.figure is not None:
            plot_id = f"plot{k}"
            parts.append(
                section.figure.to_html(
                    full_html=False,
                    include_plotlyjs=not plotly_included,
                    div_id=plot_id,
                    post_script=_CLICK_JS if section.click_highlight else None,
                )
            )
            plotly_included = True
            if section.click_highlight:
                parts.append(f'<p class="clicked" id="{plot_id}-clicked"></p>')
        if section.table:
            parts.append(_table(section.table))
    parts.append("</body></html>\n")
    return "\n".join(parts)


@validate_params(
    {"path": [PathLike()], "title": [InstanceOf(str)], "sections": [InstanceOf(list, tuple)]}
)
def write_html_report(path: Path, title: str, sections: Sequence[HtmlSection]) -> None:
    """Write :func:`html_page` to ``path`` atomically."""
    atomic_write_text(Path(path), html_page(title, sections))
