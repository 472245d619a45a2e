"""Spatial distribution of CNN inference over heterogeneous edge devices (DistrEdge, seed 003).

A CNN is a chain of layers (:class:`ModelSpec`); a strategy cuts it into layer-volumes and
splits each volume along the height among the providers (:class:`Strategy`). The simulator
times a strategy on a :class:`Cluster` of providers with non-linear latency tables; LC-PSS
plus DDPG (OSDS), seven baselines and our fast optimizer produce strategies.

Numpy only at import: torch (the geometry proof, ``profile-device``, ``spec_from_torch``),
gymnasium and stable-baselines3 (OSDS) are imported when used.

Four sub-packages, each importing only those before it: ``geometry`` (layer specs, the
Vertical-Splitting Law, strategies, the simulator), ``devices`` (device models, clusters,
files, ``make_problem``), ``methods`` (seven baselines, LC-PSS + OSDS, ``fast``) and
``experiments`` (comparisons, tables, sweeps, the dynamic study, reports). This package
re-exports their public names.

>>> from splitexit.spatial import group_cluster, load_model, make_problem, offload, simulate
>>> problem = make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=50e6))
>>> round(simulate(problem, offload(problem)).ips, 1) > 0
True
"""

from __future__ import annotations

from typing import Any

from splitexit.spatial.devices import (
    DEVICE_PRESETS,
    Cluster,
    Provider,
    ShapedDevice,
    SyntheticDevice,
    TableDevice,
    device_preset,
    group_cluster,
    group_names,
    load_cluster,
    load_device_table,
    make_problem,
    problem_from_options,
    save_device_table,
)
from splitexit.spatial.experiments import (
    METHODS,
    SAMPLE_SIZES,
    TABLES,
    BarsInfo,
    Case,
    Comparison,
    LinesInfo,
    MethodResult,
    alpha_sweep,
    bars_info,
    case_names,
    compare,
    gpu_shaped,
    lines_markdown,
    merge_records,
    print_comparison,
    render_bars,
    render_lines,
    run_table,
    samples_markdown,
    samples_sweep,
    table_markdown,
)
from splitexit.spatial.geometry import (
    Layer,
    ModelSpec,
    Op,
    Problem,
    Run,
    SimResult,
    Strategy,
    check_strategy,
    cuts_to_intervals,
    layer_input_rows,
    load_model,
    model_from_mapping,
    model_names,
    op_input_rows,
    simulate,
    spec_from_torch,
    strategy_from_mapping,
    volume_rows,
    zoo_mapping,
)
from splitexit.spatial.methods import (
    ExactFinish,
    LinearFinish,
    OSDSConfig,
    OSDSResult,
    PartitionScorer,
    aofl,
    capability,
    coedge,
    deeperthings,
    deepthings,
    epsilon_noise,
    equal_finish_cuts,
    fast,
    layer_capability,
    lcpss,
    mednn,
    modnn,
    offload,
    osds,
    polish,
    proportional_cuts,
    rollout,
    split_volumes,
)

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
    "ShapedDevice",
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
    "gpu_shaped",
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
    "SplitEnv": "splitexit.spatial.methods",
    "action_to_cuts": "splitexit.spatial.methods",
    "DynamicResult": "splitexit.spatial.experiments",
    "bandwidth_traces": "splitexit.spatial.experiments",
    "dynamic_study": "splitexit.spatial.experiments",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'splitexit.spatial' has no attribute {name!r}")
