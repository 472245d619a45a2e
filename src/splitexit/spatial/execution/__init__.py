"""Executing split decisions for real: the fifth layer of ``splitexit.spatial``.

Emulated devices (worker processes slowed down by CPU-time scaling, links charged in the
transfer path exactly as the simulator charges them), profiled in place, running any
method's strategy; and the measured-against-simulated study. torch is imported only by the
workers and when an image is executed.

>>> from splitexit.spatial.execution import emulated_cluster
>>> emulated_cluster([("a", 1.0, 100e6)]).size
1
"""

from __future__ import annotations

from splitexit.spatial.execution._emulated import (
    MAX_WORKERS,
    EmulatedCluster,
    EmulatedDevice,
    emulated_cluster,
    load_emulated,
)
from splitexit.spatial.execution._links import Links, links_of
from splitexit.spatial.execution._pool import ExecutionError, ExecutionPool
from splitexit.spatial.execution._study import (
    ATOL,
    RTOL,
    Measured,
    MeasuredRow,
    check_output,
    measure_methods,
)

__all__ = [
    "ATOL",
    "MAX_WORKERS",
    "RTOL",
    "EmulatedCluster",
    "EmulatedDevice",
    "ExecutionError",
    "ExecutionPool",
    "Links",
    "Measured",
    "MeasuredRow",
    "check_output",
    "emulated_cluster",
    "links_of",
    "load_emulated",
    "measure_methods",
]
