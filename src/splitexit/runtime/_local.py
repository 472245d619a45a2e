"""Worker processes on this machine: one per tier, on loopback (emulated testbed) or each in
its own network namespace on the namespace's address (netns testbed: ``prefixes``, ``hosts``).
"""

from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from types import TracebackType

from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError

__all__ = ["READY_PREFIX", "TOKEN_ENV", "LocalWorkers"]

TOKEN_ENV = "SPLITEXIT_TOKEN"
READY_PREFIX = "splitexit worker ready "  # then TIER ADDRESS, on the worker's first line

# How a worker starts on Linux: before anything is imported it asks the kernel for SIGKILL
# when its parent ends (PR_SET_PDEATHSIG), and leaves at once if the parent has already gone
# (argv[1] is the parent's id, 0 when a prefix such as `ip netns exec` may stand between);
# then it runs `splitexit worker`. A driver killed while its workers import (seconds on a
# loaded machine) no longer leaves them running until they are ready. The worker's own
# parent watch (``--parent``) stays for the other systems.
_BOOT = """\
import ctypes, os, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
except (OSError, AttributeError):
    pass
if sys.argv[1] != "0" and os.getppid() != int(sys.argv[1]):
    os._exit(0)
sys.argv[:2] = ["splitexit"]
from splitexit.cli import main
main()
"""


@validate_params(
    {
        "tiers": [InstanceOf(list, tuple)],
        "queue": [Interval(int, 1, None)],
        "pool": [Interval(int, 1, None)],
        "start_timeout_s": [Interval(float, 0, None, closed="neither")],
        "extra_args": [InstanceOf(list, tuple)],
        "prefixes": [InstanceOf(Mapping), None],
        "hosts": [InstanceOf(Mapping), None],
        "envs": [InstanceOf(Mapping), None],
    }
)
class LocalWorkers:
    """Start ``splitexit worker`` processes for ``tiers`` (context manager).

    Each binds ``127.0.0.1:0`` (or ``hosts[tier]``, port 0) and prints its address on its
    first line; ``addresses`` maps tier -> address. ``prefixes[tier]`` goes before the
    command (``ip netns exec NS``), ``envs[tier]`` into its environment. The shared token is
    random and travels in the environment, never on a command line. On Linux a worker gets
    SIGKILL from the kernel when the thread that started it ends, so ``start`` from a thread
    that outlives the workers (the main thread, as the testbed and the study do).

    >>> LocalWorkers(["edge"], hosts={"edge": "10.213.0.2"}).tiers  # start() runs them
    ['edge']
    """

    def __init__(
        self,
        tiers: Sequence[str],
        *,
        queue: int = 32,
        pool: int = 8,
        start_timeout_s: float = 60.0,
        extra_args: Sequence[str] = (),
        prefixes: Mapping[str, Sequence[str]] | None = None,
        hosts: Mapping[str, str] | None = None,
        envs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        if len(set(tiers)) != len(tiers):
            raise InputError(f"one worker per tier: tiers repeat in {list(tiers)}")
        self.tiers = list(tiers)
        self.token = secrets.token_hex(16)
        self.addresses: dict[str, str] = {}
        self.processes: dict[str, subprocess.Popen[str]] = {}
        self._queue, self._pool = queue, pool
        self._timeout = start_timeout_s
        self._extra = list(extra_args)
        self._prefixes = {t: list(p) for t, p in (prefixes or {}).items()}
        self._hosts = dict(hosts or {})
        self._envs = {t: dict(e) for t, e in (envs or {}).items()}

    def __enter__(self) -> LocalWorkers:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        env = dict(os.environ, **{TOKEN_ENV: self.token, "OMP_WAIT_POLICY": "PASSIVE"})
        for tier in self.tiers:
            prefix = self._prefixes.get(tier, [])
            start = ["-m", "splitexit"]
            if sys.platform == "linux":
                start = ["-c", _BOOT, "0" if prefix else str(os.getpid())]
            command = [
                *prefix, sys.executable, *start, "worker",
                "--listen", f"{self._hosts.get(tier, '127.0.0.1')}:0", "--tier", tier,
                "--queue", str(self._queue), "--pool", str(self._pool),
                "--parent", str(os.getpid()),
                # the testbed reports failures itself; a worker's info lines would interleave
                "--log-level", "warning", *self._extra,
            ]  # fmt: skip
            self.processes[tier] = subprocess.Popen(
                command,
                env={**env, **self._envs.get(tier, {})},
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        deadline = time.monotonic() + self._timeout
        for tier, process in self.processes.items():
            self.addresses[tier] = _ready_address(tier, process, deadline)

    def kill(self, tier: str) -> None:
        """SIGKILL the worker of ``tier`` (fault injection)."""
        process = self.processes[tier]
        process.kill()
        process.wait(5)

    def close(self, grace_s: float = 5.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        end = time.monotonic() + grace_s
        for process in self.processes.values():
            try:
                process.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
            if process.stdout is not None:
                process.stdout.close()


def _ready_address(tier: str, process: subprocess.Popen[str], deadline: float) -> str:
    assert process.stdout is not None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise InputError(f"worker of tier {tier} did not start in time")
        ready, _, _ = select.select([process.stdout], [], [], left)
        if not ready:
            continue
        line = process.stdout.readline()
        if not line:
            raise InputError(
                f"worker of tier {tier} exited with status {process.wait(5)} before it was ready"
            )
        if line.startswith(READY_PREFIX):
            return line[len(READY_PREFIX) :].split()[1]
