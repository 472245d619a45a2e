"""Builders of small topologies and profiles shared by the tests; seeds marked slow."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pytest

from splitexit import Profile, Topology


def tiny_topology(
    ratios: list[float], bandwidths: list[float], latencies: list[float], *, dst: int = 0
) -> Topology:
    """A topology from plain lists (bit/s, seconds), validated like a file."""
    return Topology.from_mapping(
        {
            "name": "tiny",
            "tiers": [{"name": f"t{j}", "compute_ratio": r} for j, r in enumerate(ratios)],
            "links": [
                {"bandwidth": b, "latency": lat}
                for b, lat in zip(bandwidths, latencies, strict=True)
            ],
            "destination": f"t{dst}",
        }
    )


def random_topology(num_tiers: int, seed: int, *, dst: int | None = None) -> Topology:
    rng = np.random.default_rng(seed)
    ratios = sorted(rng.uniform(1, 200, num_tiers).tolist(), reverse=True)
    return tiny_topology(
        ratios,
        rng.uniform(1e5, 1e8, num_tiers - 1).tolist(),
        rng.uniform(0, 0.05, num_tiers - 1).tolist(),
        dst=int(rng.integers(num_tiers)) if dst is None else dst,
    )


def valid_topology_mapping() -> dict[str, Any]:
    return {
        "name": "mobile",
        "tiers": [
            {"name": "smartwatch", "compute_ratio": 500},
            {"name": "smartphone", "compute_ratio": 10},
            {"name": "edge", "compute_ratio": 2.5},
            {"name": "cloud", "compute_ratio": 1},
        ],
        "links": [
            {"bandwidth": "500kbps", "latency": "6ms"},
            {"bandwidth": "10Mbps", "latency": "40ms"},
            {"bandwidth": "500Mbps", "latency": "50ms"},
        ],
        "source": "smartwatch",
        "destination": "smartwatch",
    }


def valid_profile_mapping() -> dict[str, Any]:
    return {
        "format": "splitexit.profile/1",
        "model": "toy",
        "dataset": "toy",
        "num_classes": 10,
        "input_bits": 8000,
        "result_bits": 320,
        "thresholds": [0.5, 1.0],
        "blocks": [
            {"name": "b1", "output_bits": 4000, "compute_s": 0.001},
            {"name": "b2", "output_bits": 2000, "compute_s": 0.002},
            {"name": "b3", "output_bits": 1000, "compute_s": 0.003},
        ],
        "branches": [
            {"compute_s": 0.0005, "accuracy": 0.6},
            {"compute_s": 0.0005, "accuracy": 0.8},
            {"compute_s": 0.0005, "accuracy": 0.9},
        ],
        "exit_rates": [[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]],
    }


def profile_from(data: dict[str, Any]) -> Profile:
    return Profile.from_mapping(data)


def seeds(values: Iterable[int], *, slow: set[int]) -> list[Any]:
    """Parameters of a seeded property test, those in ``slow`` marked ``slow``: their random
    instances are the large ones, over a second of CPU each (CONTRIBUTING.md, the rule)."""
    values = list(values)
    assert slow <= set(values), slow - set(values)
    return [pytest.param(v, marks=pytest.mark.slow) if v in slow else v for v in values]


def share_onnx_registry() -> None:
    """Build torch's table of ATen -> ONNX functions once per test process.

    ``torch.onnx.export(dynamo=True)`` rebuilds it on every call by reading the source of
    about 3,000 onnxscript functions (about 0.7 s of CPU; three calls per three-partition
    export). The table depends on the installed torch and onnxscript only; each export gets
    its own copy (a fresh ``functions`` mapping of fresh lists), so an export that registers
    a custom operator changes its copy alone. Idempotent; the exported graphs are unchanged
    (``tests/export``'s byte-for-byte checks run with it)."""
    import copy

    from torch.onnx._internal.exporter import _registration

    registry = _registration.ONNXRegistry
    if getattr(registry.from_torchlib, "shared_by_splitexit_tests", False):
        return
    build = registry.from_torchlib.__func__  # type: ignore[attr-defined]
    built: dict[tuple[Any, ...], Any] = {}

    def from_torchlib(cls: type, *args: Any, **kwargs: Any) -> Any:
        key = (cls, args, tuple(sorted(kwargs.items())))
        if key not in built:
            built[key] = build(cls, *args, **kwargs)
        table = copy.copy(built[key])
        table.functions = {op: list(metas) for op, metas in built[key].functions.items()}
        return table

    from_torchlib.shared_by_splitexit_tests = True  # type: ignore[attr-defined]
    registry.from_torchlib = classmethod(from_torchlib)  # type: ignore[method-assign,assignment]
