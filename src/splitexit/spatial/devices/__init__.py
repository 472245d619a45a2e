"""Devices and clusters: the second layer of ``splitexit.spatial`` (imports only geometry).

Device latency models (synthetic presets and measured tables), providers and their links,
the groups of seed 003's Tables I-III, cluster and device-table files, and
:func:`make_problem`, which compiles a model on a cluster into the arrays the simulator
reads. Measuring a device with torch lives in ``devices._measure`` (imports torch).

>>> from splitexit.spatial.devices import group_cluster
>>> group_cluster("DA", bandwidth=50e6).size
4
"""

from __future__ import annotations

from splitexit.spatial.devices._cluster import Cluster, Provider, group_cluster, group_names
from splitexit.spatial.devices._compile import make_problem
from splitexit.spatial.devices._devices import (
    DEVICE_PRESETS,
    DeviceModel,
    ShapedDevice,
    SyntheticDevice,
    TableDevice,
    device_preset,
)
from splitexit.spatial.devices._files import load_cluster, load_device_table, save_device_table
from splitexit.spatial.devices._options import problem_from_options
from splitexit.spatial.devices._slowdown import slowed, timed

__all__ = [
    "DEVICE_PRESETS",
    "Cluster",
    "DeviceModel",
    "Provider",
    "ShapedDevice",
    "SyntheticDevice",
    "TableDevice",
    "device_preset",
    "group_cluster",
    "group_names",
    "load_cluster",
    "load_device_table",
    "make_problem",
    "problem_from_options",
    "save_device_table",
    "slowed",
    "timed",
]
