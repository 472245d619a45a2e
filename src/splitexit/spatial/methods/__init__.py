"""The methods that produce strategies: the third layer (imports geometry and devices).

The seven baselines of seed 003 (offload, MoDNN, MeDNN, DeepThings, DeeperThings, CoEdge,
AOFL), LC-PSS with OSDS (DDPG, stable-baselines3) that together form DistrEdge, and our
``fast`` optimizer (equal-finish splits, coordinate polish). gymnasium and stable-baselines3
are imported when used (``SplitEnv``, ``action_to_cuts`` and ``osds``).

>>> from splitexit.spatial.devices import group_cluster, make_problem
>>> from splitexit.spatial.geometry import load_model
>>> from splitexit.spatial.methods import offload
>>> problem = make_problem(load_model("vgg16"), group_cluster("DA", bandwidth=50e6))
>>> offload(problem).num_volumes
1
"""

from __future__ import annotations

from typing import Any

from splitexit.spatial.methods._baselines import (
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
from splitexit.spatial.methods._equalize import FinishModel, LinearFinish, equal_finish_cuts
from splitexit.spatial.methods._fast import ExactFinish, fast, polish, split_volumes
from splitexit.spatial.methods._lcpss import PartitionScorer, lcpss
from splitexit.spatial.methods._osds import (
    OSDSConfig,
    OSDSResult,
    epsilon_noise,
    osds,
    rollout,
)

__all__ = [
    "ExactFinish",
    "FinishModel",
    "LinearFinish",
    "OSDSConfig",
    "OSDSResult",
    "PartitionScorer",
    "SplitEnv",
    "action_to_cuts",
    "aofl",
    "capability",
    "coedge",
    "deeperthings",
    "deepthings",
    "epsilon_noise",
    "equal_finish_cuts",
    "fast",
    "layer_capability",
    "lcpss",
    "mednn",
    "modnn",
    "offload",
    "osds",
    "polish",
    "proportional_cuts",
    "rollout",
    "split_volumes",
]

# gymnasium is imported on first use of the environment.
_LAZY = {"SplitEnv", "action_to_cuts"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from splitexit.spatial.methods import _env

        return getattr(_env, name)
    raise AttributeError(f"module 'splitexit.spatial.methods' has no attribute {name!r}")
