from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import scikit_posthocs as sp
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from splitexit.study import (
    LatencyLog,
    Strategy,
    adjust,
    cliffs_delta,
    compute_statistics,
    statistics_from_csv,
    statistics_json,
    study_designs,
    write_statistics,
)
from tests.study.synthetic import synthetic_log


def test_designs_follow_tables_3_and_4() -> None:
    strategies = [Strategy("a", op, t) for op in ("I", "Q", "E", "QE") for t in "MEC"]
    strategies += [Strategy("a", op, t) for op in ("P", "QEP") for t in ("ME", "EC", "MC")]
    designs = study_designs(strategies)
    tier = [
        (d.name, [f"{g.operator}@{g.tiers}" for g in d.groups])
        for d in designs
        if d.dimension == "tier"
    ]
    assert [name for name, _ in tier] == [
        "I across tiers",
        "Q across tiers",
        "E across tiers",
        "QE across tiers",
        "I and P across tiers",
        "QE and QEP across tiers",
    ]
    assert tier[4][1] == ["I@M", "I@E", "I@C", "P@ME", "P@EC", "P@MC"]
    operator = [
        (d.name, [f"{g.operator}@{g.tiers}" for g in d.groups])
        for d in designs
        if d.dimension == "operator"
    ]
    assert operator[1] == ("operators on E", ["I@E", "Q@E", "E@E", "QE@E", "P@ME", "QEP@ME"])
    assert len(operator) == 3


def test_designs_drop_groups_not_measured() -> None:
    designs = study_designs([Strategy("a", "I", "M"), Strategy("a", "Q", "M")])
    assert [(d.name, len(d.groups)) for d in designs] == [("operators on M", 2)]


def test_statistics_equal_scipy_and_scikit_posthocs() -> None:
    log = synthetic_log()
    groups = log.groups()
    result = compute_statistics(log, p_adjust="holm")
    tier_tests = [k for k in result.kruskal if k.design.dimension == "tier"]
    for k in result.kruskal:
        data = [groups[g] for g in k.design.groups]
        direct = st.kruskal(*data)
        assert k.statistic == direct.statistic and k.p_value == direct.pvalue
        raw = sp.posthoc_conover(data).to_numpy()
        holm = sp.posthoc_conover(data, p_adjust="holm").to_numpy()
        pairs = iter(k.pairs)
        for i in range(len(data)):
            for j in range(i + 1, len(data)):
                pair = next(pairs)
                assert (pair.a, pair.b) == (k.design.groups[i], k.design.groups[j])
                assert pair.p_value == raw[i, j] and pair.adjusted_p_value == holm[i, j]
                assert pair.cliffs_delta == cliffs_delta(data[i], data[j])
                assert pair.speedup == np.median(data[i]) / np.median(data[j])
    family = [k.p_value for k in tier_tests]
    assert [k.adjusted_p_value for k in tier_tests] == list(multipletests(family, method="holm")[1])
    for t in result.normality:
        direct_sw = st.shapiro(groups[t.strategy])
        assert (t.statistic, t.p_value) == (direct_sw.statistic, direct_sw.pvalue)
        osm, osr = st.probplot(groups[t.strategy], dist="norm")[0]
        assert t.qq_theoretical == tuple(osm) and t.qq_ordered == tuple(osr)


def test_statistics_known_differences_are_found() -> None:
    result = compute_statistics(synthetic_log())
    by_name = {k.design.name: k for k in result.kruskal}
    identity = by_name["I across tiers"]
    assert identity.significant and identity.p_value is not None and identity.p_value < 1e-6
    pair = {(p.a.tiers, p.b.tiers): p for p in identity.pairs}[("M", "E")]
    assert pair.significant and pair.magnitude == "large" and pair.cliffs_delta > 0
    assert pair.speedup == pytest.approx(2.0, rel=0.1)  # E is about twice as fast as M


def test_statistics_bonferroni_is_selectable() -> None:
    log = synthetic_log()
    holm = compute_statistics(log, p_adjust="holm")
    bonf = compute_statistics(log, p_adjust="bonferroni")
    data = [log.groups()[g] for g in bonf.kruskal[0].design.groups]
    direct = sp.posthoc_conover(data, p_adjust="bonferroni").to_numpy()
    assert bonf.kruskal[0].pairs[0].adjusted_p_value == direct[0, 1]
    pairs = zip(holm.kruskal[0].pairs, bonf.kruskal[0].pairs, strict=True)
    gaps = [b.adjusted_p_value - h.adjusted_p_value for h, b in pairs]  # type: ignore[operator]
    assert min(gaps) >= 0 and max(gaps) > 0  # Bonferroni is never below Holm, here above
    with pytest.raises(ValueError, match="p_adjust must be holm or bonferroni"):
        compute_statistics(log, p_adjust="fdr")


def test_statistics_constant_groups_give_nulls_not_nan() -> None:
    log = LatencyLog()
    for tiers in "ME":
        log.add(Strategy("a", "I", tiers), 1, range(4), [1.0] * 4)
    result = compute_statistics(log)
    assert result.kruskal[0].statistic is None and not result.kruskal[0].significant
    assert result.normality[0].normal is None
    text = json.dumps(statistics_json(result), allow_nan=False)
    assert "NaN" not in text


def test_adjust_matches_statsmodels_and_keeps_nan() -> None:
    p = [0.01, 0.02, 0.03]
    assert adjust(p, "holm") == list(multipletests(p, method="holm")[1])
    out = adjust([0.01, math.nan], "bonferroni")
    assert out[0] == 0.01 and math.isnan(out[1])


def test_statistics_recomputed_from_csv_equal_direct_calls(tmp_path: Path) -> None:
    log = synthetic_log(subjects=("a", "b"), repetitions=2, samples=12)
    path = tmp_path / "latencies.csv"
    log.write(path)
    again = statistics_from_csv(path, p_adjust="bonferroni")
    assert statistics_json(again) == statistics_json(compute_statistics(log, p_adjust="bonferroni"))
    # and against scipy / scikit-posthocs on the columns of the file itself
    import csv

    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for k in again.kruskal:
        data = [
            np.array(
                [
                    float(r["latency_s"])
                    for r in rows
                    if (r["subject"], r["operator"], r["tiers"]) == (g.subject, g.operator, g.tiers)
                ]
            )
            for g in k.design.groups
        ]
        assert k.statistic == st.kruskal(*data).statistic
        assert (
            k.pairs[0].adjusted_p_value
            == sp.posthoc_conover(data, p_adjust="bonferroni").to_numpy()[0, 1]
        )


def test_statistics_json_is_finite_and_complete(tmp_path: Path) -> None:
    result = compute_statistics(synthetic_log())
    path = tmp_path / "statistics.json"
    write_statistics(result, path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == "splitexit.statistics/1" and data["p_adjust"] == "holm"
    assert "pooled" in data["median"]
    for test in data["shapiro_wilk"] + data["kruskal_wallis"]:
        assert {"statistic", "p_value", "adjusted_p_value"} <= set(test)
    for k in data["kruskal_wallis"]:
        for c in k["conover"]:
            assert {"statistic", "p_value", "adjusted_p_value", "cliffs_delta"} <= set(c)
