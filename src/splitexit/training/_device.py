"""The torch device a training asks for, checked before any work: ``cpu`` or ``cuda[:n]``.

>>> check_device("cpu")
'cpu'
>>> check_device("gpu")
Traceback (most recent call last):
...
splitexit.errors.InputError: device must be 'cpu' or 'cuda[:n]', got 'gpu'
"""

from __future__ import annotations

import re

from splitexit._validation import InstanceOf, validate_params
from splitexit.errors import InputError

__all__ = ["check_device"]

_CUDA = re.compile(r"cuda(?::(\d+))?")


@validate_params({"device": [InstanceOf(str)], "where": [InstanceOf(str)]})
def check_device(device: str, where: str = "device") -> str:
    """``device`` when this machine can train on it; else one line naming ``where`` (e.g. the
    option ``--device``) and why (a CUDA device that torch does not see: no GPU, no driver,
    or a CPU-only torch build)."""
    if device == "cpu":
        return device
    match = _CUDA.fullmatch(device)
    if match is None:
        raise InputError(f"{where} must be 'cpu' or 'cuda[:n]', got {device!r}")
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        build = "a CPU-only build" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
        raise InputError(
            f"{where} {device}: torch {torch.__version__} ({build}) sees no CUDA device on this "
            "machine; use cpu"
        )
    index = int(match.group(1) or 0)
    if index >= count:
        raise InputError(
            f"{where} {device}: torch sees {count} CUDA device(s) (cuda:0..cuda:{count - 1})"
        )
    return device
