"""Joint, separate and final trainings, checkpoints (torch; not imported by ``splitexit``).

The datasets live in the numpy-only :mod:`splitexit.datasets`; their names are re-exported
here for the callers that train.

>>> from splitexit.training import TrainConfig, load_dataset
>>> data = load_dataset("digits")
>>> TrainConfig(epochs=2).epochs
2
"""

from splitexit.datasets import (
    DATASET_NAMES,
    DEFAULT_FASHION_MNIST_DIR,
    FASHION_MNIST_ENV,
    DatasetSplits,
    Split,
    load_dataset,
    read_idx,
    write_idx,
)
from splitexit.training._checkpoint import load_checkpoint, save_checkpoint
from splitexit.training._evaluate import accuracies, predict_logits
from splitexit.training._final import (
    FINAL_INITS,
    FinalSettings,
    JointStart,
    final_work_dir,
    train_final_net,
)
from splitexit.training._runs import (
    TrainedNet,
    checkpoint_name,
    train_final,
    train_joint,
    train_separate,
)
from splitexit.training._train import (
    PRECISIONS,
    EpochRecord,
    TrainConfig,
    default_precision,
    train_network,
)

__all__ = [
    "DATASET_NAMES",
    "DEFAULT_FASHION_MNIST_DIR",
    "FASHION_MNIST_ENV",
    "FINAL_INITS",
    "PRECISIONS",
    "DatasetSplits",
    "EpochRecord",
    "FinalSettings",
    "JointStart",
    "Split",
    "TrainConfig",
    "TrainedNet",
    "accuracies",
    "checkpoint_name",
    "default_precision",
    "final_work_dir",
    "load_checkpoint",
    "load_dataset",
    "predict_logits",
    "read_idx",
    "save_checkpoint",
    "train_final",
    "train_final_net",
    "train_joint",
    "train_network",
    "train_separate",
    "write_idx",
]
