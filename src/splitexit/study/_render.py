"""The study report: ``report.md`` (figures beside it in ``figures/``) and a self-contained
``report.html`` (the same figures embedded as base64 PNG, no network). Both are rendered
from one list of blocks built from :class:`StudyReportInfo`.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

from splitexit._boundary import atomic_write_bytes, atomic_write_text
from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.study._figures import box_png, qq_png
from splitexit.study._report_info import StudyReportInfo

__all__ = ["ReportFiles", "report_blocks", "write_report"]

Table = tuple[tuple[str, ...], list[tuple[str, ...]]]


@dataclass(frozen=True)
class Block:
    kind: str  # "heading", "text", "table" or "figure"
    text: str = ""
    table: Table | None = None
    png: bytes = b""


@returned_type
@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path
    figures: tuple[Path, ...]


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _tables_blocks(info: StudyReportInfo) -> list[Block]:
    s = info.stats
    blocks = [
        Block("heading", "Latency per strategy"),
        Block("text", info.median_definition),
        Block(
            "table",
            table=(
                (
                    "subject",
                    "operator",
                    "tiers",
                    "n",
                    "median (s)",
                    "p99 (s)",
                    "Shapiro-Wilk p (adj.)",
                    "normal",
                ),
                [
                    (
                        m.strategy.subject,
                        m.strategy.operator,
                        m.strategy.tiers,
                        str(m.n),
                        _num(m.median_s, 4),
                        _num(m.p99_s, 4),
                        _num(t.adjusted_p_value),
                        {True: "yes", False: "no", None: "n/a"}[t.normal],
                    )
                    for m, t in zip(s.summaries, s.normality, strict=True)
                ],
            ),
        ),
    ]
    for dim, title in (
        ("tier", "Tier dimension (Table 3)"),
        ("operator", "Operator dimension (Table 4)"),
    ):
        blocks.append(Block("heading", title))
        blocks.append(
            Block(
                "text",
                "Cell (row, column): Cliff's delta of the row against the "
                "column when Conover (adjusted p < alpha) finds a difference; "
                "positive: the column is faster; N/S/M/L: negligible, small, "
                "medium, large.",
            )
        )
        for t in (t for t in info.tables if t.dimension == dim):
            blocks.append(
                Block(
                    "text",
                    f"**{t.title}**: Kruskal-Wallis H = {_num(t.statistic)}, "
                    f"p = {_num(t.p_value)}, adjusted p = {_num(t.adjusted_p_value)}",
                )
            )
            rows = [(label, *row) for label, row in zip(t.labels, t.cells, strict=True)]
            blocks.append(Block("table", table=(("", *t.labels), rows)))
    return blocks


def _accuracy_blocks(info: StudyReportInfo) -> list[Block]:
    blocks = [Block("heading", "Accuracy")]
    if not info.accuracy:
        return [*blocks, Block("text", "No accuracy was measured in this study.")]
    blocks.append(
        Block(
            "table",
            table=(
                ("subject", "operator", "tiers", "metric", "value (%)"),
                [
                    (r.subject, r.operator, r.tiers, r.metric, f"{r.value:.2f}")
                    for r in info.accuracy
                ],
            ),
        )
    )
    blocks.append(
        Block(
            "table",
            table=(
                (
                    "pair",
                    "n",
                    "method",
                    "W",
                    "p",
                    "p (Bonferroni)",
                    "Cliff's delta",
                    "loss (points)",
                ),
                [
                    (
                        f"{w.a}-{w.b}",
                        str(w.n),
                        w.method,
                        _num(w.statistic),
                        _num(w.p_value),
                        _num(w.adjusted_p_value),
                        f"{w.cliffs_delta:.3f} ({w.magnitude})",
                        f"{w.loss_min:.2f} to {w.loss_max:.2f}",
                    )
                    for w in info.stats.wilcoxon
                ],
            ),
        )
    )
    return blocks


def report_blocks(info: StudyReportInfo) -> list[Block]:
    """The report as blocks, figures already rendered to PNG bytes."""
    blocks = [Block("heading", f"Study {info.name}"), Block("text", info.setting)]
    blocks.append(Block("heading", "Our findings beside seed 004's"))
    blocks.append(
        Block(
            "table",
            table=(
                ("seed finding", "seed value", "measured", "verdict", "explanation"),
                [
                    (f.claim, f.seed_value, f.measured, f.verdict, f.explanation)
                    for f in info.findings
                ],
            ),
        )
    )
    blocks += _tables_blocks(info)
    blocks.append(Block("heading", "Box plots"))
    for subject, panels in info.box_by_tier.items():
        blocks.append(Block("figure", f"{subject}: per tier", png=box_png(subject, panels)))
    for subject, panels in info.box_by_operator.items():
        blocks.append(Block("figure", f"{subject}: per operator", png=box_png(subject, panels)))
    blocks.append(Block("heading", "Q-Q plots"))
    for subject, qq in info.qq.items():
        blocks.append(Block("figure", f"{subject}: normal Q-Q", png=qq_png(subject, qq)))
    blocks += _accuracy_blocks(info)
    if info.predictions:
        tau, p = info.kendall
        blocks.append(Block("heading", "Predicted against measured"))
        blocks.append(Block("text", f"Kendall's tau of the medians: {_num(tau)} (p = {_num(p)})"))
        blocks.append(
            Block(
                "table",
                table=(
                    (
                        "strategy",
                        "predicted median (s)",
                        "measured median (s)",
                        "predicted p99 (s)",
                        "measured p99 (s)",
                        "rank predicted",
                        "rank measured",
                    ),
                    [
                        (
                            r.strategy.label,
                            _num(r.predicted_median_s, 4),
                            _num(r.measured_median_s, 4),
                            _num(r.predicted_p99_s, 4),
                            _num(r.measured_p99_s, 4),
                            str(r.predicted_rank),
                            str(r.measured_rank),
                        )
                        for r in info.predictions
                    ],
                ),
            )
        )
    return blocks


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def _markdown(blocks: list[Block], figure_names: list[str]) -> str:
    lines: list[str] = []
    names = iter(figure_names)
    for i, b in enumerate(blocks):
        if b.kind == "heading":
            lines += [("# " if i == 0 else "## ") + b.text, ""]
        elif b.kind == "text":
            lines += [b.text, ""]
        elif b.kind == "table" and b.table is not None:
            header, rows = b.table
            lines.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            lines.append("")
        elif b.kind == "figure":
            lines += [f"![{b.text}](figures/{next(names)})", ""]
    return "\n".join(lines)


def _html(blocks: list[Block], title: str) -> str:
    out = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        "</title><style>body{font-family:sans-serif;max-width:75em;margin:auto}"
        "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #bbb;"
        "padding:2px 6px;font-size:0.9em}img{max-width:100%}</style></head><body>"
    ]
    for i, b in enumerate(blocks):
        if b.kind == "heading":
            tag = "h1" if i == 0 else "h2"
            out.append(f"<{tag}>{html.escape(b.text)}</{tag}>")
        elif b.kind == "text":
            text = html.escape(b.text)
            while "**" in text:  # the one piece of Markdown the blocks use
                text = text.replace("**", "<b>", 1).replace("**", "</b>", 1)
            out.append(f"<p>{text}</p>")
        elif b.kind == "table" and b.table is not None:
            header, rows = b.table
            out.append(
                "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"
            )
            out += [
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in rows
            ]
            out.append("</table>")
        elif b.kind == "figure":
            data = base64.b64encode(b.png).decode("ascii")
            out.append(
                f"<figure><img alt='{html.escape(b.text)}' "
                f"src='data:image/png;base64,{data}'><figcaption>"
                f"{html.escape(b.text)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out)


@validate_params(
    {"info": [InstanceOf("splitexit.study._report_info:StudyReportInfo")], "out_dir": [PathLike()]}
)
def write_report(info: StudyReportInfo, out_dir: Path) -> ReportFiles:
    """Write ``report.md``, ``figures/*.png`` and ``report.html`` under ``out_dir``."""
    blocks = report_blocks(info)
    figures = [b for b in blocks if b.kind == "figure"]
    names = [f"{i:02d}-{_slug(b.text)}.png" for i, b in enumerate(figures, start=1)]
    paths = []
    for name, block in zip(names, figures, strict=True):
        paths.append(out_dir / "figures" / name)
        atomic_write_bytes(paths[-1], block.png)
    markdown, page = out_dir / "report.md", out_dir / "report.html"
    atomic_write_text(markdown, _markdown(blocks, names))
    atomic_write_text(page, _html(blocks, f"Study {info.name}"))
    return ReportFiles(markdown, page, tuple(paths))
