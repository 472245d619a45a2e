"""`splitexit run EXPERIMENT.yaml`: from a model and a topology to a measured deployment.

Profile (or reuse the profile), plan, export the recommendation and a spread of the Pareto
frontier, deploy each on the emulated testbed, measure, and write a report folder with the
predictions against the measurements. Importing this package loads neither torch nor gRPC.
"""

from splitexit.experiment._run import ExperimentResult, run_experiment
from splitexit.experiment._spec import (
    Experiment,
    Measure,
    Requirement,
    Train,
    default_experiment_path,
    load_experiment,
)

__all__ = [
    "Experiment",
    "ExperimentResult",
    "Measure",
    "Requirement",
    "Train",
    "default_experiment_path",
    "load_experiment",
    "run_experiment",
]
