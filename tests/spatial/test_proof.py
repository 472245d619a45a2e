"""The geometry is right: split-parts run on their row slices and stitched equal the model."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from splitexit.spatial import ModelSpec, load_model  # noqa: E402
from splitexit.spatial.geometry._torch import TorchModel, run_strategy  # noqa: E402

# The real geometry (heights) with fewer channels and narrower maps, so that it runs fast.
MODELS = [
    ("tinycnn", 1, None),
    ("vgg16", 16, (224, 32)),
    ("resnet50", 16, (224, 32)),
    ("yolov2", 32, (416, 32)),
]


def _random_strategy(
    model: ModelSpec, rng: np.random.Generator
) -> tuple[list[int], list[list[int]]]:
    n = model.num_layers
    volumes = int(rng.integers(1, min(6, n) + 1))
    inner = sorted(rng.choice(np.arange(1, n), volumes - 1, replace=False).tolist())
    boundaries = [0, *inner, n]
    devices = int(rng.integers(2, 6))
    splits = []
    for end in boundaries[1:]:
        height = model.layers[end - 1].h_out
        cuts = np.sort(rng.integers(0, height + 1, devices - 1))
        if rng.random() < 0.5:  # force an empty split-part somewhere
            k = int(rng.integers(0, devices - 1))
            cuts[k] = cuts[k - 1] if k > 0 else 0
        splits.append(sorted(cuts.tolist()))
    return boundaries, splits


@pytest.mark.parametrize(("name", "divisor", "size"), MODELS)
def test_split_parts_stitched_equal_the_unsplit_model(
    name: str, divisor: int, size: tuple[int, int] | None
) -> None:
    model = load_model(name, channel_divisor=divisor, input_size=size)
    net = TorchModel(model, seed=1, dtype=torch.float64).eval()
    image = torch.randn(1, model.c_in, model.h_in, model.w_in, dtype=torch.float64)
    rng = np.random.default_rng(sum(map(ord, name)))  # stable across runs
    with torch.no_grad():
        expected = net(image)
        features = net.features(image)
        for _ in range(4):
            boundaries, splits = _random_strategy(model, rng)
            got = run_strategy(net, boundaries, splits, image)
            assert torch.allclose(got, expected, rtol=1e-10, atol=1e-12), (boundaries, splits)
        # Layer by layer, with every row on the last device: only empty parts elsewhere.
        n = model.num_layers
        alone = [[0, 0] for _ in range(n)]
        lbl = run_strategy(net, list(range(n + 1)), alone, image)
        assert torch.allclose(lbl, expected, rtol=1e-10, atol=1e-12)
        one = [[model.layers[-1].h_out // 3, model.layers[-1].h_out // 2]]
        head_in = run_strategy(net, [0, n], one, image)
        assert torch.allclose(head_in, expected, rtol=1e-10, atol=1e-12)
        assert features.shape[2] == model.layers[-1].h_out


def test_zero_padding_at_a_cut_would_be_wrong() -> None:
    # The control: padding a part at the cut (as if it were the border) changes the output,
    # so the equality above is not trivial.
    model = load_model("tinycnn")
    net = TorchModel(model, dtype=torch.float64).eval()
    conv = net.modules_of(0)[0][0]
    image = torch.randn(1, 3, 32, 32, dtype=torch.float64)
    with torch.no_grad():
        whole = conv(image)
        naive = torch.cat([conv(image[:, :, :16]), conv(image[:, :, 16:])], dim=2)
    assert not torch.allclose(whole, naive)
    assert torch.allclose(whole[:, :, :15], naive[:, :, :15])
