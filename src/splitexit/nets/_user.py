"""Backbones the user writes: ``path/to/file.py:factory`` or ``package.module:factory``.

The contract: ``factory(num_classes=..., in_channels=...)`` returns the backbone as a list
of ``torch.nn.Module`` blocks in order, or a pair ``(blocks, heads)`` with one exit head per
block. Without heads every exit gets the paper's head for its block's output: global average
pooling + linear for a 4-D output (N, C, H, W), linear for a 2-D one (N, F). A dummy forward
checks that the blocks chain and that every head gives ``num_classes`` logits; a failure is
one line naming the factory and the block (1-based, as the paper numbers blocks).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from splitexit._validation import InstanceOf, Interval, returned_type, validate_params
from splitexit.errors import InputError

__all__ = ["UserModel", "is_user_model", "load_user_model", "model_source_hash"]

DEFAULT_PROBE_SIZE = (32, 32)  # input size of the shape check when the data's is not known


@validate_params({"model": [InstanceOf(str)]})
def is_user_model(model: str) -> bool:
    """Whether ``model`` names a user factory (``FILE.py:NAME`` or ``MODULE:NAME``)."""
    return ":" in model


@returned_type
@dataclass(frozen=True, eq=False)
class UserModel:
    """A checked user backbone: its blocks, one head per block, names and output widths."""

    blocks: list[nn.Module]
    heads: list[nn.Module]
    names: list[str]
    channels: list[int]  # C of a 4-D output, F of a 2-D one


def _split(model: str) -> tuple[str, str]:
    where, _, name = model.rpartition(":")
    if not where or not name.isidentifier():
        raise InputError(f"model {model!r}: expected FILE.py:FACTORY or MODULE:FACTORY")
    return where, name


def _load_factory(model: str) -> Callable[..., object]:
    where, name = _split(model)
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise InputError(f"model {model!r}: {path} is not a file")
        key = "splitexit_user_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
        spec = importlib.util.spec_from_file_location(key, path)
        if spec is None or spec.loader is None:
            raise InputError(f"model {model!r}: {path} cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module  # so that pickling the blocks' classes works
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # the user's code: any error is theirs, in one line
            raise InputError(f"model {model!r}: importing {path} failed: {exc!r}") from None
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise InputError(f"model {model!r}: cannot import {where}: {exc}") from None
    factory = getattr(module, name, None)
    if not callable(factory):
        raise InputError(f"model {model!r}: {where} has no callable {name!r}")
    return factory  # type: ignore[no-any-return]


@validate_params({"model": [InstanceOf(str)]})
def model_source_hash(model: str) -> str:
    """SHA-256 of the source a backbone comes from (the user's file, or splitexit's nets):
    a user file by its factory's name and content, however its path is spelled."""
    digest = hashlib.sha256(model.encode())
    if is_user_model(model):
        where, name = _split(model)
        path = Path(where) if where.endswith(".py") else None
        if path is not None:
            digest = hashlib.sha256(name.encode())
        if path is None:
            spec = importlib.util.find_spec(where)
            origin = None if spec is None else spec.origin
            path = Path(origin) if origin else None
        if path is None or not path.is_file():
            raise InputError(f"model {model!r}: cannot find its source file")
        digest.update(path.read_bytes())
    else:
        for source in sorted(Path(__file__).parent.glob("_*.py")):
            if source.name != "_user.py":
                digest.update(source.read_bytes())
    return digest.hexdigest()


def _expected_inputs(block: nn.Module, ndim: int) -> int | None:
    """What the block's first convolution or linear layer takes, where it reads dim 1 as is."""
    for module in block.modules():
        for attribute, dims in (("in_channels", (4,)), ("in_features", (2,))):
            value = getattr(module, attribute, None)
            if isinstance(value, int) and value > 0:
                return value if ndim in dims else None
    return None


def default_head(output: torch.Tensor, num_classes: int) -> nn.Module:
    """The paper's exit head for a block output: pooling + linear (4-D) or linear (2-D)."""
    if output.ndim == 4:
        return nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(output.shape[1], num_classes)
        )
    if output.ndim == 2:
        return nn.Linear(output.shape[1], num_classes)
    raise ValueError(f"output of shape {tuple(output.shape)} is neither 4-D nor 2-D")


def _as_modules(model: str, value: object, what: str) -> list[nn.Module]:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or not value:
        raise InputError(f"{model}: {what} must be a non-empty list of torch.nn.Module")
    for i, item in enumerate(value):
        if not isinstance(item, nn.Module):
            raise InputError(
                f"{model}: {what}[{i}] must be a torch.nn.Module, got {type(item).__name__}"
            )
    return list(value)


@validate_params(
    {
        "model": [InstanceOf(str)],
        "in_channels": [Interval(int, 1, None)],
        "num_classes": [Interval(int, 1, None)],
        "image_size": [InstanceOf(tuple), None],
    }
)
def load_user_model(
    model: str,
    *,
    in_channels: int,
    num_classes: int,
    image_size: tuple[int, int] | None = None,
) -> UserModel:
    """Call the factory named by ``model`` and check what it returns (one dummy forward).

    >>> m = load_user_model("examples/user_model.py:four_blocks",  # doctest: +SKIP
    ...                     in_channels=1, num_classes=10)
    >>> len(m.blocks), len(m.heads)  # doctest: +SKIP
    (4, 4)
    """
    factory = _load_factory(model)
    try:
        made = factory(num_classes=num_classes, in_channels=in_channels)
    except Exception as exc:  # the user's code
        raise InputError(f"{model}: the factory failed: {exc!r}") from None
    heads_given: list[nn.Module] | None = None
    if isinstance(made, tuple) and len(made) == 2:
        blocks = _as_modules(model, made[0], "blocks")
        heads_given = _as_modules(model, made[1], "heads")
        if len(heads_given) != len(blocks):
            raise InputError(
                f"{model}: {len(blocks)} blocks need {len(blocks)} heads, got {len(heads_given)}"
            )
    else:
        blocks = _as_modules(model, made, "the factory's result")
    height, width = image_size or DEFAULT_PROBE_SIZE
    x = torch.zeros((2, in_channels, height, width))
    heads: list[nn.Module] = []
    channels: list[int] = []
    previous = "the input"
    for i, block in enumerate(blocks):
        expected = _expected_inputs(block, x.ndim)
        if expected is not None and x.shape[1] != expected:
            raise InputError(
                f"{model}: block {i + 1} expects {expected} channels but {previous} gives "
                f"{x.shape[1]}"
            )
        block.eval()
        try:
            with torch.no_grad():
                x = block(x)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(
                f"{model}: block {i + 1} fails on the output of {previous} "
                f"(shape {tuple(x.shape)}): {first}"
            ) from None
        if not isinstance(x, torch.Tensor) or x.ndim not in (2, 4):
            raise InputError(
                f"{model}: block {i + 1} must return a 4-D (N, C, H, W) or 2-D (N, F) tensor"
            )
        head = default_head(x, num_classes) if heads_given is None else heads_given[i]
        try:
            with torch.no_grad():
                logits = head.eval()(x)
        except Exception as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(
                f"{model}: head {i + 1} fails on block {i + 1}'s output: {first}"
            ) from None
        if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (2, num_classes):
            shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise InputError(
                f"{model}: head {i + 1} must give (batch, {num_classes}) logits, got {shape}"
            )
        block.train()
        head.train()
        heads.append(head)
        channels.append(int(x.shape[1]))
        previous = f"block {i + 1}"
    names = [f"block{i + 1}" for i in range(len(blocks))]
    return UserModel(blocks=blocks, heads=heads, names=names, channels=channels)
