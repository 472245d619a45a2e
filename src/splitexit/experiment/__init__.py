"""`splitexit run EXPERIMENT.yaml`: from a model and a topology to a measured deployment.

Profile (or reuse the profile), plan, export the recommendation and a spread of the Pareto
frontier, deploy each on the emulated testbed, measure, and write a report folder with the
predictions against the measurements. Its steps are library pipelines of their own, called by
the CLI too (`splitexit export`, `splitexit testbed run`): ``resolve_configuration``,
``export_configuration`` (``export_net``), ``deploy_and_measure``. Importing this package
loads neither torch nor gRPC.
"""

from splitexit.experiment._pipeline import (
    ExportResult,
    default_work_dir,
    deploy_and_measure,
    export_configuration,
    export_net,
    profile_data,
    resolve_configuration,
)
from splitexit.experiment._run import ExperimentResult, check_report_folder, run_experiment
from splitexit.experiment._spec import (
    Experiment,
    Measure,
    Requirement,
    Train,
    default_experiment_path,
    load_experiment,
)
from splitexit.experiment._study_subject import StudySubjectFiles, export_study_subject

__all__ = [
    "Experiment",
    "ExperimentResult",
    "ExportResult",
    "Measure",
    "Requirement",
    "StudySubjectFiles",
    "Train",
    "check_report_folder",
    "default_experiment_path",
    "default_work_dir",
    "deploy_and_measure",
    "export_configuration",
    "export_net",
    "export_study_subject",
    "load_experiment",
    "profile_data",
    "resolve_configuration",
    "run_experiment",
]
