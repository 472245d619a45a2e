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
    random and travels in the environment, never on a command line.

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
            command = [
                *self._prefixes.get(tier, []), sys.executable, "-m", "splitexit", "worker",
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
