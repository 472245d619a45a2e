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
from splitexit.training._cache import (
    CACHE_ENV,
    cache_key,
    cache_root,
    current_cache_key,
    profile_run_dir,
    run_dir,
    training_record,
)
from splitexit.training._checkpoint import load_checkpoint, save_checkpoint
from splitexit.training._device import check_device
from splitexit.training._evaluate import accuracies, predict_logits
from splitexit.training._executor import EXECUTORS, ExecutorSettings, TrainTask, run_tasks
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
    "CACHE_ENV",
    "DATASET_NAMES",
    "DEFAULT_FASHION_MNIST_DIR",
    "EXECUTORS",
    "FASHION_MNIST_ENV",
    "FINAL_INITS",
    "PRECISIONS",
    "DatasetSplits",
    "EpochRecord",
    "ExecutorSettings",
    "FinalSettings",
    "JointStart",
    "Split",
    "TrainConfig",
    "TrainTask",
    "TrainedNet",
    "accuracies",
    "cache_key",
    "cache_root",
    "check_device",
    "checkpoint_name",
    "current_cache_key",
    "default_precision",
    "final_work_dir",
    "load_checkpoint",
    "load_dataset",
    "predict_logits",
    "profile_run_dir",
    "read_idx",
    "run_dir",
    "run_tasks",
    "save_checkpoint",
    "train_final",
    "train_final_net",
    "train_joint",
    "train_network",
    "train_separate",
    "training_record",
    "write_idx",
]
