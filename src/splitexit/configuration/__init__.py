"""A configuration (T, P, A) and the exit rule: the one definition every room uses.

Depends on nothing of ours but ``errors``, so the planner, the export, the runtime and the
fidelity replay can all import it.
"""

from splitexit.configuration._configuration import Configuration
from splitexit.configuration._exit_rule import (
    below_threshold,
    check_exit_thresholds,
    exit_partitions,
    leaves_here,
)

__all__ = [
    "Configuration",
    "below_threshold",
    "check_exit_thresholds",
    "exit_partitions",
    "leaves_here",
]
