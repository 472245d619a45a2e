from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from splitexit.errors import InputError
from splitexit.study import load_study, seed_tier_sets, study_from_mapping
from splitexit.topology import load_topology


def _study(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": "splitexit.study/1",
        "subjects": [{"name": "r20", "model": "resnet20-fashion-mnist"}],
        "operators": ["I", "P"],
    }
    data.update(overrides)
    return data


def _write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_study_defaults_follow_the_seed(tmp_path: Path) -> None:
    study = load_study(_write(tmp_path, _study()))
    spec = study.spec
    assert (spec.repetitions, spec.warmup, spec.inferences) == (5, 100, 100)
    assert (spec.samples.count, spec.samples.choice) == (100, "largest")
    assert (spec.order.kind, spec.p_adjust, spec.alpha) == ("interleaved", "holm", 0.05)
    assert study.topology.name == "seed004"
    assert study.cells == (
        ("I", "M"),
        ("I", "E"),
        ("I", "C"),
        ("P", "ME"),
        ("P", "EC"),
        ("P", "MC"),
    )
    assert study.tier_names("EC") == ("edge", "cloud")


def test_study_explicit_strategies_and_options(tmp_path: Path) -> None:
    data = _study(
        operators=["I", "Q", "QEP"],
        strategies=[{"operator": "Q", "tiers": ["E"]}, {"operator": "QEP", "tiers": ["ME"]}],
        repetitions=2,
        warmup=0,
        inferences=7,
        p_adjust="bonferroni",
        order={"kind": "randomized", "seed": 3},
        samples={"count": 4, "choice": "first"},
    )
    study = load_study(_write(tmp_path, data))
    assert study.cells == (("Q", "E"), ("QEP", "ME"))
    assert study.spec.order.seed == 3 and study.spec.p_adjust == "bonferroni"


def test_study_onnx_subject_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "m.onnx").write_bytes(b"x")
    data = _study(subjects=[{"name": "m", "onnx": "m.onnx"}])
    assert load_study(_write(tmp_path, data)).subjects == ("m",)


def test_study_topology_file_relative_to_the_file(tmp_path: Path) -> None:
    topo = {
        "name": "two",
        "tiers": [{"name": "mobile", "compute_ratio": 2}, {"name": "edge", "compute_ratio": 1}],
        "links": [{"bandwidth": "10Mbps", "latency": "0ms"}],
    }
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(topo), encoding="utf-8")
    data = _study(
        operators=["I"], strategies=[{"operator": "I", "tiers": ["M", "E"]}], topology="two.yaml"
    )
    assert load_study(_write(tmp_path, data)).topology.name == "two"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"operators": ["I", "X"]}, "operators[1] must be 'I', 'Q', 'E', 'P', 'QE' or 'QEP'"),
        ({"repetitions": 0}, "repetitions must be greater than or equal to 1, got 0"),
        (
            {"strategies": [{"operator": "P", "tiers": ["M"]}]},
            "its tiers must be one of ME, EC, MC, got 'M'",
        ),
        (
            {"strategies": [{"operator": "Q", "tiers": ["E"]}]},
            "strategies[0].operator Q is not listed in operators (I, P)",
        ),
        ({"subjects": [{"name": "a"}]}, "needs exactly one of onnx or model"),
        (
            {"subjects": [{"name": "a", "onnx": "nope.onnx"}]},
            "subjects[0].onnx 'nope.onnx': no such file",
        ),
        ({"p_adjust": "fdr"}, "p_adjust must be 'holm' or 'bonferroni'"),
        ({"warmpu": 3}, "warmpu is not a known field"),
        (
            {"topology": "mec", "tiers": {"M": "mobile", "E": "edge", "C": "gpu"}},
            "strategy I on C needs tier C (gpu), which topology 'mec' lacks",
        ),
    ],
)
def test_study_bad_file_is_one_line(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, _study(**overrides))
    with pytest.raises(InputError) as info:
        load_study(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_study_strategy_needs_a_tier_the_topology_lacks(tmp_path: Path) -> None:
    topo = {
        "name": "two",
        "tiers": [{"name": "mobile", "compute_ratio": 2}, {"name": "edge", "compute_ratio": 1}],
        "links": [{"bandwidth": "10Mbps", "latency": "0ms"}],
    }
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(topo), encoding="utf-8")
    path = _write(tmp_path, _study(topology="two.yaml"))
    with pytest.raises(
        InputError,
        match=r"strategy I on C needs tier C \(cloud\), which "
        r"topology 'two' lacks \(it has mobile, edge\)",
    ):
        load_study(path)


def test_study_from_mapping_names_the_source() -> None:
    with pytest.raises(InputError, match=r"^mine: schema must be 'splitexit\.study/1'"):
        study_from_mapping(_study(schema="other/1"), source="mine", base_dir=Path("."))


def test_seed_tier_sets_whole_and_partitioned() -> None:
    assert seed_tier_sets("I") == ("M", "E", "C")
    assert seed_tier_sets("P") == ("ME", "EC", "MC")


def test_preset_seed004_matches_the_seed() -> None:
    topo = load_topology("seed004")
    assert [t.name for t in topo.tiers] == ["mobile", "edge", "cloud"]
    assert [link.bandwidth for link in topo.links] == [200e6, 1e6]
    assert [link.latency for link in topo.links] == [0.0, 0.0]
    ratios = [t.compute_ratio for t in topo.tiers]
    assert ratios[0] == 2 * ratios[1] and min(ratios) == ratios[2]  # half the cores; cloud fastest
    assert topo.source == topo.destination == 0
