"""Planning over operator variants (I, Q, E, QE, ...): one frontier and one answer over
(variant, T, P, A), equal to scanning every configuration of every variant."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from splitexit import InputError, Profile, plan, random_profile
from splitexit.cli import run
from splitexit.errors import InfeasibleError
from splitexit.planner.reference import reference_variant_frontier, reference_variant_optimum
from tests.helpers import profile_from, random_topology, seeds, tiny_topology


def _one_block(compute_s: float, accuracy: float, operator: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "splitexit.profile/1",
        "model": f"m-{operator}",
        "dataset": "toy",
        "num_classes": 10,
        "input_bits": 8000,
        "result_bits": 8,
        "thresholds": [1.0],
        "blocks": [{"name": "all", "output_bits": 8, "compute_s": compute_s}],
        "branches": [{"compute_s": 0.0, "accuracy": accuracy}],
        "exit_rates": [[1.0]],
    }
    if operator is not None:
        data["onnx"] = {
            "path": "m.onnx", "sha256": "0" * 64, "cuts": [], "input_shapes": {"x": [1, 8]},
            "operator": operator,
        }  # fmt: skip
    return data


# By hand: t0 is source and destination (R = 10), t1 is R = 1 behind a 1 Mbit/s link, so
# on t1 a variant pays 8000 bits / 1e6 = 8 ms of input transfer and 8 us for the 8-bit
# result. Latencies (ms):
#   I (1.0 ms, 99.0%):  t0 10.0, t1 9.008    Q (0.4 ms, 98.5%): t0 4.0, t1 8.408
#   E (0.3 ms, 95.0%):  t0  3.0, t1 8.308
VARIANTS = {"I": (1e-3, 0.99), "Q": (4e-4, 0.985), "E": (3e-4, 0.95)}
TOPOLOGY = tiny_topology([10.0, 1.0], [1e6], [0.0])


def _hand() -> dict[str, Profile]:
    return {k: profile_from(_one_block(c, a)) for k, (c, a) in VARIANTS.items()}


@pytest.mark.parametrize(
    ("requirement", "variant", "tier", "latency_ms"),
    [
        ({"min_accuracy": 0.0}, "E", 0, 3.0),  # fastest of all
        ({"min_accuracy": 0.98}, "Q", 0, 4.0),  # within 1 point of I's 99%
        ({"min_accuracy": 0.99}, "I", 1, 9.008),  # I's accuracy: only I reaches it
        ({"max_latency_s": 3.5e-3}, "E", 0, 3.0),  # only E fits 3.5 ms
        ({"max_latency_s": 8.9e-3}, "Q", 0, 4.0),  # I needs 9 ms: Q is the most accurate
        ({"max_latency_s": 9.5e-3}, "I", 1, 9.008),
    ],
)
def test_hand_worked_variant_wins(
    requirement: dict[str, float], variant: str, tier: int, latency_ms: float
) -> None:
    result = plan(_hand(), TOPOLOGY, **requirement)  # type: ignore[arg-type]
    assert result.best.variant == variant
    assert result.best.config.placement == (tier,)
    assert result.best.latency_s == pytest.approx(latency_ms * 1e-3)
    frontier = [(p.variant, p.config.placement, round(p.latency_s * 1e3, 6)) for p in result.pareto]
    assert frontier == [("E", (0,), 3.0), ("Q", (0,), 4.0), ("I", (1,), 9.008)]
    assert result.variants == ("I", "Q", "E")
    assert result.to_dict()["best"]["variant"] == variant


def test_default_requirement_is_taken_over_the_union() -> None:
    # best accuracy over all variants is I's 99%: within 1 point, Q at 4 ms
    result = plan(_hand(), TOPOLOGY)
    assert result.requirement.kind == "near_best_accuracy"
    assert result.requirement.value == pytest.approx(0.98)
    assert result.best.variant == "Q"


def test_exact_ties_go_to_the_variant_given_first() -> None:
    same = profile_from(_one_block(4e-4, 0.985))
    for order in (("A", "B"), ("B", "A")):
        result = plan({order[0]: same, order[1]: same}, TOPOLOGY, min_accuracy=0.9)
        assert result.best.variant == order[0]
        assert [p.variant for p in result.pareto] == [order[0]]


def test_infeasible_names_the_best_over_all_variants() -> None:
    with pytest.raises(InfeasibleError, match=r"best achievable is 99\.00%"):
        plan(_hand(), TOPOLOGY, min_accuracy=0.995)
    with pytest.raises(InfeasibleError, match="fastest takes 3 ms"):
        plan(_hand(), TOPOLOGY, max_latency_s=1e-3)


def test_variants_must_share_the_input() -> None:
    other = _one_block(1e-3, 0.9)
    other["input_bits"] = 16000
    with pytest.raises(InputError, match="16000 input bits"):
        plan({"I": profile_from(_one_block(1e-3, 0.99)), "Q": profile_from(other)}, TOPOLOGY)
    with pytest.raises(InputError, match="P is not a variant"):
        plan({"I": profile_from(_one_block(1e-3, 0.99)), "P": profile_from(other)}, TOPOLOGY)


def _variants(seed: int) -> tuple[dict[str, Profile], Any]:
    rng = np.random.default_rng(seed)
    n_tiers = int(rng.integers(2, 5))
    nt = int(rng.integers(1, 4))
    out: dict[str, Profile] = {}
    for k, label in enumerate(("I", "Q", "E")[: int(rng.integers(2, 4))]):
        profile = random_profile(int(rng.integers(1, 7)), num_thresholds=nt, seed=seed * 7 + k)
        # one model on one input; Q a scaled copy of I when seed is even (exact ties in accuracy)
        profile = Profile(**{**profile.__dict__, "input_bits": 4096.0, "num_classes": 10})
        if label == "Q" and seed % 2 == 0:
            first = out["I"]
            profile = Profile(**{**first.__dict__, "block_compute_s": first.block_compute_s / 2})
        out[label] = profile
    return out, random_topology(n_tiers, seed=seed)


@pytest.mark.parametrize("seed", seeds(range(12), slow={4, 5, 7, 8}))
def test_exact_equals_enumeration_across_variants(seed: int) -> None:
    profiles, topology = _variants(seed)
    expected = reference_variant_frontier(profiles, topology)
    for solver in ("exact", "enumerate"):
        result = plan(profiles, topology, solver=solver, estimator="paper")  # type: ignore[arg-type]
        got = [(p.variant, p.config.partition, p.config.placement) for p in result.pareto]
        assert got == [(label, e[0].partition, e[0].placement) for _, label, e in expected]
    picks = {0, len(expected) // 2, len(expected) - 1}
    for i in sorted(picks):
        _, _, (_, latency, accuracy, _) = expected[i]
        for kwargs in ({"min_accuracy": accuracy}, {"max_latency_s": latency * 1.01}):
            want = reference_variant_optimum(profiles, topology, **kwargs)  # type: ignore[arg-type]
            assert want is not None
            for solver in ("exact", "enumerate"):
                best = plan(profiles, topology, solver=solver, estimator="paper", **kwargs).best  # type: ignore[arg-type]
                assert best.variant == want[1], (solver, kwargs)
                assert best.config.partition == want[2][0].partition, (solver, kwargs)
                assert best.config.placement == want[2][0].placement, (solver, kwargs)


# -- the CLI ------------------------------------------------------------------------------


def _write(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_cli_plans_over_labelled_profiles(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topo = tmp_path / "t.yaml"
    topo.write_text(json.dumps(TOPOLOGY_MAPPING))
    i = _write(tmp_path / "i.json", _one_block(1e-3, 0.99, "I"))
    q = _write(tmp_path / "q.json", _one_block(4e-4, 0.985))  # labelled on the command line
    e = _write(tmp_path / "e.json", _one_block(3e-4, 0.95, "E"))
    out = tmp_path / "plan.json"
    argv = ["plan", "--profile", i, "--profile", f"Q={q}", "--profile", e, "--topology", str(topo)]
    assert run([*argv, "--min-accuracy", "98%", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "variant Q" in printed and "operator variants" in printed
    assert "variants I, Q, E" in printed  # the header names the variants, not one model
    data = json.loads(out.read_text())
    assert data["best"]["variant"] == "Q" and data["best"]["placement"] == ["t0"]
    assert [p["variant"] for p in data["pareto"]] == ["E", "Q", "I"]
    assert [v["variant"] for v in data["variants"]] == ["I", "Q", "E"]


TOPOLOGY_MAPPING = {
    "name": "tiny",
    "tiers": [{"name": "t0", "compute_ratio": 10}, {"name": "t1", "compute_ratio": 1}],
    "links": [{"bandwidth": 1e6, "latency": 0}],
}


@pytest.mark.parametrize(
    ("case", "text"),
    [
        ("same-label", "variant I is given twice"),
        ("unlabelled", "names no operator variant"),
        ("other-input", "variants must be versions of one model on one input"),
        ("partitioned", "P is not a variant: it is I partitioned"),
    ],
)
def test_cli_bad_variants_one_line_exit_2(
    case: str, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    i = _write(tmp_path / "i.json", _one_block(1e-3, 0.99, "I"))
    bare = _write(tmp_path / "bare.json", _one_block(1e-3, 0.99))
    wide = _one_block(1e-3, 0.99, "Q")
    wide["input_bits"] = 16000
    other = _write(tmp_path / "wide.json", wide)
    second = {
        "same-label": f"I={bare}",
        "unlabelled": bare,
        "other-input": other,
        "partitioned": f"P={bare}",
    }[case]
    out = tmp_path / "plan.json"
    code = run(["plan", "--profile", i, "--profile", second, "--json", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and text in err[0], err
    assert not out.exists()
