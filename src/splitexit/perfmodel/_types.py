"""What the performance model takes and returns: estimates and trusted inputs (the
configuration itself is :class:`splitexit.configuration.Configuration`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from splitexit._validation import (
    returned_type,
)
from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.profile import Profile
from splitexit.topology import Topology

__all__ = ["Estimate", "ExitModel", "ModelInputs"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.integer]
# (partitionings (C, L), threshold indices (T',)) -> (E_k (C, T', L), accuracy (C, T'))
ExitModel = Callable[[IntArray, IntArray], tuple[FloatArray, FloatArray]]

# csum values this close to 1 are snapped to 1, so that a stay rate S_k that is zero in exact
# arithmetic is zero in floating point too (and every placement of later partitions ties).
_SNAP = 1e-12


@returned_type
@dataclass(frozen=True)
class Estimate:
    """Estimated accuracy and expected end-to-end latency (seconds) of one configuration."""

    accuracy: float
    compute_s: float
    transmission_s: float
    propagation_s: float
    exit_rates: tuple[float, ...]  # E_k, one per partition, summing to 1
    overhead_s: float = 0.0  # the topology's per-message overheads (0 without them)

    @property
    def latency_s(self) -> float:
        return self.compute_s + self.transmission_s + self.propagation_s + self.overhead_s


@returned_type
@dataclass(frozen=True, eq=False)
class ModelInputs:
    """The arrays the model works on, derived once from a profile and a topology.

    ``exit_cum[t, i]`` = alpha_1(T_t) + ... + alpha_i(T_t) (so ``exit_cum[:, 0] = 0`` and
    ``exit_cum[:, N] = 1``); ``compute_cum[i]`` = CK_1 + ... + CK_i.
    """

    thresholds: FloatArray  # (|T|,)
    compute_cum: FloatArray  # (N+1,) reference seconds
    branch_compute: FloatArray  # CB_i, (N,)
    output_bits: FloatArray  # O_i, (N,)
    input_bits: float  # O_0
    result_bits: float
    accuracy: FloatArray  # acc_i, (N,)
    exit_cum: FloatArray  # (|T|, N+1)
    compute_ratio: FloatArray  # R_j, (M,)
    path_latency: FloatArray  # PL[a, b], (M, M) seconds
    path_inv_bandwidth: FloatArray  # IB[a, b], (M, M) seconds per bit
    source: int
    destination: int
    # Replaces the paper's estimator of exit rates and accuracy (e.g. the trace estimator).
    exit_model: ExitModel | None = None
    # One threshold per selected exit (vectors coded in base |T|) instead of one global T;
    # needs an exit model that understands the codes (perfmodel/_per_exit.py).
    per_exit_thresholds: bool = False
    # MO[a, b]: overhead of one message from tier a to tier b (the topology's ``overheads``),
    # (M, M) seconds; None is the paper's model (no overheads).
    path_message: FloatArray | None = None

    @property
    def message_cost(self) -> FloatArray:
        """MO[a, b], zeros when the topology declares no overheads."""
        if self.path_message is None:
            return np.zeros_like(self.path_latency)
        return self.path_message

    @property
    def has_overheads(self) -> bool:
        return self.path_message is not None and bool(np.any(self.path_message != 0.0))

    @property
    def num_blocks(self) -> int:
        return int(self.output_bits.shape[0])

    @property
    def num_tiers(self) -> int:
        return int(self.compute_ratio.shape[0])

    @property
    def num_thresholds(self) -> int:
        return int(self.thresholds.shape[0])

    def threshold_code(self, config: Configuration) -> int:
        """The index the exit model takes for ``config``'s thresholds: one T's index into
        ``thresholds``, or with ``per_exit_thresholds`` the vector of indices coded in base
        |T| (exit 1 the leading digit); 0 when no exit is selected."""
        if not config.thresholds:
            return 0
        indices = config.threshold_indices(self.thresholds.tolist())
        if not self.per_exit_thresholds:
            if len(set(indices)) != 1:
                raise InputError(
                    f"thresholds {list(config.thresholds)} differ per exit; the model was "
                    "built for one global threshold (per_exit_thresholds=False)"
                )
            return indices[0]
        code = 0
        for i in indices:
            code = code * self.num_thresholds + i
        return code

    @classmethod
    def build(
        cls,
        profile: Profile,
        topology: Topology,
        *,
        accuracy: str = "separate",
        exit_model: ExitModel | None = None,
        per_exit_thresholds: bool = False,
    ) -> ModelInputs:
        """Derive the model's arrays; ``accuracy`` is ``"separate"`` or ``"joint"``;
        ``exit_model`` replaces the paper's estimator of exit rates and accuracy."""
        exit_cum = np.zeros((profile.num_thresholds, profile.num_blocks + 1))
        np.cumsum(profile.exit_rates, axis=1, out=exit_cum[:, 1:])
        exit_cum[np.abs(exit_cum - 1.0) < _SNAP] = 1.0
        exit_cum[:, -1] = 1.0
        return cls(
            thresholds=profile.thresholds,
            compute_cum=np.concatenate([[0.0], np.cumsum(profile.block_compute_s)]),
            branch_compute=profile.branch_compute_s,
            output_bits=profile.output_bits,
            input_bits=profile.input_bits,
            result_bits=profile.result_bits,
            accuracy=profile.branch_accuracy(accuracy),
            exit_cum=exit_cum,
            compute_ratio=topology.compute_ratios,
            path_latency=topology.path_latency,
            path_inv_bandwidth=topology.path_inverse_bandwidth,
            source=topology.source,
            destination=topology.destination,
            exit_model=exit_model,
            per_exit_thresholds=per_exit_thresholds,
            path_message=None if topology.overheads.is_zero else topology.path_message,
        )
