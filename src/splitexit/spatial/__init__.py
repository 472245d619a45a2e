"""Spatial distribution of CNN inference over heterogeneous edge devices (DistrEdge, seed 003).

A CNN is a chain of layers (:class:`ModelSpec`); a strategy cuts it into layer-volumes and
splits each volume along the height among the providers (:class:`Strategy`). The simulator
times a strategy on a :class:`Cluster` of providers with non-linear latency tables; LC-PSS
plus DDPG (OSDS), seven baselines and our fast optimizer produce strategies.

Numpy only at import: torch (the geometry proof, ``profile-device``, ``spec_from_torch``),
gymnasium and stable-baselines3 (OSDS) are imported when used.

>>> from splitexit.spatial import group_cluster, load_model, make_problem, offload, simulate
>>> problem = make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=50e6))
>>> round(simulate(problem, offload(problem)).ips, 1) > 0
True
"""

from __future__ import annotations

from typing import Any

from splitexit.spatial._baselines import (
    aofl,
    capability,
    coedge,
    deeperthings,
    deepthings,
    layer_capability,
    mednn,
    modnn,
    offload,
    proportional_cuts,
)
from splitexit.spatial._cluster import Cluster, Provider, group_cluster, group_names
from splitexit.spatial._compare import METHODS, Comparison, MethodResult, compare
from splitexit.spatial._devices import DEVICE_PRESETS, SyntheticDevice, TableDevice, device_preset
from splitexit.spatial._equalize import LinearFinish, equal_finish_cuts
from splitexit.spatial._experiments import (
    TABLES,
    Case,
    alpha_sweep,
    case_names,
    merge_records,
    run_table,
    table_markdown,
)
from splitexit.spatial._fast import ExactFinish, fast, polish, split_volumes
from splitexit.spatial._files import load_cluster, load_device_table, save_device_table
from splitexit.spatial._from_torch import spec_from_torch
from splitexit.spatial._geometry import (
    Layer,
    ModelSpec,
    Op,
    cuts_to_intervals,
    layer_input_rows,
    op_input_rows,
    volume_rows,
)
from splitexit.spatial._lcpss import PartitionScorer, lcpss
from splitexit.spatial._options import problem_from_options
from splitexit.spatial._osds import OSDSConfig, OSDSResult, epsilon_noise, osds, rollout
from splitexit.spatial._problem import (
    Problem,
    Strategy,
    check_strategy,
    make_problem,
    strategy_from_mapping,
)
from splitexit.spatial._report import (
    BarsInfo,
    LinesInfo,
    bars_info,
    lines_markdown,
    print_comparison,
    render_bars,
    render_lines,
)
from splitexit.spatial._samples import SAMPLE_SIZES, samples_markdown, samples_sweep
from splitexit.spatial._simulator import Run, SimResult, simulate
from splitexit.spatial._spec import model_from_mapping
from splitexit.spatial._zoo import load_model, model_names, zoo_mapping

__all__ = [
    "DEVICE_PRESETS",
    "METHODS",
    "SAMPLE_SIZES",
    "TABLES",
    "BarsInfo",
    "Case",
    "Cluster",
    "Comparison",
    "DynamicResult",
    "ExactFinish",
    "Layer",
    "LinearFinish",
    "LinesInfo",
    "MethodResult",
    "ModelSpec",
    "OSDSConfig",
    "OSDSResult",
    "Op",
    "PartitionScorer",
    "Problem",
    "Provider",
    "Run",
    "SimResult",
    "SplitEnv",
    "Strategy",
    "SyntheticDevice",
    "TableDevice",
    "action_to_cuts",
    "alpha_sweep",
    "aofl",
    "bandwidth_traces",
    "bars_info",
    "capability",
    "case_names",
    "check_strategy",
    "coedge",
    "compare",
    "cuts_to_intervals",
    "deeperthings",
    "deepthings",
    "device_preset",
    "dynamic_study",
    "epsilon_noise",
    "equal_finish_cuts",
    "fast",
    "group_cluster",
    "group_names",
    "layer_capability",
    "layer_input_rows",
    "lcpss",
    "lines_markdown",
    "load_cluster",
    "load_device_table",
    "load_model",
    "make_problem",
    "mednn",
    "merge_records",
    "model_from_mapping",
    "model_names",
    "modnn",
    "offload",
    "op_input_rows",
    "osds",
    "polish",
    "print_comparison",
    "problem_from_options",
    "proportional_cuts",
    "render_bars",
    "render_lines",
    "rollout",
    "run_table",
    "samples_markdown",
    "samples_sweep",
    "save_device_table",
    "simulate",
    "spec_from_torch",
    "split_volumes",
    "strategy_from_mapping",
    "table_markdown",
    "volume_rows",
    "zoo_mapping",
]

# gymnasium is imported on first use of the environment or the dynamic study.
_LAZY = {
    "SplitEnv": "splitexit.spatial._env",
    "action_to_cuts": "splitexit.spatial._env",
    "DynamicResult": "splitexit.spatial._dynamic",
    "bandwidth_traces": "splitexit.spatial._dynamic",
    "dynamic_study": "splitexit.spatial._dynamic",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'splitexit.spatial' has no attribute {name!r}")
