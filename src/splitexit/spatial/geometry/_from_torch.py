"""Reading a CNN's layer specs from a PyTorch module (seed 003, section III-B; torch on use).

:func:`spec_from_torch` walks a sequential-style module (``nn.Sequential`` containers, nested
or not, in order) and writes the ``splitexit.cnn/1`` mapping that a YAML spec would hold, then
builds it with the same loader, so the result is the :class:`ModelSpec` of that YAML and its
shapes are checked the same way (each conv's ``in_channels`` is its ``c_in``).

Supported: ``Conv2d`` (square kernel and stride, equal padding, no dilation or groups, zero
padding), ``MaxPool2d`` (no dilation or ceil mode), ``PixelUnshuffle`` (a reorg), ``ReLU`` and
``LeakyReLU(0.1)`` right after one of those (its activation), ``Identity`` and ``Dropout``
(identities at inference); then the tail: ``AdaptiveAvgPool2d(1)`` (or one that keeps the map
as it is, like VGG's ``(7, 7)`` at 224x224), ``Flatten`` and ``Linear`` layers with ``ReLU`` or
``Dropout`` between them. The spec records the widths of the tail only; the simulator needs
no more. Anything else, a non-Sequential container included, is an :class:`InputError`
naming the layer and its type (residual blocks must be declared in a spec).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from splitexit._validation import InstanceOf, validate_params
from splitexit.errors import InputError
from splitexit.spatial.geometry._geometry import ModelSpec
from splitexit.spatial.geometry._spec import model_from_mapping

if TYPE_CHECKING:
    from torch import nn

__all__ = ["spec_from_torch"]


def _pair(value: object, what: str, where: str) -> int:
    """One integer for a square kernel, stride or padding (an int or an equal pair)."""
    if isinstance(value, int):
        return value
    if isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]:
        return int(value[0])
    raise InputError(f"{where}: {what} {value!r} is not square; only square {what}s are supported")


class _Walker:
    def __init__(self, channels: int, height: int, width: int) -> None:
        self.shape = (channels, height, width)  # of the map after the last layer read
        self.layers: list[dict[str, Any]] = []
        self.pool: str | None = None  # set once the tail starts
        self.fc: list[int] = []
        self.width = 0  # features entering the next Linear
        self.activated = True  # whether the last layer already has its activation

    def walk(self, module: nn.Module, name: str) -> None:
        from torch import nn

        if isinstance(module, nn.Sequential):
            for child_name, child in module.named_children():
                self.walk(child, f"{name}.{child_name}" if name else child_name)
            return
        where = f"layer {name or '<root>'!r} ({type(module).__name__})"
        if isinstance(module, nn.Identity | nn.Dropout | nn.Dropout2d):
            return
        if isinstance(module, nn.ReLU | nn.LeakyReLU):
            self._activation(module, where)
        elif self.pool is not None or isinstance(module, nn.Flatten | nn.AdaptiveAvgPool2d):
            self._tail(module, where)
        elif isinstance(module, nn.Conv2d):
            self._conv(module, name, where)
        elif isinstance(module, nn.MaxPool2d):
            if module.dilation not in (1, (1, 1)) or module.ceil_mode or module.return_indices:
                raise InputError(f"{where}: dilation, ceil_mode and return_indices unsupported")
            f = _pair(module.kernel_size, "kernel", where)
            s = _pair(module.stride if module.stride is not None else f, "stride", where)
            p = _pair(module.padding, "padding", where)
            self._add({"name": name, "kind": "maxpool", "f": f, "s": s, "p": p}, where)
        elif isinstance(module, nn.PixelUnshuffle):
            self._add({"name": name, "kind": "reorg", "s": module.downscale_factor}, where)
        else:
            raise InputError(f"{where} is not supported by spec_from_torch")

    def _conv(self, conv: nn.Conv2d, name: str, where: str) -> None:
        if conv.dilation != (1, 1) or conv.groups != 1 or conv.padding_mode != "zeros":
            raise InputError(f"{where}: dilation, groups and non-zero padding modes unsupported")
        f = _pair(conv.kernel_size, "kernel", where)
        s = _pair(conv.stride, "stride", where)
        padding: object = conv.padding
        if padding == "valid":
            padding = 0
        elif padding == "same":
            if s != 1 or f % 2 == 0:
                raise InputError(f"{where}: padding='same' needs stride 1 and an odd kernel")
            padding = (f - 1) // 2
        p = _pair(padding, "padding", where)
        self._add(
            {
                "name": name,
                "kind": "conv",
                "c_in": conv.in_channels,
                "c_out": conv.out_channels,
                "f": f,
                "s": s,
                "p": p,
            },
            where,
        )

    def _add(self, layer: dict[str, Any], where: str) -> None:
        self.layers.append(layer)
        self.activated = False
        # The shape after it, from the loader itself (it also checks that the layers chain).
        c, h, w = self.shape
        spec = model_from_mapping(
            {"name": "-", "input": {"height": h, "width": w, "channels": c}, "layers": [layer]},
            source=where,
        )
        last = spec.layers[-1]
        self.shape = (last.c_out, last.h_out, last.w_out)

    def _activation(self, module: nn.ReLU | nn.LeakyReLU, where: str) -> None:
        from torch import nn

        kind = "relu"
        if isinstance(module, nn.LeakyReLU):
            if abs(module.negative_slope - 0.1) > 1e-12:
                raise InputError(f"{where}: only a negative slope of 0.1 is supported")
            kind = "leaky"
        if self.pool is not None:
            if kind != "relu" or not self.fc:
                raise InputError(f"{where}: in the tail only a ReLU after a Linear is supported")
            return
        if self.activated:
            raise InputError(f"{where} follows no conv, max-pool or reorg without an activation")
        self.layers[-1]["activation"] = kind
        self.activated = True

    def _tail(self, module: nn.Module, where: str) -> None:
        from torch import nn

        c, h, w = self.shape
        if isinstance(module, nn.AdaptiveAvgPool2d) and self.pool is None:
            size = module.output_size
            sizes = (size, size) if isinstance(size, int) or size is None else tuple(size)
            if sizes == (1, 1):
                self.pool, self.width = "avg", c
                return
            if sizes == (h, w):  # keeps the map as it is (VGG's (7, 7) at 224x224)
                return
            raise InputError(f"{where}: output size {size!r} is neither 1 nor the {h}x{w} map")
        if isinstance(module, nn.Flatten) and self.pool in (None, "avg") and not self.fc:
            if self.pool is None:
                self.pool, self.width = "flatten", c * h * w
            return
        if isinstance(module, nn.Linear) and self.pool is not None:
            if module.in_features != self.width:
                raise InputError(
                    f"{where}: in_features is {module.in_features} but {self.width} arrive"
                )
            self.fc.append(module.out_features)
            self.width = module.out_features
            return
        raise InputError(f"{where} is not supported here: after Flatten only Linear layers")


@validate_params(
    {
        "module": [InstanceOf("torch.nn:Module")],
        "input_shape": [InstanceOf(tuple, list)],
        "name": [InstanceOf(str), None],
    }
)
def spec_from_torch(
    module: nn.Module, input_shape: tuple[int, int, int], *, name: str | None = None
) -> ModelSpec:
    """The :class:`ModelSpec` of a sequential-style CNN for inputs ``(channels, H, W)``.

    Layer names are the modules' qualified names (``features.0``).
    """
    if len(input_shape) != 3 or not all(isinstance(n, int) and n > 0 for n in input_shape):
        raise InputError(f"input_shape must be (channels, height, width), got {input_shape!r}")
    walker = _Walker(*input_shape)
    walker.walk(module, "")
    if not walker.layers:
        raise InputError("spec_from_torch: the module has no conv, max-pool or reorg layer")
    if walker.pool is not None and walker.pool == "flatten" and not walker.fc:
        walker.pool = "none"  # a bare Flatten: the map is the result
    c, h, w = input_shape
    mapping = {
        "name": name or type(module).__name__.lower(),
        "description": f"read from a PyTorch {type(module).__name__}",
        "input": {"height": h, "width": w, "channels": c},
        "layers": walker.layers,
        "tail": {"pool": walker.pool or "none", "fc": walker.fc},
    }
    return model_from_mapping(mapping, source=f"spec_from_torch({type(module).__name__})")
