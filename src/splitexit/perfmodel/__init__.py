"""The analytic performance model of seed 000: accuracy and expected latency of (T, P, A)."""

from splitexit.perfmodel._per_exit import (
    PerExitTable,
    decode_thresholds,
    reference_per_exit_estimate,
)
from splitexit.perfmodel._trace import CascadeTable, reference_trace_estimate
from splitexit.perfmodel._types import Estimate, ExitModel, ModelInputs
from splitexit.perfmodel._vectorized import (
    Component,
    PartitionTerms,
    coefficients,
    estimate,
    paper_exits,
    partition_terms,
)
from splitexit.perfmodel.reference import reference_estimate

__all__ = [
    "CascadeTable",
    "Component",
    "Estimate",
    "ExitModel",
    "ModelInputs",
    "PartitionTerms",
    "PerExitTable",
    "coefficients",
    "decode_thresholds",
    "estimate",
    "paper_exits",
    "partition_terms",
    "reference_estimate",
    "reference_per_exit_estimate",
    "reference_trace_estimate",
]
