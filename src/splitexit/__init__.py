"""splitexit: plan and run DNN deployments combining partitioning, early exit and placement.

The planner needs numpy only; nothing imported here pulls in torch.

>>> import splitexit
>>> result = splitexit.plan(splitexit.load_profile("example"), splitexit.load_topology("mobile"))
>>> result.best.config.num_partitions >= 1
True
"""

from importlib.metadata import PackageNotFoundError, version

from splitexit.configuration import Configuration
from splitexit.errors import InfeasibleError, InputError, SplitexitError, UnitError
from splitexit.perfmodel import Estimate
from splitexit.planner import Plan, PlanPoint, plan
from splitexit.profile import Profile, load_profile, random_profile, save_profile
from splitexit.topology import Link, Tier, Topology, load_topology, preset_names

try:  # pyproject.toml's `version` is the one source; installed metadata carries it
    __version__ = version("splitexit")
except PackageNotFoundError:  # sources on sys.path without an install
    __version__ = "0+unknown"

__all__ = [
    "Configuration",
    "Estimate",
    "InfeasibleError",
    "InputError",
    "Link",
    "Plan",
    "PlanPoint",
    "Profile",
    "SplitexitError",
    "Tier",
    "Topology",
    "UnitError",
    "load_profile",
    "load_topology",
    "plan",
    "preset_names",
    "random_profile",
    "save_profile",
]
