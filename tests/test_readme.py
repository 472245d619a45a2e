"""Every command in README.md's ```sh blocks is run here (docs that work).

Commands run in one scratch folder, in process through the CLI app, with the bundled profiles
standing in for the files the README makes (``my_profile.json``, ``my.json``) and the README's
own topology YAML as ``my_topology.yaml``. :data:`SKIPPED` says why a command is not run;
:data:`SMALLER` shrinks the long ones; :data:`SLOW` marks those that take seconds;
:data:`NEEDS` names the README command that writes what another one reads, run first (once)
whatever order the tests run in (one process, pytest-xdist, ``-k``). A README command in none
of these that fails, or a README change that leaves an entry here unused, fails the test.
"""

from __future__ import annotations

import glob
import json
import re
import shlex
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from splitexit.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"

SKIPPED = {  # command prefix -> why it is not run here
    "make demo": "runs the whole pipeline; `splitexit run --out out/run` below is its core",
    "make test": "runs this suite itself (CI's job)",
    "sudo apt-get install": "needs root and the network; `make data` does it in CI",
    "python examples/make_user_data.py": "writes the data that the next line trains on",
    "splitexit profile --model": "trains ResNet-20 (~37 min)",
    "splitexit validate": "trains final models (minutes)",
    "splitexit export --profile my.json": "needs the checkpoints of a training run",
    "splitexit run examples/fidelity-iot.yaml": "10 configurations x 500 samples (minutes)",
}
SMALLER = {  # README text -> what runs here
    "--samples 500": "--samples 20",
    "--model vgg16 --json": "--model vgg16 --episodes 2 --fast-evaluations 100 --json",
}
SLOW = ("splitexit run", "splitexit testbed run", "splitexit fidelity", "splitexit distredge")
NEEDS = {  # a path a command reads -> the README command that writes it
    "out/run/": "splitexit run --out out/run",
}


def readme_commands() -> list[str]:
    """The commands of the README's ```sh blocks, comments and ``.venv/bin/`` removed."""
    blocks = re.findall(r"^```sh\n(.*?)^```", README.read_text(encoding="utf-8"), re.M | re.S)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            command = line.split("  #")[0].split(" # ")[0].strip()
            if command:
                commands.append(command.replace(".venv/bin/", ""))
    return commands


def _skip_reason(command: str) -> str | None:
    return next((why for prefix, why in SKIPPED.items() if command.startswith(prefix)), None)


def _params() -> list[object]:
    params: list[object] = []
    for command in readme_commands():
        marks = [pytest.mark.slow] if command.startswith(SLOW) else []
        params.append(pytest.param(command, marks=marks, id=command[:60]))
    return params


# one worker for the module under pytest-xdist (--dist loadgroup): the commands share a
# scratch folder, so what one writes for another (NEEDS) is made once, not once per worker
pytestmark = pytest.mark.xdist_group("readme")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from splitexit.profile import profile_path

    folder = tmp_path_factory.mktemp("readme")
    bundled = profile_path("resnet20-fashion-mnist")
    for name in ("my_profile.json", "my.json"):  # the README's own files, made elsewhere
        shutil.copy(bundled, folder / name)
    trace = json.loads(bundled.read_text(encoding="utf-8")).get("trace")
    if trace:  # the per-sample trace the profile names, beside it
        shutil.copy(bundled.parent / trace, folder / trace)
    yaml = re.search(r"^```yaml\n(name: mobile.*?)^```", README.read_text(), re.M | re.S)
    assert yaml is not None, "README's topology example is gone"
    (folder / "my_topology.yaml").write_text(yaml.group(1), encoding="utf-8")
    examples = README.parent / "examples"
    if examples.exists():
        shutil.copytree(examples, folder / "examples")
    return folder


@pytest.fixture(scope="module")
def run_once(scratch: Path) -> Callable[[str], Result]:
    """Run a README command (as the README prints it) in the scratch folder, at most once: a
    command that another one needs (NEEDS) may run before its own test."""
    results: dict[str, Result] = {}

    def run(command: str) -> Result:
        if command not in results:
            shrunk = command
            for text, smaller in SMALLER.items():
                shrunk = shrunk.replace(text, smaller)
            words = shlex.split(shrunk)
            assert words[0] == "splitexit", f"a README command neither skipped nor ours: {command}"
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(scratch)
                args = [m for w in words[1:] for m in (sorted(glob.glob(w)) if "*" in w else [w])]
                results[command] = CliRunner().invoke(app, args)
        return results[command]

    return run


@pytest.mark.parametrize("command", _params())
def test_readme_command_runs(command: str, run_once: Callable[[str], Result]) -> None:
    reason = _skip_reason(command)
    if reason is not None:
        pytest.skip(reason)
    for read, writer in NEEDS.items():
        if read in command and command != writer:
            needed = run_once(writer)
            assert needed.exit_code == 0, f"{writer} (needed by {command})\n{needed.output}"
    result = run_once(command)
    assert result.exit_code == 0, f"{command}\n{result.output}"


def test_readme_allow_lists_are_used_and_short() -> None:
    commands = readme_commands()
    for prefix in SKIPPED:
        assert any(c.startswith(prefix) for c in commands), f"SKIPPED names no command: {prefix}"
    for text in SMALLER:
        assert any(text in c for c in commands), f"SMALLER matches no command: {text}"
    for read, writer in NEEDS.items():
        assert writer in commands, f"NEEDS names a command the README lost: {writer}"
        assert any(read in c and c != writer for c in commands), f"NEEDS reads nothing: {read}"
    assert len(SKIPPED) <= len(commands) // 2


def test_readme_python_example_gives_the_command_beside_it(
    scratch: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The ```python block and the one-command ```sh block just before it: same best."""
    found = re.search(
        r"^```sh\n([^\n]*)\n```\n\n```python\n(.*?)^```", README.read_text(), re.M | re.S
    )
    assert found is not None, "README's Python example lost the command beside it"
    command, code = found.group(1).replace(".venv/bin/", ""), found.group(2)
    monkeypatch.chdir(scratch)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # the example as printed
    assert capsys.readouterr().out.strip()
    result = namespace["result"]
    words = shlex.split(command)
    assert words[:2] == ["splitexit", "plan"]
    ran = CliRunner().invoke(app, [*words[1:], "--json", "readme-plan.json"])
    assert ran.exit_code == 0, ran.output
    from_cli = json.loads((scratch / "readme-plan.json").read_text())
    assert result.to_dict()["best"] == from_cli["best"]  # type: ignore[attr-defined]
    assert result.estimator == from_cli["estimator"] == "trace"  # type: ignore[attr-defined]
