"""Black-box operators on any ONNX model (seed 004): cut sets, partition, static
quantization, early exit by skipping identical sub-graphs, and the hybrids QE and QEP.

numpy, onnx, onnxruntime and networkx; never torch. ``import splitexit`` does not import
this package: the CLI imports it inside its commands.

>>> from pathlib import Path
>>> from splitexit.operators import analyse, find_cuts, load_model
>>> model = load_model(Path("model.onnx"), {"data": (1, 3, 224, 224)})  # doctest: +SKIP
>>> cuts = find_cuts(analyse(model))  # doctest: +SKIP
"""

from __future__ import annotations

from splitexit.operators._cuts import CUTS_FORMAT, Cut, cuts_to_mapping, find_cuts, split_at
from splitexit.operators._data import Samples, load_samples
from splitexit.operators._early_exit import Run, find_runs, skip_blocks
from splitexit.operators._graph import GraphInfo, analyse, random_inputs
from splitexit.operators._manifest import PIECES_FORMAT, PieceEntry, PiecesManifest, load_pieces
from splitexit.operators._measure import Agreement, agreement, latency, paired_latency
from splitexit.operators._model import LoadedModel, TensorInfo, load_model, parse_input_shapes
from splitexit.operators._output import write_folder
from splitexit.operators._partition import (
    EquivalenceError,
    PartitionResult,
    choose_cuts,
    partition,
)
from splitexit.operators._pieces import Piece, build_pieces, chain_outputs
from splitexit.operators._pipelines import (
    EarlyExitResult,
    early_exit,
    hybrid,
    quantize,
    quantize_pieces,
)
from splitexit.operators._profile import OnnxProfileSettings, profile_onnx
from splitexit.operators._profile_export import (
    PiecesExport,
    export_onnx_profile,
    onnx_profile_samples,
    source_model,
)
from splitexit.operators._quantize import QuantReport, quantize_bytes
from splitexit.operators._timing import time_cuts

__all__ = [
    "CUTS_FORMAT",
    "PIECES_FORMAT",
    "Agreement",
    "Cut",
    "EarlyExitResult",
    "EquivalenceError",
    "GraphInfo",
    "LoadedModel",
    "OnnxProfileSettings",
    "PartitionResult",
    "Piece",
    "PieceEntry",
    "PiecesExport",
    "PiecesManifest",
    "QuantReport",
    "Run",
    "Samples",
    "TensorInfo",
    "agreement",
    "analyse",
    "build_pieces",
    "chain_outputs",
    "choose_cuts",
    "cuts_to_mapping",
    "early_exit",
    "export_onnx_profile",
    "find_cuts",
    "find_runs",
    "hybrid",
    "latency",
    "load_model",
    "load_pieces",
    "load_samples",
    "onnx_profile_samples",
    "paired_latency",
    "parse_input_shapes",
    "partition",
    "profile_onnx",
    "quantize",
    "quantize_bytes",
    "quantize_pieces",
    "random_inputs",
    "skip_blocks",
    "source_model",
    "split_at",
    "time_cuts",
    "write_folder",
]
