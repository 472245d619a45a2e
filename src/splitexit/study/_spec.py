"""The study file (`splitexit.study/1`, YAML): validated once here, at the boundary.

A study crosses subjects (ONNX files or our own models) with strategies, each an operator
(I, Q, E, P, QE, QEP) on a tier set (M, E, C, ME, EC, MC), after seed 004, section 4.3.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from splitexit._boundary import StrictModel, read_mapping
from splitexit._validation import InstanceOf, PathLike, returned_type, validate_params
from splitexit.errors import InputError
from splitexit.topology import Topology, load_topology

__all__ = [
    "OPERATORS",
    "TIER_SETS",
    "Study",
    "StudySpec",
    "load_study",
    "model_profile",
    "seed_tier_sets",
    "study_from_mapping",
    "with_subject_files",
]

Operator = Literal["I", "Q", "E", "P", "QE", "QEP"]
TierSet = Literal["M", "E", "C", "ME", "EC", "MC"]
TierLetter = Literal["M", "E", "C"]

OPERATORS: tuple[str, ...] = ("I", "Q", "E", "P", "QE", "QEP")
TIER_SETS: tuple[str, ...] = ("M", "E", "C", "ME", "EC", "MC")
SINGLE_TIERS: tuple[str, ...] = ("M", "E", "C")
TIER_PAIRS: tuple[str, ...] = ("ME", "EC", "MC")
PARTITIONED: frozenset[str] = frozenset({"P", "QEP"})


@validate_params({"operator": [InstanceOf(str)]})
def seed_tier_sets(operator: str) -> tuple[str, ...]:
    """The seed's cells: whole models on M, E, C; partitioned ones (P, QEP) on the pairs.

    >>> seed_tier_sets("QEP")
    ('ME', 'EC', 'MC')
    """
    return TIER_PAIRS if operator in PARTITIONED else SINGLE_TIERS


def _seed_tier_names() -> dict[TierLetter, str]:
    return {"M": "mobile", "E": "edge", "C": "cloud"}


class SubjectSpec(StrictModel):
    """One model under study: an ONNX file, or one of our models by name."""

    name: str = Field(min_length=1)
    onnx: str | None = None
    model: str | None = None
    data: str | None = None  # .npz of samples (``labels`` optional), relative to the file

    @model_validator(mode="after")
    def _one_source(self) -> SubjectSpec:
        if (self.onnx is None) == (self.model is None):
            raise ValueError(f"subject {self.name!r} needs exactly one of onnx or model")
        return self


class StrategySpec(StrictModel):
    operator: Operator
    tiers: list[TierSet] = Field(min_length=1)

    @model_validator(mode="after")
    def _tiers_fit(self) -> StrategySpec:
        wanted = seed_tier_sets(self.operator)
        for tiers in self.tiers:
            if tiers not in wanted:
                kind = "partitioned" if self.operator in PARTITIONED else "whole"
                raise ValueError(
                    f"operator {self.operator} runs a {kind} model, so its tiers must be one "
                    f"of {', '.join(wanted)}, got {tiers!r}"
                )
        return self


class SampleSpec(StrictModel):
    count: int = Field(default=100, ge=1)
    choice: Literal["largest", "first", "random"] = "largest"
    seed: int = 0


class OrderSpec(StrictModel):
    kind: Literal["interleaved", "randomized", "sequential"] = "interleaved"
    seed: int = 0


class StudySpec(StrictModel):
    """The `splitexit.study/1` file as written; :func:`load_study` resolves it."""

    schema_: Literal["splitexit.study/1"] = Field(alias="schema")
    name: str = "study"
    subjects: list[SubjectSpec] = Field(min_length=1)
    operators: list[Operator] = Field(min_length=1)
    strategies: list[StrategySpec] | None = None
    topology: str = "seed004"
    tiers: dict[TierLetter, str] = Field(default_factory=_seed_tier_names)
    samples: SampleSpec = SampleSpec()
    repetitions: int = Field(default=5, ge=1)
    warmup: int = Field(default=100, ge=0)
    inferences: int = Field(default=100, ge=1)
    order: OrderSpec = OrderSpec()
    p_adjust: Literal["holm", "bonferroni"] = "holm"
    alpha: float = Field(default=0.05, gt=0, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        names = [s.name for s in self.subjects]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise ValueError(f"subjects[{index}].name {name!r} is used twice")
        placed: dict[str, str] = {}
        for letter, tier in self.tiers.items():  # a tier set places each piece on its own tier
            if tier in placed:
                raise ValueError(
                    f"tiers.{letter} names {tier!r}, as tiers.{placed[tier]} does; give each "
                    "letter its own tier"
                )
            placed[tier] = letter
        for index, strategy in enumerate(self.strategies or []):
            if strategy.operator not in self.operators:
                raise ValueError(
                    f"strategies[{index}].operator {strategy.operator} is not listed in "
                    f"operators ({', '.join(self.operators)})"
                )
        return self


@returned_type
@dataclass(frozen=True)
class Study:
    """A validated study: every (operator, tiers) cell and the topology it runs on."""

    spec: StudySpec
    topology: Topology
    cells: tuple[tuple[str, str], ...]  # (operator, tiers), in file order
    base_dir: Path

    @property
    def subjects(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.spec.subjects)

    def tier_names(self, tiers: str) -> tuple[str, ...]:
        """The topology tiers of a tier set, e.g. ``"ME"`` -> ``("mobile", "edge")``."""
        return tuple(self.spec.tiers[letter] for letter in tiers)  # type: ignore[index]


def _cells(spec: StudySpec) -> tuple[tuple[str, str], ...]:
    if spec.strategies is None:
        return tuple((op, t) for op in spec.operators for t in seed_tier_sets(op))
    cells: list[tuple[str, str]] = []
    for strategy in spec.strategies:
        cells.extend((strategy.operator, t) for t in strategy.tiers)
    return tuple(dict.fromkeys(cells))


def study_from_mapping(data: object, *, source: str, base_dir: Path) -> Study:
    """Validate a parsed study file; relative paths are taken from ``base_dir``."""
    spec = StudySpec.parse(data, source=source)
    topo_path = base_dir / spec.topology
    topology = load_topology(topo_path if topo_path.is_file() else spec.topology)
    have = {tier.name for tier in topology.tiers}
    for index, subject in enumerate(spec.subjects):
        if subject.onnx is not None and not (base_dir / subject.onnx).is_file():
            raise InputError(f"{source}: subjects[{index}].onnx {subject.onnx!r}: no such file")
        if subject.data is not None and not (base_dir / subject.data).is_file():
            raise InputError(f"{source}: subjects[{index}].data {subject.data!r}: no such file")
        if subject.model is not None:
            _check_model(subject.model, base_dir, f"{source}: subjects[{index}].model")
    cells = _cells(spec)
    for operator, tiers in cells:
        for letter in tiers:
            tier = spec.tiers.get(letter)  # type: ignore[call-overload]
            if tier is None or tier not in have:
                raise InputError(
                    f"{source}: strategy {operator} on {tiers} needs tier {letter} "
                    f"({tier or 'unmapped'}), which topology {topology.name!r} lacks "
                    f"(it has {', '.join(t.name for t in topology.tiers)})"
                )
    return Study(spec=spec, topology=topology, cells=cells, base_dir=base_dir)


def _check_model(model: str, base_dir: Path, where: str) -> None:
    """A ``model:`` names a bundled profile or a profile file (read, not exported, here)."""
    from splitexit.profile import BUNDLED_PROFILES, load_profile

    try:
        profile = load_profile(model_profile(model, base_dir))
    except InputError as error:
        raise InputError(
            f"{where} {model!r} is neither one of our models ("
            f"{', '.join(n for n in BUNDLED_PROFILES if n != 'example')}) nor a readable "
            f"profile file ({error})"
        ) from None
    if profile.onnx is not None:
        raise InputError(f"{where} {model!r} profiles an ONNX model; give that file as onnx:")


@validate_params({"model": [InstanceOf(str)], "base_dir": [PathLike()]})
def model_profile(model: str, base_dir: Path) -> str:
    """The profile a ``model:`` subject names: a file beside the study file, else the name."""
    path = Path(base_dir) / model
    return str(path) if path.is_file() else model


@validate_params({"study": [InstanceOf(Study)], "files": [InstanceOf(dict)]})
def with_subject_files(study: Study, files: dict[str, tuple[Path, Path]]) -> Study:
    """``study`` with each ``model:`` subject named in ``files`` (name -> (ONNX file, .npz
    of samples and labels), as ``splitexit.experiment.export_study_subject`` writes them)
    turned into an ONNX subject; an unnamed ``model:`` subject is refused."""
    subjects = []
    for subject in study.spec.subjects:
        if subject.model is not None:
            if subject.name not in files:
                raise InputError(
                    f"subject {subject.name!r}: model {subject.model!r} was not exported"
                )
            onnx, data = files[subject.name]  # the study file's own data: wins, if given
            subject = SubjectSpec(name=subject.name, onnx=str(onnx), data=subject.data or str(data))
        subjects.append(subject)
    spec = study.spec.model_copy(update={"subjects": subjects})
    return dataclasses.replace(study, spec=spec)


@validate_params({"path": [PathLike()]})
def load_study(path: str | Path) -> Study:
    """Load and validate a `splitexit.study/1` YAML file.

    >>> study = load_study("study.yaml")  # doctest: +SKIP
    >>> study.cells[:2]  # doctest: +SKIP
    (('I', 'M'), ('I', 'E'))
    """
    path = Path(path)
    data = read_mapping(path, kind="study")
    return study_from_mapping(data, source=str(path), base_dir=path.parent)
