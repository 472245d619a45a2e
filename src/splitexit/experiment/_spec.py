"""The experiment file of `splitexit run`: model, dataset, topology, requirement, measurement.

```yaml
name: default
profile: resnet20-fashion-mnist-ort   # bundled name or profile file (made by `train` if missing)
train: {model: resnet8, dataset: digits, epochs: 2, width: 0.25}   # optional
topology: mobile                  # preset name or topology file
requirement: {min_accuracy: 90%}  # or {max_latency: 50ms}; empty: the planner's default
measure: {configurations: 6, samples: 200, clients: 1, compute_mode: sleep, deadline: 60s}
calibrate: true
```

Relative file names are read from the experiment file's folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from splitexit._boundary import (
    StrictModel,
    duration_field,
    read_mapping,
)
from splitexit._validation import (
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.errors import InputError

__all__ = [
    "Experiment",
    "Measure",
    "Requirement",
    "Train",
    "default_experiment_path",
    "load_experiment",
]


def _duration(value: Any) -> Any:
    return None if value is None else duration_field(value)


@returned_type
class Train(StrictModel):
    """How to make the profile when its file does not exist yet (`splitexit profile`)."""

    model: str
    dataset: str
    epochs: int = Field(default=8, ge=1)
    separate_epochs: int = Field(default=1, ge=1)
    width: float = Field(default=1.0, gt=0)
    seed: int = 0


@returned_type
class Requirement(StrictModel):
    """P_lat (``min_accuracy``) or P_acc (``max_latency``), or neither (the default rule)."""

    min_accuracy: float | None = None
    max_latency_s: Annotated[float | None, BeforeValidator(_duration)] = Field(
        default=None, alias="max_latency", gt=0
    )

    @field_validator("min_accuracy", mode="before")
    @classmethod
    def _accuracy(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                value = float(value.strip()[:-1]) / 100
            except ValueError:
                raise ValueError("must be a fraction like 0.9 or a percentage like 90%") from None
        if isinstance(value, int | float) and not 0 <= value <= 1:
            raise ValueError("must be in [0, 1] (or 0% to 100%)")
        return value


@returned_type
class Measure(StrictModel):
    """What the testbed measures: the recommendation plus frontier points, how many samples."""

    configurations: int = Field(default=6, ge=1)
    samples: int = Field(default=200, ge=1)
    clients: int = Field(default=1, ge=1)
    compute_mode: str = "sleep"
    deadline_s: Annotated[float, BeforeValidator(duration_field)] = Field(
        default=60.0, alias="deadline", gt=0
    )
    threads: int = Field(default=1, ge=1)
    transport: str = "grpc"
    network: str = "emulated"  # or netns: tiers in namespaces, kernel-shaped links (root)
    # 1: each configuration measured whole, one after the other; B > 1: every
    # configuration's samples in B blocks, round by round in a seeded random order per
    # round, all configurations' workers up for the whole run (runtime/_interleave.py)
    interleave: int = Field(default=1, ge=1)
    interleave_seed: int = Field(default=0, ge=0)
    # calls per partition at deploy that time its reference_s (the first quarter warms up,
    # the median of the rest); the sleep stretch holds a tier compute_ratio x that
    warmup: int = Field(default=20, ge=1)

    @model_validator(mode="after")
    def _blocks(self) -> Measure:
        if self.interleave > self.samples:
            raise ValueError(
                f"interleave must be at most samples ({self.samples}), got {self.interleave}"
            )
        return self

    @field_validator("network")
    @classmethod
    def _network(cls, value: str) -> str:
        if value not in ("emulated", "netns"):
            raise ValueError("must be emulated or netns")
        return value

    @field_validator("transport")
    @classmethod
    def _transport(cls, value: str) -> str:
        if value not in ("grpc", "tcp"):
            raise ValueError("must be grpc or tcp")
        return value

    @field_validator("compute_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in ("sleep", "cpu-quota", "none"):
            raise ValueError("must be sleep, cpu-quota or none")
        return value


@returned_type
class Experiment(StrictModel):
    """A whole experiment: what to deploy where, under which requirement, measured how."""

    name: str = Field(default="experiment", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    profile: str = "resnet20-fashion-mnist-ort"
    train: Train | None = None
    topology: str = "mobile"
    requirement: Requirement = Field(default_factory=Requirement)
    per_exit_thresholds: bool = False
    measure: Measure = Field(default_factory=Measure)
    calibrate: bool = True
    data_dir: str | None = None
    work_dir: str | None = None
    folder: Path = Field(default=Path("."), exclude=True)  # where relative names are read

    def path(self, name: str) -> Path:
        """A file or folder name, relative to the experiment file's folder."""
        path = Path(name)
        return path if path.is_absolute() else self.folder / path

    def resolve(self, name: str) -> str:
        """A file name relative to the experiment file; a bare preset or bundled name (no
        folder, no suffix, no such file beside the experiment) as is."""
        path = Path(name)
        if path.is_absolute():
            return name
        if (self.folder / path).exists() or path.suffix or len(path.parts) > 1:
            return str(self.folder / path)
        return name


def default_experiment_path() -> Path:
    """The bundled default experiment (``splitexit run`` without a file)."""
    return Path(__file__).parent / "data" / "default.yaml"


@validate_params(
    {
        "path": [PathLike()],
    }
)
def load_experiment(path: Path) -> Experiment:
    """Read and validate an experiment file; one-line errors name the file and field."""
    data = read_mapping(path, kind="experiment")
    experiment = Experiment.parse(data, source=str(path))
    if (
        experiment.requirement.min_accuracy is not None
        and experiment.requirement.max_latency_s is not None
    ):
        raise InputError(f"{path}: requirement takes min_accuracy or max_latency, not both")
    return experiment.model_copy(update={"folder": path.parent})
