from __future__ import annotations

from pathlib import Path

import pytest

from splitexit import InputError
from splitexit.spatial import (
    METHODS,
    TABLES,
    OSDSConfig,
    bandwidth_traces,
    bars_info,
    compare,
    group_cluster,
    lines_markdown,
    load_model,
    make_problem,
    merge_records,
    print_comparison,
    render_bars,
    simulate,
    table_markdown,
)

TINY_DDPG = OSDSConfig(episodes=30, learning_starts=10, actor_layers=(16,), critic_layers=(16,))


@pytest.fixture(scope="module")
def comparison():  # type: ignore[no-untyped-def]
    problem = make_problem(load_model("tinycnn"), group_cluster("DC", bandwidth=50e6))
    return problem, compare(problem, osds_config=TINY_DDPG, fast_evaluations=500)


def test_compare_runs_all_nine_methods_on_one_simulator(comparison) -> None:  # type: ignore[no-untyped-def]
    problem, result = comparison
    assert [r.method for r in result.results] == list(METHODS)
    for r in result.results:
        assert r.latency_s == pytest.approx(simulate(problem, r.strategy).latency_s)
        assert 1 <= r.busy_providers <= 4
    assert result.result("fast").ips >= result.result("offload").ips
    data = result.to_dict(problem)
    assert data["bandwidths_mbps"] == [50.0] * 4
    assert data["results"][0]["strategy"]["devices"] == list(problem.cluster.names)


def test_compare_refuses_unknown_methods() -> None:
    problem = make_problem(load_model("tinycnn"), group_cluster("DB", bandwidth=50e6))
    with pytest.raises(InputError, match="unknown method 'hidp'"):
        compare(problem, methods=["offload", "hidp"])


def test_report_infos_and_markdown(comparison, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    problem, result = comparison
    result.notes["case"] = "DC 50Mbps"
    record = result.to_dict(problem)
    info = bars_info([record, record], "t")
    assert info.methods == METHODS and info.groups == ("DC 50Mbps", "DC 50Mbps")
    assert info.values[0][METHODS.index("aofl")] == pytest.approx(result.result("aofl").ips)
    render_bars(info, tmp_path / "bars.png")
    assert (tmp_path / "bars.png").read_bytes()[:4] == b"\x89PNG"
    table = table_markdown([record])
    assert table.count("\n") == 3 and "| DC 50Mbps |" in table
    # DistrEdge and fast are reported apart: each has its own ratios, none mixes them.
    head = table.splitlines()[0]
    assert "DistrEdge/AOFL" in head and "fast/AOFL" in head and "best/AOFL" not in head
    cells = dict(zip(head.split(" | "), table.splitlines()[2].split(" | "), strict=True))
    aofl = result.result("aofl").ips
    assert cells["DistrEdge/AOFL"] == f"{result.result('distredge').ips / aofl:.2f}x"
    assert cells["fast/AOFL"] == f"{result.result('fast').ips / aofl:.2f}x"


def test_compare_notes_say_fast_starts_and_budget(comparison) -> None:  # type: ignore[no-untyped-def]
    problem, result = comparison
    notes = result.to_dict(problem)["notes"]
    assert notes["fast_evaluations"] == 500
    assert "offload" in notes["fast_starts"] and "LC-PSS" in notes["fast_starts"]


def test_print_comparison_ranks_fast_apart(comparison) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console

    _, result = comparison
    console = Console(record=True, width=200)
    print_comparison(result, console)
    text = console.export_text()
    assert "fast (ours, ranked apart)" in text
    assert "simulator evaluations from these starts" in text
    fast_row = next(line for line in text.splitlines() if "fast (ours" in line)
    assert " *" not in fast_row


def test_merge_records_updates_cases_in_table_order(comparison) -> None:  # type: ignore[no-untyped-def]
    problem, result = comparison

    def record(case: str, ips: float) -> dict[str, object]:
        data = result.to_dict(problem)
        data["notes"] = {"case": case}
        data["results"][0]["ips"] = ips
        return data

    old = [record("DB 50Mbps", 1.0), record("DA 50Mbps", 1.0)]
    merged = merge_records("table1", old, [record("DB 50Mbps", 2.0)], source="t.json")
    assert [r["notes"]["case"] for r in merged] == ["DA 50Mbps", "DB 50Mbps"]
    assert merged[1]["results"][0]["ips"] == 2.0
    # A case run again for one method keeps the other methods' results.
    only_fast = record("DA 50Mbps", 0.0)
    only_fast["results"] = [dict(only_fast["results"][-1], ips=9.0)]
    merged = merge_records("table1", merged, [only_fast], source="t.json")
    assert [r["method"] for r in merged[0]["results"]] == list(METHODS)
    assert merged[0]["results"][-1]["ips"] == 9.0 and merged[0]["results"][0]["ips"] == 1.0
    with pytest.raises(InputError, match=r"t\.json: not the JSON of an earlier"):
        merge_records("table1", {"x": 1}, [], source="t.json")


def test_experiment_tables_follow_the_paper() -> None:
    labels = {name: [case.label for case in cases] for name, cases in TABLES.items()}
    assert labels["table1"] == [f"{g} {b}Mbps" for g in ("DA", "DB", "DC") for b in (50, 300)]
    assert labels["table2"][:4] == ["NA nano", "NB nano", "NC nano", "ND nano"]
    assert labels["table3"] == ["LA", "LB", "LC", "LD"]


def test_dynamic_traces_shift_at_20_and_40_minutes() -> None:
    times, traces = bandwidth_traces(seed=1)
    assert traces.shape == (4, 360) and times[-1] == 3590
    assert traces.min() >= 10e6 and traces.max() <= 400e6
    phase = (times // 1200).astype(int)
    means = [traces[0, phase == p].mean() / 1e6 for p in range(3)]
    assert means[0] > 1.5 * means[1] and means[2] > 1.5 * means[1]  # 150, 80, 220 Mbps


def test_lines_markdown_one_row_per_curve() -> None:
    from splitexit.spatial import LinesInfo

    info = LinesInfo("t", "alpha", "ips", ("a", "b"), ((0.0, 1.0), (0.0, 1.0)), ((1, 2), (3, 4)))
    text = lines_markdown(info, "case", "alpha={:g}")
    assert text.splitlines()[0] == "| case | alpha=0 | alpha=1 |"
    assert text.splitlines()[3] == "| b | 3.00 | 4.00 |"
