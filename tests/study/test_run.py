from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import pytest
import yaml

from splitexit.study import (
    AccuracyRow,
    Strategy,
    load_study,
    run_study,
    statistics_from_csv,
    statistics_json,
    study_schedule,
)
from tests.study.synthetic import latency


class FakeExecutor:
    """Synthetic latencies with known differences; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Strategy, int]] = []
        self.runs: dict[Strategy, int] = {}

    def restart(self, strategy: Strategy) -> None:
        self.calls.append(("restart", strategy, 0))

    def run_strategy(self, strategy: Strategy, samples: Sequence[int]) -> list[float]:
        self.calls.append(("run", strategy, len(samples)))
        self.runs[strategy] = self.runs.get(strategy, 0) + 1
        return [latency(strategy, s, self.runs[strategy]) for s in samples]


def _study(tmp_path: Path, **overrides: object) -> Path:
    data = {
        "schema": "splitexit.study/1",
        "name": "tiny",
        "subjects": [{"name": "a", "model": "resnet20-fashion-mnist"}],
        "operators": ["I", "Q", "P"],
        "repetitions": 3,
        "warmup": 4,
        "inferences": 10,
        "samples": {"count": 5},
    } | overrides
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.slow
def test_run_study_end_to_end_with_a_fake_executor(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path))
    executor = FakeExecutor()
    backend = matplotlib.get_backend()
    accuracy = [
        AccuracyRow("a", op, t, "top1", 90.0 - 0.1 * (i + 1) * (op == "Q") - i)
        for op in ("I", "Q")
        for i, t in enumerate("MEC")
    ]
    result = run_study(
        study,
        tmp_path / "out",
        executor,
        accuracy=accuracy,
        input_sizes={"a": [1, 9, 3, 8, 7, 2, 6, 5]},
    )
    assert matplotlib.get_backend() == backend
    # protocol: 9 strategies x 3 repetitions, interleaved, restart + warm-up before each block
    restarts = [c for c in executor.calls if c[0] == "restart"]
    runs = [c for c in executor.calls if c[0] == "run"]
    assert len(restarts) == 27 and len(runs) == 54
    assert [c[2] for c in runs[:2]] == [4, 10]
    assert result.events == 27 * 3
    # files
    assert sorted(p.name for p in result.out.iterdir()) == [
        ".splitexit-output",
        "figures",
        "latencies.csv",
        "report.html",
        "report.md",
        "statistics.json",
    ]
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []
    with result.latencies.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 9 * 3 * 10
    assert {r["sample"] for r in rows} == {"1", "3", "4", "6", "7"}  # the 5 largest inputs
    assert rows[0]["subject"] == "a" and rows[0]["tiers"] == "M" and rows[0]["repetition"] == "1"
    # statistics: E clearly fastest for I, found and sized
    stats = result.statistics
    identity = next(k for k in stats.kruskal if k.design.name == "I across tiers")
    assert identity.significant
    me = next(p for p in identity.pairs if (p.a.tiers, p.b.tiers) == ("M", "E"))
    assert me.significant and me.magnitude == "large"
    data = json.loads(result.statistics_path.read_text(encoding="utf-8"))
    assert data == statistics_json(statistics_from_csv(result.latencies, accuracy=accuracy))
    assert data["wilcoxon"][0]["method"] == "exact" and data["wilcoxon"][0]["p_value"] == 2 / 2**3
    report = result.report.markdown.read_text(encoding="utf-8")
    assert "Our findings beside seed 004's" in report and "a: E" in report


def test_run_study_accepts_a_plain_function_and_randomized_order(tmp_path: Path) -> None:
    study = load_study(
        _study(tmp_path, order={"kind": "randomized", "seed": 5}, operators=["I"], warmup=0)
    )
    seen: list[Strategy] = []

    def run(strategy: Strategy, samples: Sequence[int]) -> list[float]:
        seen.append(strategy)
        return [latency(strategy, s, 1) for s in samples]

    result = run_study(study, tmp_path / "out", run)
    assert len(seen) == 9 and seen != sorted(seen, key=lambda s: "MEC".index(s.tiers))
    assert result.statistics.kruskal[0].significant


def test_run_study_failing_executor_leaves_no_folder(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, operators=["I"]))

    def broken(strategy: Strategy, samples: Sequence[int]) -> list[float]:
        return [0.1]  # one latency for many samples

    with pytest.raises(ValueError, match="1 latencies for 10 samples"):
        run_study(study, tmp_path / "out", broken)
    assert not (tmp_path / "out").exists()


def test_study_schedule_without_sizes_takes_the_first_samples(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, operators=["I"], inferences=5))
    measures = [e for e in study_schedule(study) if e.kind == "measure"]
    assert measures[0].samples == (0, 1, 2, 3, 4) and len(measures) == 9


def test_extra_strategies_join_the_protocol_after_the_study_cells(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, operators=["I"], repetitions=2))
    extra = Strategy("a", "I/3", "EM")
    events = study_schedule(study, None, [extra, extra, Strategy("a", "I", "E")])
    measured = [(e.strategy, e.repetition) for e in events if e.kind == "measure"]
    cells = [Strategy("a", "I", t) for t in "MEC"]
    # interleaved: repetition r of every strategy, the extra one last; no duplicates
    assert measured == [(s, r) for r in (1, 2) for s in [*cells, extra]]
    restarts = [e.strategy for e in events if e.kind == "restart"]
    assert restarts.count(extra) == 2  # restarted and warmed up like every strategy


def test_run_study_interrupted_at_the_end_leaves_no_folder_and_no_staging(tmp_path: Path) -> None:
    study = load_study(_study(tmp_path, operators=["I"], inferences=5))
    before = sorted(p.name for p in tmp_path.iterdir())

    def interrupted(staged: object) -> None:  # Ctrl-C while the report is being finished
        raise KeyboardInterrupt

    def run(strategy: Strategy, samples: Sequence[int]) -> list[float]:
        return [latency(strategy, s, 1) for s in samples]

    with pytest.raises(KeyboardInterrupt):
        run_study(study, tmp_path / "out", run, finish=interrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_run_study_refuses_a_folder_of_the_users_before_running(tmp_path: Path) -> None:
    from splitexit.errors import InputError

    study = load_study(_study(tmp_path, operators=["I"]))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    calls: list[Strategy] = []

    def run(strategy: Strategy, samples: Sequence[int]) -> list[float]:
        calls.append(strategy)
        return [0.1] * len(samples)

    with pytest.raises(InputError, match="not an earlier output of `splitexit study`"):
        run_study(study, mine, run)
    assert calls == [] and (mine / "notes.txt").read_text() == "keep\n"
