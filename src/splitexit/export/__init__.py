"""Export a configuration (T, P, A) of a multi-exit model as ONNX partitions with a manifest.

One ONNX file per partition (its blocks plus its exit head; outputs: the activation for the
next partition when there is one, the exit's probabilities and normalized entropy), a
``splitexit.manifest/1`` file that names them with their SHA-256, and a runner that chains
them with ONNX Runtime and applies the exit rule. Importing this package loads neither torch
nor onnxruntime; :func:`export_partitions` and :class:`ChainRunner` load them when called.

>>> from splitexit.export import exit_partitions
>>> import numpy as np
>>> exit_partitions(np.array([[0.9, 0.3, 0.8]]), 0.5).tolist()
[1]
"""

from splitexit.export._export import (
    MANIFEST_NAME,
    OPSET,
    export_partitions,
    partition_file_name,
)
from splitexit.export._manifest import (
    MANIFEST_FORMAT,
    Manifest,
    PartitionEntry,
    TensorSpec,
    load_manifest,
    save_manifest,
)
from splitexit.export._runner import ChainResult, ChainRunner, exit_partitions
from splitexit.export._sources import (
    ExportConfig,
    config_from_file,
    input_shape_from_bits,
    load_joint_net,
)

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "OPSET",
    "ChainResult",
    "ChainRunner",
    "ExportConfig",
    "Manifest",
    "PartitionEntry",
    "TensorSpec",
    "config_from_file",
    "exit_partitions",
    "export_partitions",
    "input_shape_from_bits",
    "load_joint_net",
    "load_manifest",
    "partition_file_name",
    "save_manifest",
]
