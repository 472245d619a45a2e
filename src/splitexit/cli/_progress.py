"""Progress bars of the CLI's long work (rich, on stderr), and its logging switch.

Quiet when stderr is not a terminal or with ``--quiet``: pipes and CI logs get no bars.
A :class:`SampleBar` is the testbed's ``progress`` hook: called once per sample, it also
takes each delivered sample's latency (``observe``) for a live p50/p99.

>>> with SampleBar("streaming", total=3, enabled=False) as bar:
...     for latency in (0.010, 0.020, 0.030):
...         bar.observe(latency)
...         bar()
>>> bar.done, round(bar.percentile(50) * 1e3)
(3, 20)
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Annotated, Any

import numpy as np
import typer

from splitexit.errors import InputError

__all__ = [
    "LOG_LEVELS",
    "LogLevelOpt",
    "QuietOpt",
    "SampleBar",
    "VerboseOpt",
    "progress_enabled",
    "set_log_level",
    "status",
    "steps",
]

LOG_LEVELS = ("debug", "info", "warning", "error")


def progress_enabled(quiet: bool = False) -> bool:
    """Bars only for a person: not ``quiet`` and stderr is a terminal."""
    return not quiet and sys.stderr.isatty()


def set_log_level(level: str | None, verbose: bool = False) -> None:
    """``-v`` means debug; ``--log-level`` one of :data:`LOG_LEVELS`; logs go to stderr."""
    name = "debug" if verbose else level
    if name is None:
        return
    if name.lower() not in LOG_LEVELS:
        raise InputError(f"--log-level must be one of {', '.join(LOG_LEVELS)}, got {name!r}")
    logging.basicConfig(
        level=name.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("splitexit").setLevel(name.upper())


def _progress(transient: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("{task.fields[extra]}"),
        console=Console(stderr=True),
        transient=transient,
    )


class SampleBar:
    """Samples done, ETA and the live p50/p99 of delivered samples; thread-safe (clients
    call it from their threads). ``enabled=False`` counts without drawing."""

    def __init__(self, description: str, total: int, *, enabled: bool = True) -> None:
        self.description = description
        self.total = total
        self.enabled = enabled
        self.done = 0
        self._latencies: list[float] = []
        self._lock = threading.Lock()
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> SampleBar:
        return self  # the bar starts with the first sample: elapsed and ETA are streaming's

    def _start(self) -> None:
        self._bar = _progress(transient=False)
        self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total, extra="")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def observe(self, latency_s: float | None) -> None:
        """A delivered sample's end-to-end latency (None: failed, not counted)."""
        if latency_s is not None:
            with self._lock:
                self._latencies.append(latency_s)

    def percentile(self, q: float) -> float:
        with self._lock:
            return float(np.percentile(self._latencies, q)) if self._latencies else float("nan")

    def __call__(self) -> None:
        with self._lock:
            self.done += 1
            done = self.done
            if self.enabled and self._bar is None:
                self._start()
        if self._bar is not None and (done % 5 == 0 or done == self.total):
            p50, p99 = self.percentile(50) * 1e3, self.percentile(99) * 1e3
            self._bar.update(
                self._task, completed=done, extra=f"p50 {p50:.1f} ms  p99 {p99:.1f} ms"
            )


@contextmanager
def steps(description: str, total: int, *, enabled: bool = True) -> Iterator[Any]:
    """A bar of ``total`` steps (configurations, methods); yields ``advance(text="")``."""
    if not enabled:
        yield lambda text="": None
        return
    bar = _progress(transient=False)
    task = bar.add_task(description, total=total, extra="")
    with bar:

        def advance(text: str = "") -> None:
            bar.update(task, advance=1, extra=text)

        yield advance


LogLevelOpt = Annotated[
    str | None,
    typer.Option("--log-level", help="Logs on stderr: debug, info, warning or error."),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Debug logs on stderr.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar (none when not a terminal).")
]


@contextmanager
def status(text: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner with elapsed time for work that reports no steps (re-timing)."""
    if not enabled:
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(text):
        yield
