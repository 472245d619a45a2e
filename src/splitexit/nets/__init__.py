"""Backbones as sequences of blocks with exit heads (torch; not imported by ``splitexit``).

>>> from splitexit.nets import build_network
>>> build_network("resnet20", in_channels=1, num_classes=10).block_names[:2]
('stem', 'res1.1')
"""

from splitexit.nets._multiexit import MultiExitNet
from splitexit.nets._registry import (
    MODEL_NAMES,
    ModelSpec,
    build_network,
    check_model,
    model_spec,
)
from splitexit.nets._user import UserModel, is_user_model, load_user_model, model_source_hash

__all__ = [
    "MODEL_NAMES",
    "ModelSpec",
    "MultiExitNet",
    "UserModel",
    "build_network",
    "check_model",
    "is_user_model",
    "load_user_model",
    "model_source_hash",
    "model_spec",
]
