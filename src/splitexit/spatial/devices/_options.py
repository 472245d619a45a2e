"""Building a problem from the command line's options (strings with units), validated here."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from splitexit._validation import InstanceOf, PathLike, validate_params
from splitexit.errors import InputError
from splitexit.spatial.devices._cluster import group_cluster
from splitexit.spatial.devices._compile import make_problem
from splitexit.spatial.devices._files import load_cluster
from splitexit.spatial.geometry._problem import Problem
from splitexit.spatial.geometry._zoo import load_model
from splitexit.units import parse_bandwidth, parse_duration

__all__ = ["problem_from_options"]


def _rate(name: str, text: str) -> float:
    try:
        value = parse_bandwidth(text)
    except InputError as exc:
        raise InputError(f"--{name}: {exc}") from None
    if not value > 0:
        raise InputError(f"--{name} must be > 0, got {text!r}")
    return value


@validate_params(
    {
        "model": [InstanceOf(str)],
        "group": [InstanceOf(str), None],
        "bandwidth": [InstanceOf(str), None],
        "device": [InstanceOf(str), None],
        "cluster": [PathLike(), None],
        "overhead": [InstanceOf(str), None],
        "requester_bandwidth": [InstanceOf(str), None],
    }
)
def problem_from_options(
    model: str,
    *,
    group: str | None = None,
    bandwidth: str | None = None,
    device: str | None = None,
    cluster: Path | None = None,
    overhead: str | None = None,
    requester_bandwidth: str | None = None,
) -> Problem:
    """A model on a group of the paper (``group`` with ``bandwidth`` or ``device``) or on a
    cluster file; ``overhead`` and ``requester_bandwidth`` override the defaults.

    >>> problem_from_options("tinycnn", group="DB", bandwidth="50Mbps").num_devices
    4
    """
    if (group is None) == (cluster is None):
        raise InputError("give exactly one of --group (DA-DC, NA-ND, LA-LD) and --cluster FILE")
    overhead_s = None
    if overhead is not None:
        try:
            overhead_s = parse_duration(overhead)
        except InputError as exc:
            raise InputError(f"--overhead: {exc}") from None
        if overhead_s < 0:
            raise InputError(f"--overhead must be >= 0, got {overhead!r}")
    requester = (
        None if requester_bandwidth is None else _rate("requester-bandwidth", requester_bandwidth)
    )
    spec = load_model(model)
    if cluster is not None:
        if bandwidth is not None or device is not None:
            raise InputError("--bandwidth and --device go with --group, not with --cluster")
        net = load_cluster(cluster)
        if overhead_s is not None:
            net = dataclasses.replace(net, overhead_s=overhead_s)
        if requester is not None:
            net = dataclasses.replace(net, requester_bandwidth=requester)
    else:
        assert group is not None
        net = group_cluster(
            group,
            bandwidth=None if bandwidth is None else _rate("bandwidth", bandwidth),
            device=device,
            requester_bandwidth=requester,
            overhead_s=2e-3 if overhead_s is None else overhead_s,
        )
    return make_problem(spec, net)
