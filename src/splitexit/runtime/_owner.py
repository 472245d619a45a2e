"""Who made a kernel object: run ids, owner files and teardown on exit or SIGTERM.

Every namespace and cgroup the testbed makes is named ``splitexit-<run_id>-<suffix>``. Before
it makes any, a run writes ``<state_dir>/<run_id>-<kind>.owner`` holding its pid and the
process's start time (so a recycled pid does not look alive). An object whose owner file is
missing, or names a process that is gone, is stale: the next run removes it. A live run is
never touched, because it writes its owner file before it makes anything.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from splitexit.errors import InputError

__all__ = [
    "PREFIX",
    "STATE_DIR",
    "ExitGuard",
    "check_run_id",
    "claim",
    "new_run_id",
    "owner_alive",
    "run_id_of",
    "unclaim",
]

PREFIX = "splitexit-"
STATE_DIR = Path("/run/splitexit")
_RUN_ID = re.compile(r"[a-z0-9]{1,16}")


def new_run_id() -> str:
    """A fresh run id: 8 lowercase hex digits.

    >>> len(new_run_id())
    8
    """
    return secrets.token_hex(4)


def check_run_id(run_id: str) -> str:
    """``run_id`` if it is 1-16 lowercase letters or digits, else one clear error."""
    if not _RUN_ID.fullmatch(run_id):
        raise InputError(f"run id must be 1-16 lowercase letters or digits, got {run_id!r}")
    return run_id


def run_id_of(name: str) -> str | None:
    """The run id inside ``splitexit-<run_id>-<suffix>``, or None for any other name.

    >>> run_id_of("splitexit-ab12-0"), run_id_of("splitexit"), run_id_of("docker0")
    ('ab12', None, None)
    """
    if not name.startswith(PREFIX):
        return None
    run_id, dash, suffix = name[len(PREFIX) :].partition("-")
    return run_id if dash and suffix and _RUN_ID.fullmatch(run_id) else None


def _start_time(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22: start time in clock ticks


def _owner_file(state_dir: Path, run_id: str, kind: str) -> Path:
    return state_dir / f"{run_id}-{kind}.owner"


def claim(run_id: str, kind: str, *, state_dir: Path = STATE_DIR) -> Path:
    """Record this process as the owner of run ``run_id``'s objects of ``kind``."""
    path = _owner_file(state_dir, check_run_id(run_id), kind)
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
    except OSError as error:
        raise InputError(f"{path}: cannot record the run's owner ({error.strerror})") from None
    return path


def unclaim(run_id: str, kind: str, *, state_dir: Path = STATE_DIR) -> None:
    """Forget the owner file written by :func:`claim` (missing is fine)."""
    with contextlib.suppress(OSError):
        _owner_file(state_dir, run_id, kind).unlink()


def owner_alive(run_id: str, kind: str, *, state_dir: Path = STATE_DIR) -> bool:
    """Whether the process that claimed ``run_id`` for ``kind`` still runs."""
    try:
        pid_text, start = _owner_file(state_dir, run_id, kind).read_text().split()
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    return _start_time(pid) == start


class ExitGuard:
    """Run ``teardown`` once: at :meth:`disarm`, at interpreter exit, or on SIGTERM.

    The SIGTERM handler is installed only from the main thread; it tears down, restores the
    previous handler and delivers the signal again, so the process still ends as it would.
    """

    def __init__(self, teardown: Callable[[], None]) -> None:
        self._teardown = teardown
        self._done = False
        self._lock = threading.Lock()
        self._previous: object = None
        atexit.register(self.run)
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGTERM, self._on_sigterm)

    def run(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        self._teardown()

    def disarm(self) -> None:
        """Tear down now and remove the exit hooks."""
        self.run()
        atexit.unregister(self.run)
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous)  # type: ignore[arg-type]
            self._previous = None

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self.run()
        previous, self._previous = self._previous, None
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)  # type: ignore[arg-type]
        if callable(previous):
            previous(signum, frame)
        else:
            os.kill(os.getpid(), signal.SIGTERM)
