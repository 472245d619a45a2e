"""Backbones as sequences of blocks with exit heads (torch; not imported by ``splitexit``).

>>> from splitexit.nets import build_network
>>> build_network("resnet20", in_channels=1, num_classes=10).block_names[:2]
('stem', 'res1.1')
"""

from splitexit.nets._multiexit import MultiExitNet
from splitexit.nets._registry import MODEL_NAMES, ModelSpec, build_network, model_spec

__all__ = ["MODEL_NAMES", "ModelSpec", "MultiExitNet", "build_network", "model_spec"]
