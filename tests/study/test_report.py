from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from splitexit.study import (
    AccuracyRow,
    Prediction,
    Strategy,
    accuracy_tests,
    compute_statistics,
    seed_findings,
    study_report_info,
    write_report,
)
from tests.study.synthetic import synthetic_log


def _accuracy() -> list[AccuracyRow]:
    rows = []
    for t in "MEC":
        rows += [AccuracyRow("a", "I", t, "top1", 90.0), AccuracyRow("a", "Q", t, "top1", 89.8)]
    return rows


def _info():  # type: ignore[no-untyped-def]
    log = synthetic_log()
    stats = compute_statistics(log, wilcoxon=accuracy_tests(_accuracy()))
    predictions = {m.strategy: Prediction(m.median_s * 1.1, m.p99_s) for m in stats.summaries}
    return study_report_info(
        name="t",
        setting="synthetic",
        log=log,
        stats=stats,
        accuracy=_accuracy(),
        predictions=predictions,
    )


def test_report_info_tables_follow_the_seed_style() -> None:
    info = _info()
    table = next(t for t in info.tables if t.title == "a: I across tiers")
    assert table.labels == ("I@M", "I@E", "I@C")
    # E is faster than M: cell (M, E) is positive (the column is faster), (E, M) negative
    assert table.cells[0][1] == "L" and table.cells[1][0] == "-L"
    assert [table.cells[i][i] for i in range(3)] == ["-", "-", "-"]
    assert set(info.box_by_tier) == {"a"} and set(info.box_by_operator) == {"a"}
    assert info.box_by_tier["a"][0].labels == ("I@M", "I@E", "I@C")
    assert len(info.qq["a"]) == 9
    assert info.kendall[0] == 1.0  # predictions proportional to the measured medians


def test_seed_findings_computed_from_data() -> None:
    info = _info()
    findings = {f.claim.split()[0]: f for f in info.findings}
    edge = findings["Identity"]
    assert edge.verdict == "agrees" and edge.measured == "a: E"
    quant = findings["Q"]
    assert quant.verdict == "agrees" and "0.20-0.20 points lost" in quant.measured
    assert "within" in quant.explanation
    assert findings["E"].verdict == "not measured"
    split = findings["Partitioning"]
    assert split.verdict == "agrees" and "EC/ME a: 8." in split.measured


def test_seed_findings_can_disagree() -> None:
    summaries = compute_statistics(synthetic_log()).summaries
    slow_edge = [
        s
        if s.strategy != Strategy("a", "I", "E")
        else type(s)(s.strategy, s.n, 99.0, 99.0, 99.0, 99.0)
        for s in summaries
    ]
    first = seed_findings(slow_edge)[0]
    assert first.verdict == "disagrees" and first.measured == "a: M"
    assert "E 99 s" in first.explanation


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.images: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs)["src"] or "")
            return
        self.tables += tag == "table"
        if tag not in ("meta",):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag


@pytest.mark.slow
def test_write_report_files_are_well_formed(tmp_path: Path) -> None:
    files = write_report(_info(), tmp_path)
    assert files.markdown.is_file() and files.html.is_file() and len(files.figures) >= 3
    for figure in files.figures:
        assert figure.read_bytes().startswith(b"\x89PNG")
    markdown = files.markdown.read_text(encoding="utf-8")
    assert markdown.startswith("# Study t")
    for link in re.findall(r"\]\(figures/([^)]+)\)", markdown):
        assert (tmp_path / "figures" / link).is_file()
    for line in markdown.splitlines():
        if line.startswith("|"):
            assert line.endswith("|")
    assert "| seed finding | seed value | measured | verdict | explanation |" in markdown
    page = files.html.read_text(encoding="utf-8")
    assert "http" not in page  # self-contained: nothing to fetch
    parser = _Parser()
    parser.feed(page)
    assert parser.stack == []
    assert parser.tables >= 5 and len(parser.images) == len(files.figures)
    for src in parser.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
