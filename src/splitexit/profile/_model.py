"""The profile of a multi-exit DNN (seed 000, sections 2.1-2.2), as the planner reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    returned_type,
)
from splitexit.errors import InputError

__all__ = ["ACCURACY_SOURCES", "FORMAT", "AccuracySource", "OnnxSource", "Profile"]

FORMAT = "splitexit.profile/1"
# where branch accuracies come from: separate training (the paper's) or the joint model
AccuracySource = Literal["separate", "joint"]
ACCURACY_SOURCES: tuple[AccuracySource, ...] = ("separate", "joint")

FloatArray = npt.NDArray[np.float64]


@returned_type
@dataclass(frozen=True)
class OnnxSource:
    """Where a profile of a user's ONNX model came from (``splitexit profile --onnx``).

    Block i+1 is the segment between ``cuts[i - 1]`` and ``cuts[i]`` (the model's inputs
    and outputs at the ends), so there are N - 1 cuts, each a tuple of tensor names.

    >>> OnnxSource("m.onnx", "0" * 64, (("relu_1",),), {"x": (1, 3, 8, 8)}).engine
    'onnxruntime'
    """

    path: str  # the model file, relative to the profile's folder unless absolute
    sha256: str
    cuts: tuple[tuple[str, ...], ...]
    input_shapes: dict[str, tuple[int, ...]]  # full shapes, batch of one included
    data: str | None = None  # the samples (.npz), relative like ``path``
    engine: str = "onnxruntime"
    statistic: str = "p99"  # of batch-1 runs: p99 or median (p50)
    # the operator variant this model is (I, Q, E, QE, ...), for planning over variants
    operator: str | None = None
    # "segments": each block timed as its own piece; "whole": those times scaled so that
    # they sum to the whole model timed in one session (keeps fused kernels, e.g. int8)
    timing: str = "segments"

    def to_mapping(self) -> dict[str, Any]:
        optional: dict[str, Any] = {}  # written only when set, so older readers still read it
        if self.operator is not None:
            optional["operator"] = self.operator
        if self.timing != "segments":
            optional["timing"] = self.timing
        return {
            "path": self.path,
            "sha256": self.sha256,
            "cuts": [list(c) for c in self.cuts],
            "input_shapes": {k: list(v) for k, v in self.input_shapes.items()},
            "data": self.data,
            "engine": self.engine,
            "statistic": self.statistic,
            **optional,
        }


@returned_type
@dataclass(frozen=True, eq=False)
class Profile:
    """What the profiling phase measured once for a backbone and a dataset.

    Arrays are 0-based: ``block_compute_s[i]`` is CK_{i+1} of the paper. ``exit_rates[t, i]``
    is alpha_{i+1}(T_t), the fraction of samples that leave at branch i+1 of the full
    configuration for threshold ``thresholds[t]``; every row sums to 1.

    Build one with :func:`splitexit.load_profile` or :meth:`Profile.from_mapping`, which
    validate; the constructor trusts its arguments.
    """

    model: str
    dataset: str
    num_classes: int
    input_bits: float  # O_0
    result_bits: float  # one exit's prediction, sent to the destination
    thresholds: FloatArray  # (|T|,), normalized entropy in (0, 1], increasing
    block_names: tuple[str, ...]
    output_bits: FloatArray  # O_i, (N,)
    block_compute_s: FloatArray  # CK_i on the reference device, (N,)
    branch_compute_s: FloatArray  # CB_i on the reference device, (N,)
    accuracy: FloatArray  # acc_i from separate training, (N,)
    accuracy_joint: FloatArray | None  # acc_i of the jointly trained full configuration
    exit_rates: FloatArray  # alpha_i(T), (|T|, N)
    reference_device: str = ""
    notes: str = ""
    trace: str | None = None  # per-sample trace file, relative to the profile's folder
    onnx: OnnxSource | None = None  # a user's ONNX model, cut into blocks
    # engine that measured block_compute_s / branch_compute_s ("onnxruntime", "pytorch")
    timing_engine: str | None = None
    # every engine's (CK, CB) compute times, when the profiler timed on several
    timings: dict[str, tuple[FloatArray, FloatArray]] | None = None
    preprocessing: dict[str, Any] | None = None  # resize, scale, mean, std of the inputs
    training: dict[str, Any] | None = None  # hyperparameters and cache key of the trainings

    def timing_warning(self, engine: str = "onnxruntime") -> str | None:
        """A line saying the compute times are not from ``engine``, or ``None`` when they are.

        Only profiles that record their engine are judged (older ones, such as the bundled
        ones, name it in ``reference_device`` and stay quiet, as before).

        >>> from splitexit import load_profile
        >>> load_profile("example").timing_warning() is None
        True
        """
        if self.timing_engine == engine:
            return None
        if self.timing_engine is None:
            return None
        known = self.timing_engine or "an unrecorded engine"
        return (
            f"profile {self.model!r}: compute times come from {known}, not {engine} that the "
            "deployment runs; latency predictions may be off (re-profile, or `splitexit retime`)"
        )

    def for_engine(self, engine: str) -> Profile:
        """This profile with the compute times ``engine`` measured (an error if none)."""
        if self.timing_engine == engine:
            return self
        if self.timings is None or engine not in self.timings:
            raise InputError(f"profile {self.model!r} has no compute times from {engine!r}")
        from dataclasses import replace

        blocks, branches = self.timings[engine]
        return replace(
            self, block_compute_s=blocks, branch_compute_s=branches, timing_engine=engine
        )

    @property
    def num_blocks(self) -> int:
        """N, the number of blocks (and of potential exits)."""
        return int(self.output_bits.shape[0])

    @property
    def num_thresholds(self) -> int:
        return int(self.thresholds.shape[0])

    def branch_accuracy(self, source: str = "separate") -> FloatArray:
        """acc_i from ``"separate"`` training (the paper's choice) or the ``"joint"`` model."""
        if source == "separate":
            return self.accuracy
        if source == "joint":
            if self.accuracy_joint is None:
                raise InputError(
                    f"profile {self.model!r}: accuracy 'joint' needs branches[*].accuracy_joint, "
                    "which this profile does not have"
                )
            return self.accuracy_joint
        raise InputError(f"accuracy must be 'separate' or 'joint', got {source!r}")

    def to_mapping(self) -> dict[str, Any]:
        """The profile as a ``splitexit.profile/1`` mapping (what :func:`save_profile` writes)."""
        branches: list[dict[str, Any]] = []
        for i in range(self.num_blocks):
            branch: dict[str, Any] = {
                "compute_s": float(self.branch_compute_s[i]),
                "accuracy": float(self.accuracy[i]),
            }
            if self.accuracy_joint is not None:
                branch["accuracy_joint"] = float(self.accuracy_joint[i])
            branches.append(branch)
        return {
            "format": FORMAT,
            "model": self.model,
            "dataset": self.dataset,
            "num_classes": self.num_classes,
            "reference_device": self.reference_device,
            "notes": self.notes,
            "input_bits": float(self.input_bits),
            "result_bits": float(self.result_bits),
            "thresholds": [float(t) for t in self.thresholds],
            "blocks": [
                {
                    "name": name,
                    "output_bits": float(self.output_bits[i]),
                    "compute_s": float(self.block_compute_s[i]),
                }
                for i, name in enumerate(self.block_names)
            ],
            "branches": branches,
            "exit_rates": [[float(a) for a in row] for row in self.exit_rates],
            **({} if self.trace is None else {"trace": self.trace}),
            **({} if self.onnx is None else {"onnx": self.onnx.to_mapping()}),
            **self._optional_mapping(),
        }

    def _optional_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.timing_engine is not None:
            out["timing_engine"] = self.timing_engine
        if self.timings is not None:
            out["timings"] = {
                engine: {"blocks": [float(v) for v in ck], "branches": [float(v) for v in cb]}
                for engine, (ck, cb) in self.timings.items()
            }
        if self.preprocessing is not None:
            out["preprocessing"] = dict(self.preprocessing)
        if self.training is not None:
            out["training"] = dict(self.training)
        return out

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "<profile>") -> Profile:
        """Validate a mapping shaped like a profile file and build the profile."""
        from splitexit.profile._schema import profile_from_mapping

        return profile_from_mapping(data, source=source)
