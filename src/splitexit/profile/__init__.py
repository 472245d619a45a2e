"""The ``splitexit.profile/1`` schema: what the profiler measures and the planner reads."""

from splitexit.profile._io import (
    BUNDLED_PROFILES,
    DEFAULT_PROFILE,
    EXAMPLE_PROFILE,
    load_profile,
    profile_path,
    save_profile,
)
from splitexit.profile._model import (
    ACCURACY_SOURCES,
    FORMAT,
    AccuracySource,
    OnnxSource,
    Profile,
)
from splitexit.profile._synthetic import exit_rates_from_entropy, random_profile
from splitexit.profile._trace import (
    TRACE_FORMAT,
    Trace,
    load_profile_trace,
    load_trace,
    save_trace,
)

__all__ = [
    "ACCURACY_SOURCES",
    "BUNDLED_PROFILES",
    "DEFAULT_PROFILE",
    "EXAMPLE_PROFILE",
    "FORMAT",
    "TRACE_FORMAT",
    "AccuracySource",
    "OnnxSource",
    "Profile",
    "Trace",
    "exit_rates_from_entropy",
    "load_profile",
    "load_profile_trace",
    "load_trace",
    "profile_path",
    "random_profile",
    "save_profile",
    "save_trace",
]
