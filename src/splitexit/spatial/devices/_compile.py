"""Compile a model on a cluster into the arrays the simulator reads.

>>> from splitexit.spatial.devices import group_cluster, make_problem
>>> from splitexit.spatial.geometry import load_model
>>> make_problem(load_model("vgg16"), group_cluster("DA", bandwidth=50e6)).num_devices
4
"""

from __future__ import annotations

import numpy as np

from splitexit._validation import InstanceOf, validate_params
from splitexit.spatial.devices._cluster import Cluster
from splitexit.spatial.geometry._geometry import FloatArray, ModelSpec
from splitexit.spatial.geometry._problem import Problem

__all__ = ["make_problem"]


@validate_params({"model": [InstanceOf(ModelSpec)], "cluster": [InstanceOf(Cluster)]})
def make_problem(model: ModelSpec, cluster: Cluster) -> Problem:
    """Compile ``model`` on ``cluster`` (latency tables of every provider)."""
    per_device = [p.device.latency_tables(model) for p in cluster.providers]
    tables = tuple(
        np.stack([tables[i] for tables, _ in per_device]) for i in range(model.num_layers)
    )
    firsts = [_first_tables(p.device, model) for p in cluster.providers]
    first_tables = None
    if any(f is not None for f in firsts):  # a device without them: its ordinary tables
        own = [f if f is not None else t for f, (t, _) in zip(firsts, per_device, strict=True)]
        first_tables = tuple(
            np.stack([device[i] for device in own]) for i in range(model.num_layers)
        )
    nears = [_tables_of(p.device, model, "near_latency_tables") for p in cluster.providers]
    near_tables = None
    if any(n is not None for n in nears):
        own = [n if n is not None else t for n, (t, _) in zip(nears, per_device, strict=True)]
        near_tables = tuple(
            np.stack([device[i] for device in own]) for i in range(model.num_layers)
        )
    bits = cluster.feature_bits
    return Problem(
        model=model,
        cluster=cluster,
        tables=tables,
        tail_s=np.array([tail for _, tail in per_device]),
        bandwidth=np.array([p.bandwidth for p in cluster.providers]),
        out_row_bits=np.array([float(ly.w_out * ly.c_out * bits) for ly in model.layers]),
        in_row_bits=float(model.w_in * model.c_in * cluster.input_bits),
        result_bits=float(model.result_elements * bits),
        first_tables=first_tables,
        near_tables=near_tables,
    )


def _first_tables(device: object, model: ModelSpec) -> list[FloatArray] | None:
    """A device's tables of a split-part's first layer (a measured ``TableDevice``'s)."""
    return _tables_of(device, model, "first_latency_tables")


def _tables_of(device: object, model: ModelSpec, name: str) -> list[FloatArray] | None:
    """A device's extra tables by method name (a measured ``TableDevice``'s); or None."""
    method = getattr(device, name, None)
    return None if method is None else method(model)
