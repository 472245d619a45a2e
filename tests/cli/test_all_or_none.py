"""Commands that write several files write all of them or none: a renderer that fails (or a
Ctrl-C while it runs) leaves the user's earlier files as they were and no temporary behind.

Each command runs in process in an empty folder that holds an earlier output under one of
the names; the last output's renderer is replaced by one that raises.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from splitexit.cli import run


def _listing(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _broken(error: type[BaseException]):  # type: ignore[no-untyped-def]
    def render(*args: object, **kwargs: object) -> None:
        path = Path(str(args[-1]))
        path.write_bytes(b"half a plot")  # it had started writing
        raise error("the renderer broke")

    return render


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.json").write_text('{"earlier": true}\n')
    return tmp_path


@pytest.mark.parametrize(("error", "code"), [(RuntimeError, None), (KeyboardInterrupt, 130)])
def test_plan_json_plot_html_all_or_none(
    folder: Path, monkeypatch: pytest.MonkeyPatch, error: type[BaseException], code: int | None
) -> None:
    import splitexit.reports

    before = _listing(folder)
    monkeypatch.setattr(splitexit.reports, "render_pareto_plot", _broken(error))
    argv = ["plan", "--profile", "example", "--json", "out.json", "--plot", "out.png"]
    argv += ["--html", "out.html"]
    if code is None:
        with pytest.raises(error):
            run(argv)
    else:  # Ctrl-C: click's exit status 130 (the console script then prints one line)
        assert run(argv) == code
    assert _listing(folder) == before


def test_plan_writes_all_three_when_nothing_fails(folder: Path) -> None:
    argv = ["plan", "--profile", "example", "--json", "out.json", "--plot", "out.png"]
    assert run([*argv, "--html", "out.html"]) == 0
    assert "best" in json.loads((folder / "out.json").read_text())
    assert (folder / "out.png").read_bytes()[:4] == b"\x89PNG"
    assert (folder / "out.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in folder.iterdir()) == ["out.html", "out.json", "out.png"]


def test_fidelity_json_markdown_plot_html_all_or_none(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import splitexit.reports
    from splitexit.topology import load_topology
    from tests.fidelity.helpers import measurement_mapping, random_deployments

    topology = load_topology("mobile")
    (deployment,) = random_deployments(topology, 1, seed=3)
    data = measurement_mapping(topology, deployment, rows=50)
    (folder / "m.json").write_text(json.dumps(data))
    before = _listing(folder)
    monkeypatch.setattr(splitexit.reports, "render_fidelity_plot", _broken(RuntimeError))
    argv = ["fidelity", "m.json", "--json", "out.json", "--markdown", "out.md"]
    with pytest.raises(RuntimeError):
        run([*argv, "--html", "out.html", "--plot", "out.png"])
    assert _listing(folder) == before


def test_distredge_compare_json_plot_html_all_or_none(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import splitexit.spatial

    before = _listing(folder)
    monkeypatch.setattr(splitexit.spatial, "render_bars", _broken(RuntimeError))
    argv = ["distredge", "compare", "--model", "tinycnn", "--group", "DA", "--methods", "offload"]
    argv += ["--bandwidth", "50Mbps", "--json", "out.json", "--html", "out.html"]
    with pytest.raises(RuntimeError):
        run([*argv, "--plot", "out.png", "--quiet"])
    assert _listing(folder) == before


def test_distredge_experiment_three_files_all_or_none(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import splitexit.spatial

    (folder / "res").mkdir()
    (folder / "res" / "samples.md").write_text("earlier\n")
    before = _listing(folder)
    monkeypatch.setattr(splitexit.spatial, "render_lines", _broken(RuntimeError))
    argv = ["distredge", "experiment", "samples", "--out", "res", "--model", "tinycnn"]
    with pytest.raises(RuntimeError):
        run([*argv, "--sizes", "5", "--repeats", "1"])
    assert _listing(folder) == before
    monkeypatch.undo()
    monkeypatch.chdir(folder)
    assert run([*argv, "--sizes", "5", "--repeats", "1"]) == 0
    assert sorted(p.name for p in (folder / "res").iterdir()) == [
        "samples.json",
        "samples.md",
        "samples.png",
    ]


def test_write_profile_profile_and_trace_both_or_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("torch")
    from splitexit.profile import random_profile
    from splitexit.profiling import _profile
    from tests.fidelity.helpers import bundled

    _, trace = bundled()
    (tmp_path / "p.trace.npz").write_bytes(b"earlier trace")
    before = _listing(tmp_path)

    def broken(profile: object, path: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_profile, "save_profile", broken)
    with pytest.raises(KeyboardInterrupt):
        _profile.write_profile(random_profile(4), trace, tmp_path / "p.json")
    assert _listing(tmp_path) == before


def test_write_profile_writes_both_and_names_the_final_trace(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from splitexit.profile import load_profile, random_profile
    from splitexit.profiling import write_profile
    from tests.fidelity.helpers import bundled

    _, trace = bundled()
    trace_path = write_profile(random_profile(4), trace, tmp_path / "p.json")
    assert trace_path == tmp_path / "p.trace.npz"
    assert load_profile(str(tmp_path / "p.json")).trace == "p.trace.npz"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json", "p.trace.npz"]
