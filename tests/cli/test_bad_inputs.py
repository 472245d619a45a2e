"""The bad-input matrix: every subcommand given hostile but fair input answers with exit
status 2, exactly one line on stderr naming the file or field, and leaves nothing behind.

Each case runs the CLI in process (``splitexit.cli.run``) inside an empty working folder
holding the fixture files below; the folder's content is compared before and after.
docs/reliability.md shows the counts per subcommand (``python -m tests.cli.test_bad_inputs``).
"""

from __future__ import annotations

import functools
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from splitexit.cli import run
from splitexit.cli._common import MAX_ERROR_CHARS
from tests.helpers import valid_profile_mapping, valid_topology_mapping

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
    for prev, name in zip(["", "a", "b", "c", "d", "e", "f"], "abcdefg", strict=True)
)


def _topology(**link: object) -> dict[str, object]:
    data = valid_topology_mapping()
    data["links"][0] = {**data["links"][0], **link}
    return data


@functools.cache
def _measurement_on_one_tier_twice() -> str:
    """A measurement file whose configuration puts two partitions on one tier."""
    from splitexit.topology import load_topology
    from tests.fidelity.helpers import measurement_mapping, random_deployments

    topology = load_topology("mobile")
    deployment = next(d for d in random_deployments(topology, 5, seed=3) if len(d.partition) > 1)
    data = measurement_mapping(topology, deployment, rows=20)
    placement = data["config"]["placement"]
    placement[1] = placement[0]
    data["partitions"][1]["tier"] = placement[0]
    return json.dumps(data)


def _fixtures(root: Path) -> None:
    """The files the cases name (all in the working folder)."""
    (root / "dir").mkdir()
    (root / "notes.txt").write_text("mine\n")
    (root / "mine").mkdir()
    (root / "mine" / "thesis.tex").write_text("years of work\n")
    (root / "broken.yaml").write_text("tiers: [\n")
    (root / "broken.json").write_text("{\n")
    (root / "list.yaml").write_text("- a\n- b\n")
    (root / "bomb.yaml").write_text(BOMB)
    (root / "empty.yaml").write_text("")
    (root / "binary.yaml").write_bytes(b"\xff\xfe\x00bad")
    (root / "long.yaml").write_text(yaml.safe_dump({"x" * 5000: 1}))
    topologies = {
        "ratio": {"compute_ratio_tier": 1e308},
        "typo": {"bandwith": "5Mbps"},
        "negbw": {"bandwidth": "-5Mbps"},
        "tinybw": {"bandwidth": 1e-320},
        "hugelat": {"latency": 1e300},
        "nanlat": {"latency": "nanms"},
        "badunit": {"bandwidth": "5 parsecs"},
    }
    for name, link in topologies.items():
        data = _topology(**link) if name != "ratio" else valid_topology_mapping()
        if name == "ratio":
            data["tiers"][0]["compute_ratio"] = 1e308
        (root / f"topo_{name}.yaml").write_text(yaml.safe_dump(data))
    missing_tiers = valid_topology_mapping()
    del missing_tiers["tiers"]
    (root / "topo_notiers.yaml").write_text(yaml.safe_dump(missing_tiers))
    profiles: dict[str, dict[str, object]] = {}
    for name, (path, value) in {
        "slow": (("blocks", 0, "compute_s"), 1e308),
        "negative": (("blocks", 0, "compute_s"), -1.0),
        "acc": (("branches", 0, "accuracy"), 1.5),
        "bits": (("blocks", 0, "output_bits"), -8.0),
        "nan": (("blocks", 0, "compute_s"), float("nan")),  # a NaN token in the JSON
    }.items():
        data = valid_profile_mapping()
        data[path[0]][path[1]][path[2]] = value  # type: ignore[index]
        profiles[name] = data
    noformat = valid_profile_mapping()
    del noformat["format"]
    profiles["noformat"] = noformat
    for name, data in profiles.items():
        (root / f"prof_{name}.json").write_text(json.dumps(data))
    config = {"threshold": 0.5, "partition": [3, 10], "placement": ["edge", "edge"]}
    (root / "cfg_dup.json").write_text(json.dumps(config))
    (root / "cfg_partition.json").write_text(
        json.dumps({**config, "partition": [3, 99], "placement": ["edge", "cloud"]})
    )
    (root / "cfg_tier.json").write_text(json.dumps({**config, "placement": ["edge", "moon"]}))
    (root / "cfg_missing.json").write_text(json.dumps({"threshold": 0.5}))
    (root / "measure_bad.json").write_text(json.dumps({"format": "splitexit.measurement/1"}))
    (root / "measure_wrong.json").write_text(json.dumps({"format": "something/9"}))
    (root / "exp_typo.yaml").write_text("name: x\nprofile: example\nsamples: 3\n")
    (root / "exp_name.yaml").write_text("name: ../../etc\nprofile: example\n")
    (root / "exp_req.yaml").write_text("name: x\nrequirement: {min_accuracy: 150%}\n")
    (root / "exp_measure.yaml").write_text("name: x\nmeasure: {samples: 0}\n")
    (root / "exp_mode.yaml").write_text("name: x\nmeasure: {compute_mode: warp}\n")
    (root / "not.onnx").write_text("not a model\n")
    (root / "strategy_bad.json").write_text(json.dumps({"devices": "all"}))
    (root / "cluster_bad.yaml").write_text("providers: 3\n")
    (root / "token.txt").write_text("secret\n")
    (root / "data.npz").write_bytes(b"PK not really")
    (root / "study_dup.yaml").write_text(
        "schema: splitexit.study/1\nsubjects: [{name: a, onnx: a.onnx}]\noperators: [I]\n"
        "tiers: {M: edge, E: edge, C: cloud}\n"
    )
    (root / "measure_dup.json").write_text(_measurement_on_one_tier_twice())
    (root / "busy.trace.npz").mkdir()  # where `profile --out busy.json` would put its trace
    (root / "dir" / "table1.json").mkdir()  # where `experiment table1 --out dir` would write


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


# (argv, text the line must hold); ids are "<subcommand>-<n>"
_PNG_BAD = [("/proc/x.png", "/proc"), ("dir", "dir"), ("notes.txt/x.png", "notes.txt")]
_FILE_BAD = [("/proc/x.json", "/proc"), ("dir", "dir"), ("notes.txt/x.json", "notes.txt")]


def _outputs(prefix: list[str], option: str, bad: list[tuple[str, str]]) -> list[object]:
    return [([*prefix, option, path], text) for path, text in bad]


CASES: dict[str, list[tuple[list[str], str]]] = {
    "plan": [
        (["plan", "--profile", "nope.json"], "nope.json"),
        (["plan", "--profile", "broken.json"], "broken.json"),
        (["plan", "--profile", "prof_slow.json"], "blocks[0].compute_s"),
        (["plan", "--profile", "prof_negative.json"], "blocks[0].compute_s"),
        (["plan", "--profile", "prof_acc.json"], "branches[0].accuracy"),
        (["plan", "--profile", "prof_bits.json"], "blocks[0].output_bits"),
        (["plan", "--profile", "prof_nan.json"], "blocks[0].compute_s"),
        (["plan", "--profile", "prof_noformat.json"], "prof_noformat.json"),
        (["plan", "--profile", "example", "--topology", "nope"], "nope"),
        (["plan", "--profile", "example", "--topology", "broken.yaml"], "broken.yaml"),
        (["plan", "--profile", "example", "--topology", "list.yaml"], "list.yaml"),
        (["plan", "--profile", "example", "--topology", "bomb.yaml"], "bomb.yaml"),
        (["plan", "--profile", "example", "--topology", "empty.yaml"], "empty.yaml"),
        (["plan", "--profile", "example", "--topology", "binary.yaml"], "binary.yaml"),
        (["plan", "--profile", "example", "--topology", "long.yaml"], "long.yaml"),
        (["plan", "--profile", "example", "--topology", "topo_ratio.yaml"], "compute_ratio"),
        (["plan", "--profile", "example", "--topology", "topo_typo.yaml"], "bandwith"),
        (["plan", "--profile", "example", "--topology", "topo_negbw.yaml"], "bandwidth"),
        (["plan", "--profile", "example", "--topology", "topo_tinybw.yaml"], "bandwidth"),
        (["plan", "--profile", "example", "--topology", "topo_hugelat.yaml"], "latency"),
        (["plan", "--profile", "example", "--topology", "topo_nanlat.yaml"], "latency"),
        (["plan", "--profile", "example", "--topology", "topo_badunit.yaml"], "bandwidth"),
        (["plan", "--profile", "example", "--topology", "topo_notiers.yaml"], "tiers"),
        (["plan", "--profile", "example", "--topology", "dir"], "dir"),
        (["plan", "--min-accuracy", "abc"], "--min-accuracy"),
        (["plan", "--min-accuracy", "150%"], "--min-accuracy"),
        (["plan", "--min-accuracy", "-0.1"], "--min-accuracy"),
        (["plan", "--max-latency", "80"], "--max-latency needs a unit"),
        (["plan", "--max-latency", "fast"], "--max-latency"),
        (["plan", "--max-latency", "-5ms"], "--max-latency"),
        (["plan", "--max-latency", "0ms"], "--max-latency"),
        (["plan", "--estimator", "magic"], "--estimator"),
        (["plan", "--solver", "quantum"], "solver"),
        (["plan", "--accuracy", "best"], "--accuracy"),
        (["plan", "--destination", "moon"], "moon"),
        (["plan", "--bogus"], "--bogus"),
        (["plan", "--min-accuracy"], "--min-accuracy"),
        *_outputs(["plan", "--profile", "example"], "--plot", _PNG_BAD),
        *_outputs(["plan", "--profile", "example"], "--json", _FILE_BAD),
        *_outputs(["plan", "--profile", "example"], "--html", _FILE_BAD),
        (["plan", "--plot", "pareto.gif"], "pareto.gif"),
    ],
    "presets": [(["presets", "--bogus"], "--bogus"), (["presets", "extra"], "extra")],
    "profile": [
        (["profile"], "--out"),
        (["profile", "--out", "p.json"], "--model"),
        (["profile", "--out", "p.json", "--model", "resnet999", "--dataset", "digits"], "resnet"),
        (["profile", "--out", "p.json", "--model", "resnet8", "--dataset", "nope"], "--dataset"),
        (["profile", "--out", "p.json", "--onnx", "not.onnx"], "--data"),
        (["profile", "--out", "p.txt", "--onnx", "not.onnx", "--data", "data.npz"], "p.txt"),
        (["profile", "--out", "p.json", "--cuts", "some", "--onnx", "x.onnx"], "--cuts"),
        (["profile", "--out", "p.json", "--executor", "cloud"], "--executor"),
        (["profile", "--out", "p.json", "--epochs", "many"], "--epochs"),
        (
            [
                "profile",
                "--out",
                "p.json",
                "--model",
                "resnet8",
                "--dataset",
                "digits",
                "--threads",
                "0",
            ],
            "--threads",
        ),
        *_outputs(["profile", "--model", "resnet8", "--dataset", "digits"], "--out", _FILE_BAD),
        (["profile", "--out", "busy.json", "--onnx", "not.onnx"], "busy.trace.npz"),
    ],
    "validate": [
        (["validate"], "--profile"),
        (["validate", "--profile", "p.json", "--threads", "0"], "--threads"),
        (["validate", "--profile", "p.json", "--plot", "v.jpg"], "v.jpg"),
        (["validate", "--profile", "p.json", "--k", "x"], "--k"),
        (["validate", "--profile", "p.json", "--executor", "mars"], "--executor"),
        *_outputs(["validate", "--profile", "p.json"], "--plot", _PNG_BAD),
        *_outputs(["validate", "--profile", "p.json"], "--json", _FILE_BAD),
    ],
    "export": [
        (["export", "--profile", "example"], "--out"),
        (["export", "--profile", "example", "--out", "e", "--weights", "best"], "--weights"),
        (["export", "--profile", "example", "--out", "e", "--threads", "0"], "--threads"),
        (
            ["export", "--profile", "example", "--out", "e", "--config", "cfg_dup.json"],
            "cfg_dup.json",
        ),
        (
            ["export", "--profile", "example", "--out", "e", "--config", "cfg_partition.json"],
            "partition",
        ),
        (
            ["export", "--profile", "example", "--out", "e", "--config", "cfg_tier.json"],
            "placement",
        ),
        (
            ["export", "--profile", "example", "--out", "e", "--config", "cfg_missing.json"],
            "partition",
        ),
        (["export", "--profile", "example", "--out", "e", "--config", "nope.json"], "nope.json"),
        (
            ["export", "--profile", "example", "--out", "e", "--topology", "topo_typo.yaml"],
            "bandwith",
        ),
        (["export", "--profile", "nope.json", "--out", "e"], "nope.json"),
        (["export", "--profile", "example", "--out", "notes.txt"], "notes.txt"),
        (["export", "--profile", "example", "--out", "/proc/e"], "/proc"),
        (["export", "--profile", "example", "--out", "."], "--out"),
        (["export", "--profile", "example", "--out", "notes.txt/e"], "notes.txt"),
        (["export", "--profile", "example", "--out", "mine"], "mine"),
        (["export", "--profile", "nope.json", "--out", "mine"], "mine"),
    ],
    "retime": [
        (["retime"], "--out"),
        (["retime", "--out", "r.txt"], "r.txt"),
        (["retime", "--out", "r.json", "--threads", "0"], "--threads"),
        (["retime", "--out", "r.json", "--profile", "nope.json"], "nope.json"),
        (["retime", "--out", "r.json", "--runs", "x"], "--runs"),
        *_outputs(["retime"], "--out", _FILE_BAD),
        (["retime", "--out", "busy.json"], "busy.trace.npz"),
    ],
    "worker": [
        (["worker"], "--tier"),
        (["worker", "--tier", "edge", "--listen", "bogus"], "--listen"),
        (["worker", "--tier", "edge", "--listen", "127.0.0.1:99999"], "--listen"),
        (["worker", "--tier", "edge", "--max-message-mb", "nan"], "--max-message-mb"),
        (["worker", "--tier", "edge", "--max-message-mb", "-1"], "--max-message-mb"),
        (["worker", "--tier", "edge", "--pool", "0"], "--pool"),
        (["worker", "--tier", "edge", "--queue", "0"], "--queue"),
        (["worker", "--tier", "edge", "--metrics-port", "70000"], "--metrics-port"),
        (["worker", "--tier", "edge", "--log-level", "loud"], "--log-level"),
        (["worker", "--tier", "edge", "--log-format", "xml"], "--log-format"),
        (["worker", "--tier", "edge", "--token-file", "nope.txt"], "nope.txt"),
        (["worker", "--tier", "edge"], "token"),
    ],
    "testbed run": [
        (["testbed", "run", "--deadline", "5"], "--deadline needs a unit"),
        (["testbed", "run", "--ready-timeout", "30"], "--ready-timeout needs a unit"),
        (["testbed", "run", "--deadline", "soon"], "--deadline"),
        (["testbed", "run", "--compute-mode", "warp"], "compute mode"),
        (["testbed", "run", "--transport", "pigeon"], "transport"),
        (["testbed", "run", "--samples", "many"], "--samples"),
        (["testbed", "run", "--allow-failures", "-1"], "--allow-failures"),
        (["testbed", "run", "--profile", "nope.json"], "nope.json"),
        (["testbed", "run", "--profile", "example", "--topology", "bomb.yaml"], "bomb.yaml"),
        (
            ["testbed", "run", "--profile", "example", "--topology", "topo_ratio.yaml"],
            "compute_ratio",
        ),
        (["testbed", "run", "--profile", "example", "--connect", "edge"], "--connect"),
        (["testbed", "run", "--tls-ca", "nope.pem"], "--tls-ca"),
        (
            ["testbed", "run", "--connect", "edge=127.0.0.1:1", "--connect", "edge=127.0.0.1:2"],
            "twice",
        ),
        (["testbed", "run", "--connect", "edge=127.0.0.1:99999"], "--connect"),
        (["testbed", "run", "--connect", "edge=127.0.0.1:0"], "--connect"),
        (["testbed", "run", "--connect", "edge=:80"], "--connect"),
        (["testbed", "run", "--sink-listen", "bogus"], "--sink-listen"),
        (["testbed", "run", "--sink-listen", "127.0.0.1:70000"], "--sink-listen"),
        *_outputs(["testbed", "run"], "--json", _FILE_BAD),
    ],
    "run": [
        (["run", "nope.yaml"], "nope.yaml"),
        (["run", "broken.yaml"], "broken.yaml"),
        (["run", "bomb.yaml"], "bomb.yaml"),
        (["run", "exp_typo.yaml"], "samples"),
        (["run", "exp_name.yaml"], "name"),
        (["run", "exp_req.yaml"], "min_accuracy"),
        (["run", "exp_measure.yaml"], "samples"),
        (["run", "exp_mode.yaml"], "compute_mode"),
        (["run", "--out", "."], "--out"),
        (["run", "--out", "mine"], "mine"),
        (["run", "--out", "notes.txt"], "notes.txt"),
        (["run", "--out", "/proc/x"], "/proc"),
        (["run", "--out", "/sys/x"], "/sys"),
        (["run", "--out", "notes.txt/x"], "notes.txt"),
        (["run", "--out", "mine", "exp_typo.yaml"], "mine"),
        (["run", "--allow-failures", "-1"], "--allow-failures"),
    ],
    "fidelity": [
        (["fidelity"], "measurements"),
        (["fidelity", "nope.json"], "nope.json"),
        (["fidelity", "broken.json"], "broken.json"),
        (["fidelity", "measure_bad.json"], "measure_bad.json"),
        (["fidelity", "measure_wrong.json"], "measure_wrong.json"),
        (["fidelity", "measure_dup.json"], "distinct tiers"),
        (["fidelity", "measure_bad.json", "--compute", "fast"], "--compute"),
        (["fidelity", "measure_bad.json", "--trace-source", "x"], "--trace-source"),
        (["fidelity", "measure_bad.json", "--plot", "f.gif"], "f.gif"),
        *_outputs(["fidelity", "measure_bad.json"], "--plot", _PNG_BAD),
        *_outputs(["fidelity", "measure_bad.json"], "--json", _FILE_BAD),
        *_outputs(["fidelity", "measure_bad.json"], "--markdown", _FILE_BAD),
        *_outputs(["fidelity", "measure_bad.json"], "--html", _FILE_BAD),
        (["fidelity-overheads", "measure_bad.json"], "--out"),
        (["fidelity-overheads", "measure_bad.json", "--out", "t.txt"], "t.txt"),
        (["fidelity-overheads", "nope.json", "--out", "t.yaml"], "nope.json"),
        *_outputs(
            ["fidelity-overheads", "measure_bad.json"],
            "--out",
            [
                ("/proc/x.yaml", "/proc"),
                ("dir", "dir"),
                ("notes.txt/x.yaml", "notes.txt"),
            ],
        ),
        *_outputs(
            ["fidelity-overheads", "measure_bad.json", "--out", "t.yaml"], "--json", _FILE_BAD
        ),
    ],
    "distredge": [
        (["distredge", "compare", "--episodes", "0"], "--episodes"),
        (["distredge", "compare", "--alpha", "2"], "--alpha"),
        (["distredge", "compare", "--fast-evaluations", "0"], "--fast-evaluations"),
        (["distredge", "compare", "--bandwidth", "50"], "--bandwidth needs a unit"),
        (["distredge", "compare", "--overhead", "2"], "--overhead needs a unit"),
        (["distredge", "compare", "--requester-bandwidth", "400"], "--requester-bandwidth"),
        (["distredge", "compare", "--plot", "bars.gif"], "bars.gif"),
        (["distredge", "compare", "--group", "NA", "--model", "nope.yaml"], "nope.yaml"),
        (["distredge", "compare", "--cluster", "bomb.yaml"], "bomb.yaml"),
        *_outputs(["distredge", "compare"], "--plot", _PNG_BAD),
        *_outputs(["distredge", "compare"], "--json", _FILE_BAD),
        *_outputs(["distredge", "compare"], "--html", _FILE_BAD),
        (["distredge", "simulate"], "--strategy"),
        (
            [
                "distredge",
                "simulate",
                "--group",
                "NA",
                "--device",
                "nano",
                "--strategy",
                "nope.json",
            ],
            "nope.json",
        ),  # fmt: skip,
        (["distredge", "simulate", "--strategy", "x.json", "--bandwidth", "9"], "--bandwidth"),
        (["distredge", "experiment", "table1", "--out", "notes.txt"], "notes.txt"),
        (["distredge", "experiment", "table1", "--out", "/proc/x"], "/proc"),
        (["distredge", "experiment", "nope", "--out", "x"], "nope"),
        (["distredge", "experiment", "table1", "--out", "dir"], "table1.json"),
        *_outputs(["distredge", "run", "--cluster", "nope.yaml"], "--json", _FILE_BAD),
        *_outputs(["distredge", "measure", "--cluster", "nope.yaml"], "--json", _FILE_BAD),
        *_outputs(["distredge", "measure", "--cluster", "nope.yaml"], "--markdown", _FILE_BAD),
        (["distredge", "run", "--cluster", "nope.yaml"], "nope.yaml"),
        (["distredge", "measure", "--cluster", "bomb.yaml"], "bomb.yaml"),
        (["distredge", "profile-device", "--out", "dir"], "dir"),
        (["distredge", "profile-device", "--out", "/sys/x.json"], "/sys"),
    ],
    "study": [
        (["study", "--out", "o"], "study_file"),
        (["study", "nope.yaml", "--out", "o"], "nope.yaml"),
        (["study", "bomb.yaml", "--out", "o"], "bomb.yaml"),
        (["study", "broken.yaml", "--out", "o"], "broken.yaml"),
        (["study", "exp_typo.yaml", "--out", "o"], "exp_typo.yaml"),
        (["study", "study_dup.yaml", "--out", "o"], "tiers.E"),
        (["study", "nope.yaml", "--out", "mine"], "mine"),
        (["study", "nope.yaml", "--out", "notes.txt"], "notes.txt"),
        (["study", "nope.yaml", "--out", "/proc/x"], "/proc"),
        (["study", "nope.yaml", "--out", "."], "--out"),
        (["study", "nope.yaml", "--out", "o", "--compute-mode", "warp"], "--compute-mode"),
    ],
    "onnx": [
        (["onnx", "cuts", "nope.onnx"], "nope.onnx"),
        (["onnx", "cuts", "not.onnx"], "not.onnx"),
        *_outputs(["onnx", "cuts", "not.onnx"], "--json", _FILE_BAD),
        (["onnx", "partition", "not.onnx", "--out", "notes.txt"], "notes.txt"),
        (["onnx", "partition", "not.onnx", "--out", "/proc/x"], "/proc"),
        (["onnx", "partition", "not.onnx", "--out", "mine"], "mine"),
        (["onnx", "quantize", "dir", "--out", "mine"], "mine"),
        (["onnx", "hybrid", "qep", "not.onnx", "--out", "mine"], "mine"),
        (["onnx", "partition", "not.onnx", "--out", "p", "--criterion", "x"], "--criterion"),
        (["onnx", "quantize", "not.onnx", "--out", "q.txt"], "q.txt"),
        (["onnx", "quantize", "not.onnx", "--out", "dir"], "dir"),
        (["onnx", "quantize", "nope.onnx", "--out", "q.onnx"], "nope.onnx"),
        (["onnx", "early-exit", "not.onnx", "--out", "/proc/e.onnx"], "/proc"),
        (["onnx", "early-exit", "not.onnx", "--out", "e.txt"], "e.txt"),
        (["onnx", "early-exit", "nope.onnx", "--out", "e.onnx"], "nope.onnx"),
        (["onnx", "hybrid", "qz", "not.onnx", "--out", "h.onnx"], "qz"),
        (["onnx", "hybrid", "qe", "not.onnx", "--out", "dir"], "dir"),
        (["onnx", "hybrid", "qep", "not.onnx", "--out", "notes.txt"], "notes.txt"),
        (["onnx", "bogus"], "bogus"),
    ],
}

PARAMS = [
    pytest.param(argv, text, id=f"{group.replace(' ', '-')}-{n}")
    for group, cases in CASES.items()
    for n, (argv, text) in enumerate(cases, 1)
]


def test_bad_inputs_matrix_has_enough_cases() -> None:
    assert len(PARAMS) >= 120
    assert len(CASES) >= 12


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture files written once; each case works in its own copy."""
    root = tmp_path_factory.mktemp("bad-input-files")
    _fixtures(root)
    return root


@pytest.mark.parametrize(("argv", "text"), PARAMS)
def test_bad_inputs_one_line_exit_2_nothing_left(
    argv: list[str],
    text: str,
    fixture_files: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SPLITEXIT_TOKEN", raising=False)
    shutil.copytree(fixture_files, tmp_path, dirs_exist_ok=True)
    before = _tree(tmp_path)
    code = run(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and text in lines[0], lines[0]
    assert len(lines[0]) <= MAX_ERROR_CHARS
    assert _tree(tmp_path) == before


def summary() -> str:
    """The matrix's counts per subcommand, as docs/reliability.md shows them."""
    counts = Counter({group: len(cases) for group, cases in CASES.items()})
    rows = [f"| {group} | {n} |" for group, n in counts.items()]
    return "\n".join(["| subcommand | cases |", "|---|---:|", *rows, f"| all | {len(PARAMS)} |"])


if __name__ == "__main__":
    print(summary())
