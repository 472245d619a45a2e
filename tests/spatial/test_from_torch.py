"""Layer specs read from a PyTorch module: the YAML spec's model, split execution still exact."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from splitexit.errors import InputError  # noqa: E402
from splitexit.spatial import load_model, model_from_mapping, spec_from_torch  # noqa: E402
from splitexit.spatial.geometry._torch import TorchModel, run_strategy  # noqa: E402


def _net() -> nn.Sequential:
    torch.manual_seed(3)
    return nn.Sequential(
        nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 8, 5, stride=2, padding=2),
            nn.LeakyReLU(0.1),
            nn.MaxPool2d(2),
        ),
        nn.Conv2d(8, 12, 3, padding="same"),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1),
        nn.Conv2d(12, 6, 3, stride=1, padding=0),
        nn.Flatten(),
        nn.Linear(6 * 2 * 1, 16),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(16, 5),
    ).double()


def _copy_weights(source: nn.Module, target: TorchModel) -> None:
    convs = [m for m in source.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in source.modules() if isinstance(m, nn.Linear)]
    mine = [m for m in target.layer_modules.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for src, dst in zip([*convs, *linears], [*mine, *target.tail], strict=True):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)


def test_the_spec_equals_the_yaml_spec_and_the_module_shapes() -> None:
    net = _net().eval()
    spec = spec_from_torch(net, (3, 30, 22), name="small")
    layers = [
        {"name": "0.0", "kind": "conv", "c_out": 8, "f": 3, "p": 1, "activation": "relu"},
        {"name": "0.2", "kind": "conv", "c_out": 8, "f": 5, "s": 2, "p": 2, "activation": "leaky"},
        {"name": "0.4", "kind": "maxpool", "f": 2, "s": 2},
        {"name": "1", "kind": "conv", "c_out": 12, "f": 3, "p": 1, "activation": "relu"},
        {"name": "3", "kind": "maxpool", "f": 3, "s": 2, "p": 1},
        {"name": "4", "kind": "conv", "c_out": 6, "f": 3},
    ]
    declared = model_from_mapping(
        {
            "name": "small",
            "description": "read from a PyTorch Sequential",
            "input": {"height": 30, "width": 22, "channels": 3},
            "layers": layers,
            "tail": {"pool": "flatten", "fc": [16, 5]},
        },
        source="declared",
    )
    assert spec == declared
    # Every layer's shape is what the module computes.
    x = torch.zeros(1, 3, 30, 22, dtype=torch.float64)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.MaxPool2d)]
    shapes = []
    for module in net.modules():
        if not isinstance(module, nn.Sequential):
            x = module(x)
            if module in convs:
                shapes.append(tuple(x.shape[1:]))
    assert shapes == [(layer.c_out, layer.h_out, layer.w_out) for layer in spec.layers]
    assert x.shape == (1, 5)


def test_split_execution_of_the_converted_module_equals_the_module() -> None:
    net = _net().eval()
    spec = spec_from_torch(net, (3, 30, 22))
    mine = TorchModel(spec, dtype=torch.float64).eval()
    _copy_weights(net, mine)
    image = torch.randn(1, 3, 30, 22, dtype=torch.float64)
    rng = np.random.default_rng(5)
    with torch.no_grad():
        expected = net(image)
        assert torch.allclose(mine(image), expected, rtol=1e-10, atol=1e-12)
        n = spec.num_layers
        for boundaries in ([0, n], [0, 2, n], [0, 1, 3, 4, n], list(range(n + 1))):
            splits = []
            for end in boundaries[1:]:
                cuts = np.sort(rng.integers(0, spec.layers[end - 1].h_out + 1, 3))
                cuts[1] = cuts[0]  # an empty split-part
                splits.append(cuts.tolist())
            got = run_strategy(mine, boundaries, splits, image)
            assert torch.allclose(got, expected, rtol=1e-10, atol=1e-12), (boundaries, splits)


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)), "layer '1' (BatchNorm2d)"),
        (nn.Sequential(nn.Conv2d(3, 4, (3, 1))), "layer '0' (Conv2d): kernel (3, 1)"),
        (nn.Sequential(nn.Conv2d(3, 4, 3, dilation=2)), "layer '0' (Conv2d): dilation"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(5, 4, 3)), "c_in is 5 but the previous"),
        (nn.Sequential(nn.ReLU(), nn.Conv2d(3, 4, 3)), "layer '0' (ReLU) follows no conv"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(9, 2)), "in_features is 9"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.LeakyReLU(0.2)), "negative slope of 0.1"),
        (nn.Conv2d(3, 4, 3, groups=1, padding_mode="reflect"), "'<root>' (Conv2d): dilation"),
    ],
)
def test_unsupported_layers_are_named(module: nn.Module, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        spec_from_torch(module, (3, 8, 8))


def test_a_custom_container_is_not_walked() -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 3, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.conv(x)

    net = nn.Sequential(OrderedDict(first=nn.Conv2d(3, 3, 1), block=Residual()))
    with pytest.raises(InputError, match=r"layer 'block' \(Residual\) is not supported"):
        spec_from_torch(net, (3, 8, 8))


def test_a_torchvision_style_vgg16_reads_as_the_shipped_vgg16() -> None:
    layers: list[nn.Module] = []
    c = 3
    with torch.device("meta"):  # no weights are needed to read the geometry
        for v in (64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0):
            if v == 0:
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(True)]
                c = v
        classifier = [nn.Linear(25088, 4096), nn.ReLU(True), nn.Dropout()]
        classifier += [nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(), nn.Linear(4096, 1000)]
        vgg = nn.Sequential(
            nn.Sequential(*layers), nn.AdaptiveAvgPool2d((7, 7)), nn.Flatten(), *classifier
        )
    spec = spec_from_torch(vgg, (3, 224, 224))
    shipped = load_model("vgg16")
    assert [layer.branches for layer in spec.layers] == [layer.branches for layer in shipped.layers]
    assert (spec.tail_pool, spec.tail_fc) == (shipped.tail_pool, shipped.tail_fc)
