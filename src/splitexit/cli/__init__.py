"""The command line: parse, call a library pipeline, render, and turn user errors into exit 2.

Every command module exposes ``register(app)``; this package builds the one Typer ``app`` from
them in a fixed order and runs it from ``main`` (the ``splitexit`` console script and
``python -m splitexit``).

>>> {"export", "fidelity", "plan"} <= {c.name for c in app.registered_commands}
True
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
from typing import Annotated, Any

import typer
from typer._click import exceptions as click_errors  # typer vendors click

from splitexit.cli import export, fidelity, operators, plan, profiling, runtime, spatial
from splitexit.cli import study as _study

__all__ = ["app", "click_command", "main", "run"]

app = typer.Typer(
    name="splitexit",
    help="Plan DNN deployments that combine partitioning, early exit and placement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_OK, EXIT_FAILED, EXIT_USER, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


def _show_version(value: bool) -> None:
    if value:
        from splitexit import __version__

        print(f"splitexit {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Plan DNN deployments that combine partitioning, early exit and placement."""


for _module in (plan, profiling, export, spatial, runtime, fidelity, operators, _study):
    _module.register(app)


class _Terminated(BaseException):
    """SIGTERM, raised in the main thread so that ``with`` blocks clean up."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated


def _redeliver_dropped_interrupts(unraisable: Any) -> None:
    """``sys.unraisablehook``: Python prints and drops an exception raised inside a finalizer
    (a weakref callback or ``__del__`` run by the garbage collector). When that exception is
    our Ctrl-C or SIGTERM, send the signal again, silently, so that the main thread takes it
    at its next step; anything else goes to the default hook."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt | _Terminated):
        number = (
            signal.SIGINT
            if isinstance(unraisable.exc_value, KeyboardInterrupt)
            else (signal.SIGTERM)
        )
        # from another thread, a moment later: sent from here it would be handled (and
        # dropped) inside the same finalizer
        again = threading.Timer(0.05, os.kill, (os.getpid(), number))
        again.daemon = True
        again.start()
    else:
        sys.__unraisablehook__(unraisable)


def _wrapped_interrupt(exc: BaseException) -> BaseException | None:
    """The Ctrl-C or SIGTERM an exception was raised from, if any: Python 3.11 turns one that
    lands while a class body is being set up (``__set_name__``, during a lazy import) into a
    ``RuntimeError`` caused by it."""
    seen: set[int] = set()
    cause = exc.__cause__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt | _Terminated):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__
    return None


def _interrupted(code: int, what: str) -> None:
    """Say so in one line and leave at once: non-daemon threads are not joined (their
    tracebacks would follow), the ``with`` blocks have already cleaned up."""
    from splitexit.cli._common import print_error

    print_error(f"{what}; stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@functools.cache
def click_command() -> Any:
    """The click command behind ``app``, built once per process. ``app(...)`` and typer's
    ``CliRunner.invoke`` rebuild it from every command's signature on each call (about 0.1 s
    of CPU), which in-process callers (the tests, a notebook) would pay every time; the
    command itself keeps no state between runs."""
    return typer.main.get_command(app)


def run(argv: list[str] | None = None) -> int:
    """Run the app on ``argv`` and return the exit status (0 ok, 1 failed samples or an
    internal error, 2 bad input, 130 Ctrl-C, 143 SIGTERM); click's own usage errors become
    one ``error:`` line.

    >>> run(["--version"])  # doctest: +ELLIPSIS
    splitexit ...
    0
    """
    from splitexit.cli._common import print_error

    try:
        # what ``app(...)`` runs, less its rebuilding; pretty tracebacks are off in ``app``,
        # so an internal error reaches sys.excepthook as it would through Typer.__call__
        code = click_command()(args=argv, prog_name="splitexit", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        return EXIT_USER
    except click_errors.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "splitexit"
        print_error(f"{command}: {exc.format_message()} (see {command} --help)")
        return EXIT_USER
    except click_errors.ClickException as exc:
        print_error(exc.format_message())
        return EXIT_USER
    except typer.Abort:
        return EXIT_INTERRUPTED
    return code if isinstance(code, int) else EXIT_OK


def main() -> None:
    """Console-script entry point: :func:`run` with SIGTERM turned into a clean stop."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
    sys.unraisablehook = _redeliver_dropped_interrupts  # a Ctrl-C is never lost in a finalizer
    try:
        code = run()
    except _Terminated:
        _interrupted(EXIT_TERMINATED, "terminated (SIGTERM)")
    except KeyboardInterrupt:
        _interrupted(EXIT_INTERRUPTED, "interrupted")
    except RuntimeError as exc:
        signal_exc = _wrapped_interrupt(exc)
        if signal_exc is None:
            raise
        if isinstance(signal_exc, _Terminated):
            _interrupted(EXIT_TERMINATED, "terminated (SIGTERM)")
        _interrupted(EXIT_INTERRUPTED, "interrupted")
    if code == EXIT_INTERRUPTED:
        _interrupted(EXIT_INTERRUPTED, "interrupted")
    sys.exit(code)
