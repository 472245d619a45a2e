"""The planner: enumerate (T, P, A), keep the Pareto frontier, solve P_lat and P_acc."""

from splitexit.planner._plan import DEFAULT_ACCURACY_MARGIN, load_plan_inputs, plan
from splitexit.planner._result import Baseline, Plan, PlanPoint, Requirement
from splitexit.planner._space import count_configurations
from splitexit.planner._sweep import Candidates, SampledPoints, Sweep, sweep
from splitexit.planner._variants import PARTITIONED_OPERATORS, check_variants, variant_label
from splitexit.planner.reference import reference_frontier, reference_optimum

__all__ = [
    "DEFAULT_ACCURACY_MARGIN",
    "PARTITIONED_OPERATORS",
    "Baseline",
    "Candidates",
    "Plan",
    "PlanPoint",
    "Requirement",
    "SampledPoints",
    "Sweep",
    "check_variants",
    "count_configurations",
    "load_plan_inputs",
    "plan",
    "reference_frontier",
    "reference_optimum",
    "sweep",
    "variant_label",
]
