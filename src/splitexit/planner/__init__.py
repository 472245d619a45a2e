"""The planner: enumerate (T, P, A), keep the Pareto frontier, solve P_lat and P_acc."""

from splitexit.planner._plan import DEFAULT_ACCURACY_MARGIN, load_plan_inputs, plan
from splitexit.planner._result import Baseline, Plan, PlanPoint, Requirement
from splitexit.planner._space import count_configurations
from splitexit.planner._sweep import Candidates, SampledPoints, Sweep, sweep
from splitexit.planner.reference import reference_frontier, reference_optimum

__all__ = [
    "DEFAULT_ACCURACY_MARGIN",
    "Baseline",
    "Candidates",
    "Plan",
    "PlanPoint",
    "Requirement",
    "SampledPoints",
    "Sweep",
    "count_configurations",
    "load_plan_inputs",
    "plan",
    "reference_frontier",
    "reference_optimum",
    "sweep",
]
