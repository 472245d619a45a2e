"""The study's use of the planner: a planner configuration mapped to a study strategy (or an
extra one), and the recommendations checked against measured latencies."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from splitexit.configuration import Configuration
from splitexit.profile import Profile
from splitexit.study import Strategy, study_from_mapping
from splitexit.study._planned import (
    PlannerPick,
    pick_strategy,
    plan_study,
    staircase_best,
    staircase_point,
    strategy_configuration,
)
from splitexit.study._recommend import check_picks, repetition_medians, within_noise
from splitexit.study._spec import Study
from tests.helpers import profile_from
from tests.study.test_executor import tiny_model

CUTS = [["r1"], ["r2"], ["f"]]  # 4 blocks: conv-relu | conv-relu | flatten | gemm


def _study(tmp_path: Path, strategies: list[dict[str, Any]] | None = None) -> Study:
    tiny_model(tmp_path / "tiny.onnx")
    data: dict[str, Any] = {
        "schema": "splitexit.study/1",
        "subjects": [{"name": "tiny", "onnx": "tiny.onnx"}],
        "operators": ["I", "Q", "E", "P", "QE", "QEP"],
    }
    if strategies is not None:
        data["strategies"] = strategies
    return study_from_mapping(data, source="s.yaml", base_dir=tmp_path)


def _profile(operator: str) -> Profile:
    return profile_from(
        {
            "format": "splitexit.profile/1",
            "model": operator, "dataset": "d", "num_classes": 3,
            "input_bits": 512, "result_bits": 96, "thresholds": [1.0],
            "blocks": [
                {"name": f"segment {k + 1}", "output_bits": 256, "compute_s": 1e-4}
                for k in range(4)
            ],
            "branches": [{"compute_s": 0.0, "accuracy": a} for a in (0, 0, 0, 0.9)],
            "exit_rates": [[0, 0, 0, 1]],
            "onnx": {
                "path": "m.onnx", "sha256": "0" * 64, "cuts": CUTS,
                "input_shapes": {"input": [1, 1, 4, 4]}, "operator": operator,
            },
        }
    )  # fmt: skip


STUDY_CUTS = {"P": ("r1",), "QEP": ("r2",)}


@pytest.mark.parametrize(
    ("variant", "partition", "placement", "operator", "tiers", "extra"),
    [
        ("Q", (3,), (1,), "Q", "E", False),  # Q on edge = Q@E
        ("I", (3,), (2,), "I", "C", False),
        ("I", (0, 3), (0, 1), "P", "ME", False),  # I cut at the study's P cut over M, E
        ("I", (0, 3), (1, 2), "P", "EC", False),
        ("QE", (1, 3), (0, 2), "QEP", "MC", False),  # QE cut at the QEP cut
        ("I", (1, 3), (0, 1), "I/2", "ME", True),  # another cut
        ("I", (0, 3), (1, 0), "I/1", "EM", True),  # the study's cut, tiers the other way
        ("QE", (0, 3), (0, 1), "QE/1", "ME", True),  # the P cut is not QEP's
        ("E", (0, 3), (0, 1), "E/1", "ME", True),  # E has no partitioned operator
        ("I", (0, 1, 3), (0, 1, 2), "I/1/2", "MEC", True),  # three partitions
    ],
)
def test_planner_configuration_to_study_strategy(
    tmp_path: Path,
    variant: str,
    partition: tuple[int, ...],
    placement: tuple[int, ...],
    operator: str,
    tiers: str,
    extra: bool,
) -> None:
    study = _study(tmp_path)
    thresholds = (1.0,) * (len(partition) - 1)
    config = Configuration(partition, placement, thresholds)
    got = pick_strategy(study, "tiny", variant, config, _profile(variant), STUDY_CUTS)
    assert got == (Strategy("tiny", operator, tiers), extra)


def test_a_whole_variant_outside_the_study_cells_is_extra(tmp_path: Path) -> None:
    study = _study(tmp_path, [{"operator": "I", "tiers": ["M"]}])
    config = Configuration((3,), (1,))
    assert pick_strategy(study, "tiny", "I", config, _profile("I"), {}) == (
        Strategy("tiny", "I", "E"),
        True,
    )


def test_every_study_strategy_maps_back_to_itself(tmp_path: Path) -> None:
    study = _study(tmp_path)
    profiles = {op: _profile(op) for op in ("I", "Q", "E", "QE")}
    for op, tiers in study.cells:
        strategy = Strategy("tiny", op, tiers)
        found = strategy_configuration(study, strategy, profiles, STUDY_CUTS)
        assert found is not None, strategy
        variant, config = found
        assert variant == {"P": "I", "QEP": "QE"}.get(op, op)
        got = pick_strategy(study, "tiny", variant, config, profiles[variant], STUDY_CUTS)
        assert got == (strategy, False)
    # a P whose cut is not a block boundary of I's profile has no configuration
    unknown = strategy_configuration(study, Strategy("tiny", "P", "ME"), profiles, {"P": ("x",)})
    assert unknown is None


def _pick(kind: str, strategy: Strategy, budget: float | None = None) -> PlannerPick:
    return PlannerPick(
        "m", kind, kind, strategy.operator, (1,), ("edge",), (), 1e-3, 0.99, strategy,
        False, budget,
    )  # fmt: skip


def test_picks_checked_against_the_measured_best() -> None:
    i, q, e, z = (Strategy("m", op, "E") for op in ("I", "Q", "E", "Z"))
    latencies = {
        i: [3.0, 3.1, 3.2], q: [1.0, 1.1, 1.2], e: [2.0, 2.1, 2.2], z: [0.1, 0.2, 0.3],
    }  # fmt: skip
    accuracy = {i: 99.0, q: 98.5, e: 90.0, z: 0.0}  # Z predicts nothing: never "fastest"
    picks = [
        _pick("fastest", e),
        _pick("near_identity", q),
        _pick("budget", i, budget=2.5),  # under 2.5: Q (98.5) beats E (90)
        _pick("budget", q, budget=0.05),  # nothing measured fits: not checked
    ]
    recs = check_picks(picks, latencies, accuracy)
    assert [(r.requirement, r.recommended, r.measured_best) for r in recs] == [
        ("fastest", "m E@E", "m Q@E"),
        ("near_identity", "m Q@E", "m Q@E"),
        ("budget", "m I@E", "m Q@E"),
    ]
    assert [r.confirmed for r in recs] == [False, True, False]
    assert recs[0].delta == 1.0  # every E latency above every Q one
    assert recs[1].planner is not None and recs[1].planner["kind"] == "near_identity"


def test_within_noise_is_the_spread_of_the_best_repetition_medians() -> None:
    a, b = Strategy("m", "Q", "E"), Strategy("m", "QE", "E")
    latencies = {a: [1.00, 1.02, 1.04], b: [1.01, 1.03, 1.05]}  # b's median 1 % above a's
    accuracy = {a: 99.0, b: 98.0}
    # without repetitions the noise is unknown: only the measured best is confirmed
    alone = check_picks([_pick("fastest", b)], latencies, accuracy)
    assert alone[0].measured_best == "m Q@E" and not alone[0].confirmed
    assert alone[0].noise_s is None and alone[0].candidates == 2
    # the best's repetition medians 1.00 and 1.04: a spread of 0.04 covers b's 0.01 excess
    noisy = {a: [1.00, 1.04], b: [1.02, 1.03]}
    recs = check_picks([_pick("fastest", b)], latencies, accuracy, repetitions=noisy)
    assert recs[0].confirmed and recs[0].noise_s == pytest.approx(0.04)
    # the best reproduces to 0.004 s: the 0.01 s excess is outside the noise, however
    # erratic the recommended strategy itself is
    tight = {a: [1.018, 1.022], b: [0.9, 1.2]}
    recs = check_picks([_pick("fastest", b)], latencies, accuracy, repetitions=tight)
    assert not recs[0].confirmed and recs[0].noise_s == pytest.approx(0.004)


def test_within_noise_by_hand() -> None:
    assert within_noise(2.1, 2.0, [1.9, 2.2]) == (True, pytest.approx(0.3))
    assert within_noise(2.5, 2.0, [1.9, 2.2]) == (False, pytest.approx(0.3))
    assert within_noise(2.1, 2.0, [2.0]) == (False, None)
    assert within_noise(2.0, 2.0, [2.0]) == (True, None)


def test_fastest_skips_strategies_at_chance() -> None:
    fast, slow = Strategy("m", "E", "E"), Strategy("m", "I", "E")
    latencies = {fast: [1.0, 1.1], slow: [2.0, 2.1]}
    pick = dataclasses.replace(_pick("fastest", slow), min_accuracy=10.0)  # 10 classes
    recs = check_picks([pick], latencies, {fast: 9.5, slow: 99.0})  # E below chance
    assert recs[0].measured_best == "m I@E" and recs[0].confirmed and recs[0].candidates == 1


def test_repetition_medians_read_from_the_log(tmp_path: Path) -> None:
    path = tmp_path / "latencies.csv"
    rows = ["subject,operator,tiers,repetition,sample,latency_s"]
    rows += [
        f"m,I,E,{r},{k},{v}"
        for r, vs in ((1, (1.0, 3.0, 2.0)), (2, (5.0, 4.0)))
        for k, v in enumerate(vs)
    ]
    path.write_text("\n".join(rows) + "\n")
    assert repetition_medians(path) == {Strategy("m", "I", "E"): [2.0, 4.5]}


QUOTAS = {"mobile": (1000, 24000), "edge": (1000, 12000)}  # the runtime's quota_for(24, 12)


def _fast(operator: str) -> Profile:
    """A profile light enough (4 x 10 us) that compute x ratio puts it on the edge, where
    the CFS staircase takes a whole 12 ms period."""
    profile = _profile(operator)
    return dataclasses.replace(profile, block_compute_s=profile.block_compute_s / 10)


def _known(study: Study, profiles: dict[str, Profile]) -> list[Any]:
    from splitexit.perfmodel import ModelInputs, estimate

    out = []
    for op, tiers in study.cells:
        found = strategy_configuration(study, Strategy("tiny", op, tiers), profiles, STUDY_CUTS)
        assert found is not None
        variant, config = found
        linear = estimate(ModelInputs.build(profiles[variant], study.topology), config)
        out.append((variant, config, linear))
    return out


def test_staircase_estimates_leave_sleep_mode_alone_and_send_quota_picks_to_the_cloud(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path)
    profiles = {op: _fast(op) for op in ("I", "Q", "E", "QE")}
    known = _known(study, profiles)
    topo = study.topology
    sleep = [staircase_point(v, c, e, profiles[v], topo, {}) for v, c, e in known]
    assert [p.estimate for p in sleep] == [e for _, _, e in known]  # bit for bit
    quota = [staircase_point(v, c, e, profiles[v], topo, QUOTAS) for v, c, e in known]
    requirement = {"min_accuracy": 0.5}
    linear = staircase_best(sleep, requirement)
    assert [topo.tiers[a].name for a in linear.config.placement] == ["edge"]
    staircase = staircase_best(quota, requirement)
    assert [topo.tiers[a].name for a in staircase.config.placement] == ["cloud"]
    assert staircase.estimate == known[quota.index(staircase)][2]  # the cloud is unconfined
    for (_, config, linear_estimate), point in zip(known, quota, strict=True):
        confined = {topo.tiers[a].name for a in config.placement} & set(QUOTAS)
        # one 12 or 24 ms period at least per confined piece, instead of t x ratio (< 1 ms)
        assert (point.latency_s > linear_estimate.latency_s + 0.01) == bool(confined)
    budget = {"max_latency_s": 0.005}  # only the cloud's strategies meet it with quotas
    assert all(
        topo.tiers[a].name == "cloud" for a in staircase_best(quota, budget).config.placement
    )


def test_plan_study_picks_are_the_planners_in_sleep_mode_and_staircase_ones_with_quotas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from splitexit.planner import plan
    from splitexit.study import _planned
    from splitexit.study._variants import Variant

    study = _study(tmp_path, [{"operator": op, "tiers": [t]} for op in "IQ" for t in "MEC"])
    profiles = {op: _fast(op) for op in ("I", "Q", "E", "QE")}
    monkeypatch.setattr(_planned, "_profiles", lambda *args: dict(profiles))
    built = {"tiny": {op: Variant(op, ()) for op in profiles}}
    samples: dict[str, Any] = {"tiny": None}
    sleep = plan_study(study, built, samples, tmp_path)
    assert [p.kind for p in sleep] == ["fastest", "near_identity", "budget"]
    for pick in sleep:  # exactly what splitexit.plan answers (the code before the staircase)
        requirement = (
            {"max_latency_s": pick.budget_s}
            if pick.kind == "budget"
            else {
                "min_accuracy": pick.min_accuracy / 100 + 1e-9 if pick.kind == "fastest" else 0.89
            }
        )
        best = plan(profiles, study.topology, estimator="paper", **requirement).best  # type: ignore[arg-type]
        assert (pick.variant, pick.predicted_s) == (best.variant, best.latency_s)
    assert sleep[0].strategy.tiers == "E"  # compute x ratio: the edge is fastest
    quota = plan_study(study, built, samples, tmp_path, quotas=QUOTAS)
    assert [p.strategy.tiers for p in quota] == ["C", "C", "C"]
