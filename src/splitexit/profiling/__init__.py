"""Profiling trained multi-exit models into ``splitexit.profile/1`` files, re-timing a
profile on ONNX Runtime, and validating the estimators against final models (torch).

Not imported by ``splitexit``; the CLI imports it inside ``splitexit profile``,
``splitexit retime`` and ``splitexit validate``.

>>> from splitexit.profiling import RetimeSettings
>>> RetimeSettings(runs=10).percentile
50.0
"""

from splitexit.profiling._measure import normalized_entropy, tensor_bits, time_blocks
from splitexit.profiling._profile import (
    ProfileSettings,
    profile_model,
    trace_path_for,
    write_profile,
)
from splitexit.profiling._retime import RetimeSettings, retime_profile
from splitexit.profiling._validate import (
    ESTIMATORS,
    Fit,
    Measurement,
    ValidationResult,
    choose_partitions,
    measure_final,
    predict,
    validation_result,
)
from splitexit.profiling._validate_run import ValidationSettings, validate
from splitexit.profiling._validation_plot import render_validation_plot

__all__ = [
    "ESTIMATORS",
    "Fit",
    "Measurement",
    "ProfileSettings",
    "RetimeSettings",
    "ValidationResult",
    "ValidationSettings",
    "choose_partitions",
    "measure_final",
    "normalized_entropy",
    "predict",
    "profile_model",
    "render_validation_plot",
    "retime_profile",
    "tensor_bits",
    "time_blocks",
    "trace_path_for",
    "validate",
    "validation_result",
    "write_profile",
]
