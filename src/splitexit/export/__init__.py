"""Export a configuration (T, P, A) of a multi-exit model as ONNX partitions with a manifest.

One ONNX file per partition (its blocks plus its exit head; outputs: the activation for the
next partition when there is one, the exit's probabilities and normalized entropy), a
``splitexit.manifest/1`` file that names them with their SHA-256 and the exit rule's
threshold(s), and a runner that chains them with ONNX Runtime and applies the exit rule.
Weights come from the jointly trained full configuration (:func:`load_joint`, with the
bundled profile's shipped copy as fallback) or from a final model trained with only the
configuration's exits (:func:`splitexit.training.train_final_net`). Importing this package
loads neither torch nor onnxruntime; the functions that need them load them when called.

>>> from splitexit.export import MANIFEST_FORMAT
>>> MANIFEST_FORMAT
'splitexit.manifest/1'
"""

from splitexit.export._export import (
    MANIFEST_NAME,
    OPSET,
    check_export_folder,
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
from splitexit.export._runner import ChainResult, ChainRunner
from splitexit.export._session import call_time, call_time_runs, ort_session
from splitexit.export._sources import config_from_file, input_shape_from_bits
from splitexit.export._weights import (
    BUNDLED_CHECKPOINTS,
    WEIGHTS_FORMAT,
    JointCheckpoint,
    bundled_checkpoint,
    load_joint,
    load_profile_joint,
    save_joint_weights,
)

__all__ = [
    "BUNDLED_CHECKPOINTS",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "OPSET",
    "WEIGHTS_FORMAT",
    "ChainResult",
    "ChainRunner",
    "JointCheckpoint",
    "Manifest",
    "PartitionEntry",
    "TensorSpec",
    "bundled_checkpoint",
    "call_time",
    "call_time_runs",
    "check_export_folder",
    "config_from_file",
    "export_partitions",
    "input_shape_from_bits",
    "load_joint",
    "load_manifest",
    "load_profile_joint",
    "ort_session",
    "partition_file_name",
    "save_joint_weights",
    "save_manifest",
]
