"""The analytic performance model of seed 000: accuracy and expected latency of (T, P, A)."""

from splitexit.perfmodel._types import Config, Estimate, ExitModel, ModelInputs
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
    "Component",
    "Config",
    "Estimate",
    "ExitModel",
    "ModelInputs",
    "PartitionTerms",
    "coefficients",
    "estimate",
    "paper_exits",
    "partition_terms",
    "reference_estimate",
]
