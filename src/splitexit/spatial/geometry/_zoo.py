"""The shipped models, written as ``splitexit.cnn/1`` mappings and validated like files.

- ``vgg16``: VGG-16 at 224x224 (Simonyan and Zisserman), 13 convs and 5 max-pools, FC tail.
- ``vgg19``: VGG-19, the same with 16 convs; the model of the Jetson Nano benchmark page that
  the device presets are calibrated to (docs/spatial.md, "Calibration").
- ``resnet50``: ResNet-50 at 224x224 (He et al., the torchvision v1.5 variant with the stride
  on the 3x3 conv); each bottleneck is one block layer, so it stays whole in a layer-volume.
- ``yolov2``: YOLOv2 at 416x416 (Redmon and Farhadi, ``yolo-voc.cfg``, 125 output channels);
  the route-and-reorg passthrough is one concat block spanning darknet layers 17-28.
- ``tinycnn``: a small CNN at 32x32 with every kind of layer, for tests.

``channel_divisor`` and ``input_size`` shrink a model for fast tests with the same code; the
real geometry is the default.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from splitexit._boundary import read_mapping
from splitexit._validation import InstanceOf, Interval, validate_params
from splitexit.errors import InputError
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.geometry._spec import model_from_mapping

__all__ = ["load_model", "model_names", "zoo_mapping"]

Mapping = dict[str, Any]


def _conv(c_out: int, f: int, s: int = 1, act: str = "relu", name: str | None = None) -> Mapping:
    op: Mapping = {"kind": "conv", "c_out": c_out, "f": f, "s": s, "p": f // 2, "activation": act}
    return op if name is None else {"name": name, **op}


def _pool(f: int, s: int, p: int = 0, name: str | None = None) -> Mapping:
    op: Mapping = {"kind": "maxpool", "f": f, "s": s, "p": p}
    return op if name is None else {"name": name, **op}


def _vgg(depth: int) -> Mapping:
    repeats = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}[depth]
    layers: list[Mapping] = []
    for stage, (width, repeat) in enumerate(zip((64, 128, 256, 512, 512), repeats, strict=True)):
        for j in range(repeat):
            layers.append(_conv(width, 3, name=f"conv{stage + 1}_{j + 1}"))
        layers.append(_pool(2, 2, name=f"pool{stage + 1}"))
    return {
        "name": f"vgg{depth}",
        "description": f"VGG-{depth}, 224x224x3 input",
        "input": {"height": 224, "width": 224, "channels": 3},
        "layers": layers,
        "tail": {"pool": "flatten", "fc": [4096, 4096, 1000]},
    }


def _bottleneck(name: str, mid: int, stride: int, project: bool) -> Mapping:
    main = [_conv(mid, 1), _conv(mid, 3, stride), _conv(4 * mid, 1, act="none")]
    shortcut = [_conv(4 * mid, 1, stride, act="none")] if project else []
    return {"name": name, "kind": "block", "merge": "add", "activation": "relu",
            "branches": [main, shortcut]}  # fmt: skip


def _resnet50() -> Mapping:
    layers: list[Mapping] = [_conv(64, 7, 2, name="conv1"), _pool(3, 2, 1, name="pool1")]
    for stage, (mid, repeat, stride) in enumerate(
        [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]
    ):
        for j in range(repeat):
            layers.append(
                _bottleneck(f"res{stage + 2}{'abcdef'[j]}", mid, stride if j == 0 else 1, j == 0)
            )
    return {
        "name": "resnet50",
        "description": "ResNet-50 (v1.5), 224x224x3 input, bottlenecks kept whole",
        "input": {"height": 224, "width": 224, "channels": 3},
        "layers": layers,
        "tail": {"pool": "avg", "fc": [1000]},
    }


def _yolov2() -> Mapping:
    # yolo-voc.cfg layers 0-16, then the passthrough block, then layers 29-30.
    plan: list[tuple[int, int] | str] = [
        (32, 3), "M", (64, 3), "M", (128, 3), (64, 1), (128, 3), "M",
        (256, 3), (128, 1), (256, 3), "M", (512, 3), (256, 1), (512, 3), (256, 1), (512, 3),
    ]  # fmt: skip
    layers: list[Mapping] = []
    for index, item in enumerate(plan):
        if item == "M":
            layers.append(_pool(2, 2, name=f"l{index}_max"))
        else:
            assert isinstance(item, tuple)
            layers.append(_conv(item[0], item[1], act="leaky", name=f"l{index}_conv"))
    deep = [_pool(2, 2)] + [
        _conv(c, f, act="leaky")
        for c, f in [(1024, 3), (512, 1), (1024, 3), (512, 1), (1024, 3), (1024, 3), (1024, 3)]
    ]
    passthrough = [_conv(64, 1, act="leaky"), {"kind": "reorg", "s": 2}]
    layers.append({"name": "l17_28_passthrough", "kind": "block", "merge": "concat",
                   "activation": "none", "branches": [deep, passthrough]})  # fmt: skip
    layers.append(_conv(1024, 3, act="leaky", name="l29_conv"))
    layers.append(_conv(125, 1, act="none", name="l30_conv"))
    return {
        "name": "yolov2",
        "description": "YOLOv2 (VOC), 416x416x3 input, passthrough kept whole",
        "input": {"height": 416, "width": 416, "channels": 3},
        "layers": layers,
        "tail": {"pool": "none"},
    }


def _tinycnn() -> Mapping:
    res = {"name": "res", "kind": "block", "merge": "add", "activation": "relu",
           "branches": [[_conv(12, 3), _conv(12, 3, act="none")], []]}  # fmt: skip
    reorg = {"kind": "reorg", "s": 2}
    passthrough = {"name": "pass", "kind": "block", "merge": "concat", "activation": "none",
                   "branches": [[_conv(16, 3, 2)], [_conv(4, 1), reorg]]}  # fmt: skip
    inception = {"name": "mix", "kind": "block", "merge": "concat", "activation": "none",
                 "branches": [[_conv(8, 1)], [_conv(4, 1), _conv(4, 3), _conv(4, 3)],
                              [_pool(3, 1, 1)]]}  # fmt: skip
    return {
        "name": "tinycnn",
        "description": "a small CNN with every layer kind, 32x32x3 input (tests)",
        "input": {"height": 32, "width": 32, "channels": 3},
        "layers": [
            _conv(8, 3, name="conv1"),
            _pool(2, 2, name="pool1"),
            _conv(12, 5, act="leaky", name="conv2"),
            res,
            passthrough,
            inception,
            {"name": "conv3", "kind": "conv", "c_out": 8, "f": 3, "s": 1, "p": 0},
        ],
        "tail": {"pool": "flatten", "fc": [10]},
    }


_ZOO: dict[str, Callable[[], Mapping]] = {
    "vgg16": lambda: _vgg(16),
    "vgg19": lambda: _vgg(19),
    "resnet50": _resnet50,
    "yolov2": _yolov2,
    "tinycnn": _tinycnn,
}


def model_names() -> list[str]:
    """Names of the shipped models."""
    return sorted(_ZOO)


def _shrink(item: Any, divisor: int) -> Any:
    if isinstance(item, list):
        return [_shrink(x, divisor) for x in item]
    if isinstance(item, dict):
        return {
            k: (max(1, v // divisor) if k == "c_out" else _shrink(v, divisor))
            for k, v in item.items()
        }
    return item


@validate_params(
    {
        "name": [InstanceOf(str)],
        "channel_divisor": [Interval(int, 1, None)],
        "input_size": [InstanceOf(tuple, list), None],
    }
)
def zoo_mapping(
    name: str, *, channel_divisor: int = 1, input_size: tuple[int, int] | None = None
) -> Mapping:
    """The spec mapping of a shipped model, optionally with fewer channels or a smaller input."""
    if name not in _ZOO:
        raise InputError(f"model {name!r} is not shipped; models: {', '.join(model_names())}")
    mapping = _ZOO[name]()
    # A shrunk model gets its own name, so a device table measured on it cannot pass for the
    # real one.
    if channel_divisor > 1:
        mapping["name"] += f"-c{channel_divisor}"
    if input_size is not None:
        mapping["name"] += f"-{input_size[0]}x{input_size[1]}"
    if channel_divisor > 1:
        mapping = _shrink(mapping, channel_divisor)
        tail = mapping.get("tail", {})
        if "fc" in tail:
            tail["fc"] = [max(1, units // channel_divisor) for units in tail["fc"]]
    if input_size is not None:
        mapping["input"] = {**mapping["input"], "height": input_size[0], "width": input_size[1]}
    return mapping


@validate_params(
    {
        "spec": [InstanceOf(str, Path)],
        "channel_divisor": [Interval(int, 1, None)],
        "input_size": [InstanceOf(tuple, list), None],
    }
)
def load_model(
    spec: str | Path, *, channel_divisor: int = 1, input_size: tuple[int, int] | None = None
) -> ModelSpec:
    """A shipped model by name, or a ``splitexit.cnn/1`` YAML/JSON file.

    >>> load_model("vgg16").heights[-1]
    7
    """
    path = Path(spec)
    if path.is_file():
        return model_from_mapping(read_mapping(path, kind="model spec"), source=str(path))
    name = str(spec)
    if name in _ZOO:
        mapping = zoo_mapping(name, channel_divisor=channel_divisor, input_size=input_size)
        return model_from_mapping(mapping, source=f"model {name}")
    if path.suffix.lower() in {".yaml", ".yml", ".json"} or path.parent != Path("."):
        raise InputError(f"{spec}: no such model spec file")
    raise InputError(
        f"model {name!r} is neither a file nor shipped; models: {', '.join(model_names())}"
    )
