"""Layer geometry and the simulator: the bottom layer of ``splitexit.spatial``.

Layer specs (:class:`ModelSpec`, the model zoo, specs read from files or traced from torch),
the Vertical-Splitting Law (which input rows a split-part needs), strategies and the
simulator that times a strategy on a compiled :class:`Problem`. Imports nothing else of
``splitexit.spatial``; the devices layer compiles a :class:`Problem` (``make_problem``).
The torch proof that splitting is exact lives in ``geometry._torch`` (imports torch).

>>> from splitexit.spatial.geometry import load_model
>>> load_model("vgg16").num_layers
18
"""

from __future__ import annotations

from splitexit.spatial.geometry._from_torch import spec_from_torch
from splitexit.spatial.geometry._geometry import (
    FloatArray,
    IntArray,
    Layer,
    ModelSpec,
    Op,
    cuts_to_intervals,
    layer_input_rows,
    op_input_rows,
    volume_rows,
)
from splitexit.spatial.geometry._problem import (
    Network,
    Problem,
    Strategy,
    check_strategy,
    strategy_from_mapping,
)
from splitexit.spatial.geometry._simulator import Run, SimResult, simulate
from splitexit.spatial.geometry._spec import model_from_mapping
from splitexit.spatial.geometry._zoo import load_model, model_names, zoo_mapping

__all__ = [
    "FloatArray",
    "IntArray",
    "Layer",
    "ModelSpec",
    "Network",
    "Op",
    "Problem",
    "Run",
    "SimResult",
    "Strategy",
    "check_strategy",
    "cuts_to_intervals",
    "layer_input_rows",
    "load_model",
    "model_from_mapping",
    "model_names",
    "op_input_rows",
    "simulate",
    "spec_from_torch",
    "strategy_from_mapping",
    "volume_rows",
    "zoo_mapping",
]
