"""The ``splitexit.profile/1`` file format (JSON), validated once here at the boundary."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BeforeValidator, Field, model_validator

from splitexit._boundary import StrictModel
from splitexit.errors import InputError
from splitexit.profile._model import FORMAT, OnnxSource, Profile

__all__ = ["EXIT_RATE_TOLERANCE", "profile_from_mapping"]

EXIT_RATE_TOLERANCE = 1e-6  # rows of exit_rates must sum to 1 within this


def _number(lower: float, upper: float, *, open_lower: bool = False) -> Any:
    """A finite real in [lower, upper] (or (lower, upper] when ``open_lower``)."""

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"must be finite, got {value!r}")
        below = number <= lower if open_lower else number < lower
        if below or number > upper:
            bracket = "(" if open_lower else "["
            raise ValueError(f"must be in {bracket}{lower:g}, {upper:g}], got {value!r}")
        return number

    return BeforeValidator(check)


Positive = Annotated[float, _number(0.0, math.inf, open_lower=True)]
NonNegative = Annotated[float, _number(0.0, math.inf)]
Fraction = Annotated[float, _number(0.0, 1.0)]
Threshold = Annotated[float, _number(0.0, 1.0, open_lower=True)]
Seconds = Annotated[float, _number(0.0, 1e6)]  # a block slower than 11 days is a typo


class _BlockSpec(StrictModel):
    name: str
    output_bits: Positive
    compute_s: Seconds


class _BranchSpec(StrictModel):
    compute_s: Seconds
    accuracy: Fraction
    accuracy_joint: Fraction | None = None


class _OnnxSpec(StrictModel):
    path: Annotated[str, Field(min_length=1)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    cuts: list[Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]]
    input_shapes: dict[str, list[Annotated[int, Field(ge=1)]]]
    data: str | None = None
    engine: Literal["onnxruntime"] = "onnxruntime"
    statistic: str = "p99"
    operator: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")] | None = None
    timing: Literal["segments", "whole"] = "segments"


class _TimingSpec(StrictModel):
    blocks: list[NonNegative]
    branches: list[NonNegative]


class _PreprocessingSpec(StrictModel):
    resize: list[Annotated[int, BeforeValidator(lambda v: _integer_at_least(v, 1))]] | None = None
    scale: Positive | None = None
    mean: list[float] | None = None
    std: list[Positive] | None = None


class _ProfileSpec(StrictModel):
    format: Literal["splitexit.profile/1"]
    model: str
    dataset: str
    num_classes: Annotated[int, BeforeValidator(lambda v: _integer_at_least(v, 2))]
    reference_device: str = ""
    notes: str = ""
    input_bits: Positive
    result_bits: Positive
    thresholds: list[Threshold]
    blocks: list[_BlockSpec]
    branches: list[_BranchSpec]
    exit_rates: list[list[Fraction]]
    trace: str | None = None
    onnx: _OnnxSpec | None = None
    timing_engine: str | None = None
    timings: dict[str, _TimingSpec] | None = None
    preprocessing: _PreprocessingSpec | None = None
    training: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _ProfileSpec:
        n = len(self.blocks)
        if n == 0:
            raise ValueError("blocks must list at least one block")
        if len(self.branches) != n:
            raise ValueError(
                f"branches has {len(self.branches)} entries, expected {n} (one per block)"
            )
        if self.onnx is not None and len(self.onnx.cuts) != n - 1:
            raise ValueError(
                f"onnx.cuts has {len(self.onnx.cuts)} entries, expected {n - 1} "
                "(one between consecutive blocks)"
            )
        if self.trace is not None and not self.trace.strip():
            raise ValueError("trace must name a file (relative to the profile), got ''")
        if not self.thresholds:
            raise ValueError("thresholds must list at least one threshold")
        for t in range(1, len(self.thresholds)):
            if self.thresholds[t] <= self.thresholds[t - 1]:
                raise ValueError(
                    f"thresholds[{t}] = {self.thresholds[t]:g} must be greater than "
                    f"thresholds[{t - 1}] = {self.thresholds[t - 1]:g} (strictly increasing)"
                )
        if len(self.exit_rates) != len(self.thresholds):
            raise ValueError(
                f"exit_rates has {len(self.exit_rates)} rows, expected {len(self.thresholds)} "
                "(one per threshold)"
            )
        for t, row in enumerate(self.exit_rates):
            if len(row) != n:
                raise ValueError(
                    f"exit_rates[{t}] has {len(row)} values, expected {n} (one per block)"
                )
            total = math.fsum(row)
            if abs(total - 1.0) > EXIT_RATE_TOLERANCE:
                raise ValueError(
                    f"exit_rates[{t}] sums to {total:.9g}, "
                    f"expected 1 within {EXIT_RATE_TOLERANCE:g}"
                )
        for engine, timing in (self.timings or {}).items():
            if len(timing.blocks) != n or len(timing.branches) != n:
                raise ValueError(
                    f"timings.{engine} has {len(timing.blocks)} block and {len(timing.branches)} "
                    f"branch times, expected {n} of each"
                )
        resize = None if self.preprocessing is None else self.preprocessing.resize
        if resize is not None and len(resize) != 2:
            raise ValueError("preprocessing.resize must be [height, width]")
        joint = [branch.accuracy_joint is not None for branch in self.branches]
        if any(joint) and not all(joint):
            missing = joint.index(False)
            raise ValueError(
                f"branches[{missing}].accuracy_joint is missing; give it for every branch or none"
            )
        return self


def _integer_at_least(value: Any, lower: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be an integer, got {value!r}")
    if value < lower:
        raise ValueError(f"must be >= {lower}, got {value!r}")
    return value


def profile_from_mapping(data: object, *, source: str) -> Profile:
    """Validate ``data`` (a parsed profile file) and build a :class:`Profile`."""
    if isinstance(data, dict) and data.get("format") not in (None, FORMAT):
        raise InputError(f"{source}: format must be {FORMAT!r}, got {data.get('format')!r}")
    spec = _ProfileSpec.parse(data, source=source)
    rates = np.array(spec.exit_rates, dtype=np.float64)
    # Rows are within 1e-6 of 1; rescaling them to exactly 1 keeps E_L and S_L consistent.
    rates /= rates.sum(axis=1, keepdims=True)
    joint = [branch.accuracy_joint for branch in spec.branches]
    return Profile(
        model=spec.model,
        dataset=spec.dataset,
        num_classes=spec.num_classes,
        input_bits=spec.input_bits,
        result_bits=spec.result_bits,
        thresholds=np.array(spec.thresholds, dtype=np.float64),
        block_names=tuple(block.name for block in spec.blocks),
        output_bits=np.array([b.output_bits for b in spec.blocks], dtype=np.float64),
        block_compute_s=np.array([b.compute_s for b in spec.blocks], dtype=np.float64),
        branch_compute_s=np.array([b.compute_s for b in spec.branches], dtype=np.float64),
        accuracy=np.array([b.accuracy for b in spec.branches], dtype=np.float64),
        accuracy_joint=None if joint[0] is None else np.array(joint, dtype=np.float64),
        exit_rates=rates,
        reference_device=spec.reference_device,
        notes=spec.notes,
        trace=spec.trace,
        timing_engine=spec.timing_engine,
        timings=None
        if spec.timings is None
        else {
            engine: (
                np.array(t.blocks, dtype=np.float64),
                np.array(t.branches, dtype=np.float64),
            )
            for engine, t in spec.timings.items()
        },
        preprocessing=None if spec.preprocessing is None else spec.preprocessing.model_dump(),
        training=spec.training,
        onnx=None if spec.onnx is None else _onnx_source(spec.onnx),
    )


def _onnx_source(spec: _OnnxSpec) -> OnnxSource:
    return OnnxSource(
        path=spec.path,
        sha256=spec.sha256,
        cuts=tuple(tuple(c) for c in spec.cuts),
        input_shapes={k: tuple(v) for k, v in spec.input_shapes.items()},
        data=spec.data,
        engine=spec.engine,
        statistic=spec.statistic,
        operator=spec.operator,
        timing=spec.timing,
    )
