"""Shared fixtures: write small files to a temporary folder; the collector's freeze; the CLI's
click command built once for typer's ``CliRunner``; xdist groups; ``--cpu-durations``."""

from __future__ import annotations

import gc
import json
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.testing
import yaml

from splitexit.cli import app, click_command

_build_command = typer.testing._get_command


def _splitexit_command_once(given: typer.Typer) -> Any:
    """``CliRunner.invoke(app, ...)`` rebuilds the click command from every signature on each
    call (0.1 s of CPU, hundreds of calls); splitexit's is built once, as in a real process
    (``splitexit.cli.click_command``). Other Typer apps (a test's own) are built as before."""
    return click_command() if given is app else _build_command(given)


typer.testing._get_command = _splitexit_command_once


# session fixtures that take seconds to build (a training run, an ONNX export) -> the xdist
# group of the tests that use one: one worker builds it, once. The netns tests use the
# runtime's `deployable` too, so its users join their group rather than build it twice.
EXPENSIVE_FIXTURES = {"deployable": "netns", "exported": "exported", "tiny_profile": "tiny_profile"}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test without an ``xdist_group`` of its own the group of the first expensive
    session fixture it uses, else the group of its file (where its module fixtures live).
    With ``--dist loadgroup`` (``make test``) a group runs on one worker; without xdist the
    mark does nothing. ``tryfirst``: xdist reads the groups in its own hook."""
    for item in items:
        if item.get_closest_marker("xdist_group") is not None:
            continue
        used = getattr(item, "fixturenames", ())
        fixture = next((name for name in EXPENSIVE_FIXTURES if name in used), None)
        group = EXPENSIVE_FIXTURES[fixture] if fixture else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config: pytest.Config) -> None:
    """Refuse ``--dist loadgroup`` where xdist cannot apply the groups: it writes them into
    the node ids, which pytest 9.2 no longer lets it do (pytest-xdist#1386, open in xdist
    3.8.0), and the netns and cgroup tests would then run on two workers at once."""
    if getattr(config.option, "dist", "no") != "loadgroup":
        return
    import xdist
    from packaging.version import Version

    if Version(pytest.__version__) >= Version("9.2") and Version(xdist.__version__) <= Version(
        "3.8.0"
    ):
        raise pytest.UsageError(
            f"--dist loadgroup ignores the test groups with pytest {pytest.__version__} and "
            f"pytest-xdist {xdist.__version__} (pytest-xdist#1386): install pytest<9.2 (the "
            "dev extra pins it) or run in one process (PYTEST_WORKERS=1)"
        )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-durations",
        type=int,
        default=None,
        metavar="N",
        help="list the N tests that used the most CPU time (setup, call and teardown, with "
        "their finished child processes) beside their wall time (0: every test over 1 s). "
        "The `slow` rule of CONTRIBUTING.md is read off it: CPU time barely moves with the "
        "machine's load, wall time does.",
    )


def _cpu_s() -> float:
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


_started = pytest.StashKey[tuple[float, float]]()
_timings: list[tuple[float, float, str]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.config.getoption("cpu_durations") is not None:
        item.stash[_started] = (_cpu_s(), time.perf_counter())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """With ``--cpu-durations``: CPU and wall time from the start of setup to the end of
    teardown, carried by the teardown report (so that xdist brings it to the controller)."""
    if call.when == "teardown" and _started in item.stash:
        cpu, wall = item.stash[_started]
        item.user_properties.append(("cpu_s", _cpu_s() - cpu))
        item.user_properties.append(("wall_s", time.perf_counter() - wall))
    yield


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        found = dict(report.user_properties)
        if "cpu_s" in found:
            _timings.append((float(found["cpu_s"]), float(found["wall_s"]), report.nodeid))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    count = config.getoption("cpu_durations")
    if count is None or not _timings:
        return
    ranked = sorted(_timings, reverse=True)
    shown = [t for t in ranked if t[0] > 1.0] if count == 0 else ranked[:count]
    total = sum(t[0] for t in _timings)
    terminalreporter.write_sep("=", f"CPU time per test (all tests: {total:.1f} s)")
    for cpu, wall, nodeid in shown:
        terminalreporter.write_line(f"{cpu:7.2f}s cpu {wall:7.2f}s wall  {nodeid}")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move what importing and collecting made (torch, every test item) out of the cyclic
    collector's reach: it lives for the whole run anyway, and a full ``gc.collect()``, which
    statsmodels' Holm correction runs on every call, then scans only what the tests make
    instead of the whole heap (seconds per call in a full run)."""
    gc.freeze()


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[[dict[str, Any], str], Path]:
    def write(data: dict[str, Any], name: str = "topology.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[dict[str, Any], str], Path]:
    def write(data: dict[str, Any], name: str = "profile.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    return write
