"""CLI conventions and the file boundary: --version, `-` for stdout, choices in --help, exit
codes, folders a command owns, YAML limits, finite JSON, all-or-none outputs, interrupts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from splitexit import _boundary
from splitexit._boundary import (
    OUTPUT_MARKER,
    claim_folder,
    dump_json,
    mark_folder,
    read_mapping,
    safe_yaml,
)
from splitexit.cli import run
from splitexit.cli._common import MAX_ERROR_CHARS, one_line
from splitexit.errors import InputError
from splitexit.runtime._records import SampleRecord
from splitexit.runtime._testbed import summarize
from tests.cli.test_bad_inputs import BOMB


def test_conventions_version_prints_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.startswith("splitexit ")


def test_conventions_plan_json_dash_is_stdout_only_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["plan", "--profile", "example", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)  # the table went to stderr
    assert "best" in data
    assert not (tmp_path / "-").exists()


def test_conventions_choices_listed_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["plan", "--help"]) == 0
    assert "auto|paper|trace" in capsys.readouterr().out


def test_conventions_usage_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["plan", "--solver"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--solver" in lines[0]


def test_conventions_bare_number_refused_with_hint(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["plan", "--max-latency", "80"]) == 2
    assert "--max-latency needs a unit: 80ms? 80s?" in capsys.readouterr().err


def test_claim_folder_refuses_users_folder_accepts_own_and_empty(tmp_path: Path) -> None:
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "chapter1.tex").write_text("x")
    with pytest.raises(InputError, match="not an earlier output of `splitexit run`"):
        claim_folder(user, "--out", "run")
    assert (user / "chapter1.tex").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_folder(empty, "--out", "run")
    own = tmp_path / "own"
    own.mkdir()
    (own / "summary.md").write_text("old")
    mark_folder(own, "run")
    claim_folder(own, "--out", "run")
    assert (own / OUTPUT_MARKER).read_text().strip() == "run"
    with pytest.raises(InputError, match="splitexit export"):
        claim_folder(own, "--out", "export")  # another command's output is not ours


def test_run_experiment_keeps_unrelated_folder(tmp_path: Path) -> None:
    from splitexit.experiment import default_experiment_path, load_experiment, run_experiment

    user = tmp_path / "data"
    user.mkdir()
    (user / "keep.csv").write_text("1,2\n")
    with pytest.raises(InputError, match="is not empty"):
        run_experiment(load_experiment(default_experiment_path()), user)
    assert (user / "keep.csv").read_text() == "1,2\n"


def test_safe_yaml_refuses_alias_bomb_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    assert len(BOMB) < 500
    started = time.monotonic()
    with pytest.raises(InputError, match="alias bomb") as caught:
        read_mapping(path, kind="topology")
    assert time.monotonic() - started < 30  # generous: refused long before any expansion
    assert len(str(caught.value)) < 300
    assert safe_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_read_mapping_refuses_oversize_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_boundary, "MAX_INPUT_BYTES", 10)
    path = tmp_path / "big.yaml"
    path.write_text("a: 123456789012\n")
    with pytest.raises(InputError, match="larger than"):
        read_mapping(path, kind="topology")


def test_dump_json_refuses_nan_and_names_key() -> None:
    with pytest.raises(InputError, match=r"rows\[1\]\.mean_s is nan"):
        dump_json({"rows": [{"mean_s": 1.0}, {"mean_s": float("nan")}]})
    assert json.loads(dump_json({"x": 1.5})) == {"x": 1.5}


def test_one_line_caps_length() -> None:
    text = one_line("error: " + "x" * 10_000)
    assert len(text) == MAX_ERROR_CHARS and text.endswith("...")
    assert "\n" not in one_line("a\nb")


def test_summarize_counts_failures_in_accuracy_over_all() -> None:
    records = [
        SampleRecord(index=0, label=1, status="delivered", prediction=1, exit=1, latency_s=0.1),
        SampleRecord(index=1, label=2, status="delivered", prediction=2, exit=1, latency_s=0.1),
        SampleRecord(index=2, label=3, status="failed", reason="deadline"),
        SampleRecord(index=3, label=4, status="failed", reason="deadline"),
    ]
    summary = summarize(records)
    assert summary["failed"] == 2
    assert summary["accuracy"] == 1.0  # over the delivered ones, as before
    assert summary["accuracy_all_samples"] == 0.5


def _fake_measurement(failed: int) -> dict[str, Any]:
    return {"summary": {"samples": 10, "failed": failed, "accuracy_all_samples": 0.5}}


@pytest.mark.parametrize(("failed", "allowed", "code"), [(0, 0, 0), (3, 0, 1), (3, 3, 0)])
def test_testbed_run_exit_status_counts_failed_samples(
    failed: int,
    allowed: int,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import splitexit.reports
    from splitexit.cli import runtime

    monkeypatch.setattr(runtime, "run_one", lambda **kw: _fake_measurement(failed))
    monkeypatch.setattr(splitexit.reports, "print_measurement", lambda *a, **k: None)
    assert run(["testbed", "run", "--allow-failures", str(allowed)]) == code
    err = capsys.readouterr().err
    assert (f"{failed} of 10 samples failed" in err) == bool(failed)


@pytest.mark.parametrize(("failed", "allowed", "code"), [(0, 0, 0), (2, 0, 1), (2, 2, 0)])
def test_run_exit_status_counts_failed_samples(
    failed: int,
    allowed: int,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import splitexit.experiment
    from splitexit.experiment import ExperimentResult

    def fake(spec: object, out: Path, **kwargs: object) -> ExperimentResult:
        return ExperimentResult(out, "# done\n", {}, 1.0, samples=40, failed=failed)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(splitexit.experiment, "run_experiment", fake)
    assert run(["run", "--out", "report", "--allow-failures", str(allowed)]) == code
    err = capsys.readouterr().err
    assert (f"error: {failed} of 40 samples failed" in err) == bool(failed)


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
def test_sigterm_one_line_exit_143(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    code = "import time, sys\nfrom splitexit.cli import main, app\n"
    code += (
        "@app.command('nap')\ndef nap() -> None:\n    print('ready', flush=True); time.sleep(60)\n"
    )
    code += "sys.argv = ['splitexit', 'nap']; main()\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=tmp_path, env=env, text=True,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert err.strip().splitlines() == ["error: terminated (SIGTERM); stopped"]


def _run_script(code_text: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``code_text`` in a fresh interpreter that imports this checkout, SIGINT at its default
    as in a terminal."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-c", code_text], cwd=cwd, env=env, text=True,
        capture_output=True, timeout=120,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        ("KeyboardInterrupt", 130, "error: interrupted; stopped"),
        ("splitexit.cli._Terminated", 143, "error: terminated (SIGTERM); stopped"),
        ("ValueError", 1, None),
    ],
)
def test_interrupt_wrapped_by_the_interpreter_stops_in_one_line(
    tmp_path: Path, raised: str, code: int, line: str | None
) -> None:
    # a Ctrl-C that lands while a class is set up during a lazy import (seen in CI: rich's
    # Column dataclass, in `testbed run`) reaches main() as a RuntimeError caused by it, the
    # shape Python 3.11 gives it (raised here as such)
    code_text = (
        "import sys\nimport splitexit.cli\nfrom splitexit.cli import main, app\n"
        "@app.command('boom')\ndef boom() -> None:\n"
        "    try:\n        raise " + raised + "\n"
        "    except BaseException as exc:\n"
        "        raise RuntimeError('Error calling __set_name__') from exc\n"
        "sys.argv = ['splitexit', 'boom']; main()\n"
    )
    proc = _run_script(code_text, tmp_path)
    assert proc.returncode == code, proc.stderr
    if line is not None:
        assert proc.stderr.strip().splitlines() == [line]
    else:  # anything else stays an internal error with its traceback
        assert "RuntimeError: Error calling __set_name__" in proc.stderr


def test_check_report_folder_adopts_earlier_report_only(tmp_path: Path) -> None:
    from splitexit.experiment import check_report_folder

    old = tmp_path / "old"
    (old / "measurements").mkdir(parents=True)
    (old / "summary.md").write_text("x")
    (old / "plan.json").write_text("{}")
    check_report_folder(old)  # written by `run` before folders were marked
    assert (old / OUTPUT_MARKER).is_file()
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "summary.md").write_text("x")
    (mixed / "thesis.tex").write_text("x")
    with pytest.raises(InputError, match="not an earlier output"):
        check_report_folder(mixed)
    assert not (mixed / OUTPUT_MARKER).exists()


@pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals")
@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        ("KeyboardInterrupt", 130, "error: interrupted; stopped"),
        ("splitexit.cli._Terminated", 143, "error: terminated (SIGTERM); stopped"),
    ],
)
def test_interrupt_raised_inside_a_finalizer_is_not_lost(
    tmp_path: Path, raised: str, code: int, line: str
) -> None:
    # a Ctrl-C that lands in a weakref callback run by the garbage collector (seen with
    # torch's WeakIdKeyDictionary during `splitexit run`): Python prints "Exception ignored"
    # and goes on; the console script sends the signal again and stops in one line
    code_text = (
        "import sys, time, weakref\nimport splitexit.cli\nfrom splitexit.cli import main, app\n"
        "class A: pass\n"
        "def dropped(ref):\n    raise " + raised + "\n"
        "@app.command('nap')\ndef nap() -> None:\n"
        "    a = A(); r = weakref.ref(a, dropped); del a\n"
        "    time.sleep(5); print('finished', flush=True)\n"
        "sys.argv = ['splitexit', 'nap']; main()\n"
    )
    proc = _run_script(code_text, tmp_path)
    assert proc.returncode == code, proc.stderr
    assert "finished" not in proc.stdout
    assert proc.stderr.strip().splitlines() == [line]
