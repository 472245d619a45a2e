"""Run exported partitions in a chain with ONNX Runtime and apply the exit rule of
``splitexit.configuration`` (numpy only).

The reference runner for tests and for the runtime's workers: torch is never imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    InstanceOf,
    Interval,
    PathLike,
    returned_type,
    validate_params,
)
from splitexit.configuration import below_threshold
from splitexit.errors import InputError
from splitexit.export._manifest import ACTIVATION, ENTROPY, INPUT, PROBABILITIES, Manifest
from splitexit.export._session import ort_session

__all__ = ["ChainResult", "ChainRunner"]

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@returned_type
@dataclass(frozen=True, eq=False)
class ChainResult:
    """Per sample: predicted class, 0-based exit partition, and p and H(p)/log C there."""

    predictions: IntArray  # (n,)
    exit_partition: IntArray  # (n,)
    probabilities: FloatArray  # (n, C)
    entropy: FloatArray  # (n,)


@validate_params(
    {
        "manifest": [InstanceOf(Manifest)],
        "directory": [PathLike()],
        "threads": [Interval(int, 1, None)],
    }
)
class ChainRunner:
    """One ONNX Runtime session per partition of a loaded manifest.

    ``threads`` is ``intra_op_num_threads`` of every session (and inter-op is 1): set
    explicitly so that a deployment measures what it was given, not what ORT guesses.

    >>> runner = ChainRunner(load_manifest(Path("out/manifest.json")),  # doctest: +SKIP
    ...                      Path("out"), threads=1)
    >>> runner.run(images).exit_partition  # doctest: +SKIP
    """

    def __init__(self, manifest: Manifest, directory: Path, *, threads: int = 1) -> None:
        if threads < 1:
            raise InputError(f"threads must be >= 1, got {threads}")
        self.manifest = manifest
        self.sessions: list[Any] = [
            ort_session(str(directory / part.file), threads) for part in manifest.partitions
        ]

    def _check(self, images: npt.NDArray[Any]) -> FloatArray:
        if images.ndim != len(self.manifest.input_shape) + 1 or tuple(images.shape[1:]) != (
            self.manifest.input_shape
        ):
            raise InputError(
                f"inputs must have shape (n, {', '.join(map(str, self.manifest.input_shape))}), "
                f"got {tuple(images.shape)}"
            )
        return np.ascontiguousarray(images, dtype=np.float32)

    def _step(self, k: int, x: FloatArray) -> dict[str, FloatArray]:
        part = self.manifest.partitions[k]
        names = [t.name for t in part.outputs]
        values = self.sessions[k].run(names, {INPUT: x})
        return dict(zip(names, values, strict=True))

    def outputs(self, images: npt.NDArray[Any]) -> tuple[FloatArray, FloatArray]:
        """Every partition on every sample: probabilities (n, L, C) and entropy (n, L)."""
        x = self._check(images)
        probabilities, entropy = [], []
        for k in range(len(self.sessions)):
            out = self._step(k, x)
            probabilities.append(out[PROBABILITIES])
            entropy.append(out[ENTROPY])
            x = out.get(ACTIVATION, x)
        return np.stack(probabilities, axis=1), np.stack(entropy, axis=1)

    def run(self, images: npt.NDArray[Any]) -> ChainResult:
        """Chain the partitions as a deployment does: a sample that exits goes no further.

        Partition k lets go of the samples whose entropy is below ``threshold_of(k)``: one T
        for every exit, or the manifest's per-exit thresholds."""
        x = self._check(images)
        n = x.shape[0]
        count = len(self.sessions)
        result = ChainResult(
            predictions=np.zeros(n, dtype=np.int64),
            exit_partition=np.zeros(n, dtype=np.int64),
            probabilities=np.zeros((n, self.manifest.num_classes), dtype=np.float32),
            entropy=np.zeros(n, dtype=np.float32),
        )
        alive = np.arange(n)
        for k in range(count):
            if alive.size == 0:
                break
            out = self._step(k, x)
            threshold = self.manifest.threshold_of(k)
            if threshold is None:  # the last partition takes every sample
                leaves = np.ones(alive.size, dtype=bool)
            else:
                leaves = below_threshold(out[ENTROPY], threshold)
            chosen = alive[leaves]
            result.exit_partition[chosen] = k
            result.probabilities[chosen] = out[PROBABILITIES][leaves]
            result.entropy[chosen] = out[ENTROPY][leaves]
            result.predictions[chosen] = out[PROBABILITIES][leaves].argmax(axis=1)
            if k < count - 1:
                alive = alive[~leaves]
                x = np.ascontiguousarray(out[ACTIVATION][~leaves])
        return result
