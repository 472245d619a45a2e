"""The command line: parse, call a library pipeline, render, and turn user errors into exit 2.

Every command module exposes ``register(app)``; this package builds the one Typer ``app`` from
them in a fixed order and runs it from ``main`` (the ``splitexit`` console script and
``python -m splitexit``).

>>> sorted(c.name for c in app.registered_commands)[:3]
['export', 'fidelity', 'plan']
"""

from __future__ import annotations

import sys

import typer

from splitexit.cli import export, fidelity, operators, plan, profiling, runtime, spatial
from splitexit.cli import study as _study

__all__ = ["app", "main"]

app = typer.Typer(
    name="splitexit",
    help="Plan DNN deployments that combine partitioning, early exit and placement.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (plan, profiling, export, spatial, runtime, fidelity, operators, _study):
    _module.register(app)


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
