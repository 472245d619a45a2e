from __future__ import annotations

import numpy as np
import pytest

from splitexit.spatial import (
    Op,
    cuts_to_intervals,
    layer_input_rows,
    load_model,
    op_input_rows,
    volume_rows,
)


def _rows(op: Op, a: int, b: int) -> tuple[int, int]:
    lo, hi = op_input_rows(op, np.array([a]), np.array([b]))
    return int(lo[0]), int(hi[0])


@pytest.mark.parametrize(
    ("f", "s", "p", "h_in", "out", "expected"),
    [
        (3, 1, 1, 8, (0, 1), (0, 2)),  # top border: row -1 is padding, not transferred
        (3, 1, 1, 8, (3, 4), (2, 5)),  # interior: one halo row each side
        (3, 1, 1, 8, (6, 7), (5, 7)),  # bottom border
        (2, 2, 0, 8, (1, 2), (2, 5)),  # pooling: no halo
        (7, 2, 3, 224, (0, 0), (0, 3)),  # ResNet stem at the border: rows -3..3
        (7, 2, 3, 224, (10, 20), (17, 43)),  # S*a - P .. S*b - P + F - 1
        (3, 2, 0, 9, (3, 3), (6, 8)),  # floor division leaves no unused row here
        (3, 2, 0, 10, (3, 3), (6, 8)),  # ... and here row 9 is never read
    ],
)
def test_op_input_rows_vertical_splitting_law(
    f: int, s: int, p: int, h_in: int, out: tuple[int, int], expected: tuple[int, int]
) -> None:
    op = Op("conv", h_in, 4, 1, 1, f, s, p)
    assert _rows(op, *out) == expected


def test_op_input_rows_without_padding_is_eq1() -> None:
    # Eq. 1: h_in = (h_out - 1) * S + F for interior parts.
    op = Op("conv", 100, 4, 1, 1, 5, 3, 0)
    for a in range(0, 20, 3):
        for h in range(1, 6):
            lo, hi = _rows(op, a, a + h - 1)
            assert hi - lo + 1 == (h - 1) * 3 + 5


def test_op_input_rows_keeps_empty_parts_empty() -> None:
    op = Op("conv", 8, 4, 1, 1, 3, 1, 1)
    lo, hi = op_input_rows(op, np.array([3, 5]), np.array([2, 5]))
    assert hi[0] < lo[0]
    assert (lo[1], hi[1]) == (4, 6)


def test_layer_input_rows_takes_hull_of_block_branches() -> None:
    # ResNet-50 res3a: main branch 1x1, 3x3/2 (p=1), 1x1; shortcut 1x1/2.
    block = load_model("resnet50").layers[5]
    assert block.name == "res3a" and block.s == 2 and block.f == 3
    lo, hi = layer_input_rows(block, np.array([5]), np.array([9]))
    assert (int(lo[0]), int(hi[0])) == (9, 19)  # 3x3/2: [2*5-1, 2*9-1+2]


def test_volume_rows_chain_back_from_last_layer() -> None:
    vgg = load_model("vgg16")
    rows = volume_rows(vgg.layers[0:3], np.array([10]), np.array([19]))  # conv, conv, pool
    spans = [(int(lo[0]), int(hi[0])) for lo, hi in rows]
    assert spans == [(19, 40), (20, 39), (10, 19), (18, 41)]


def test_cuts_to_intervals_gives_each_device_its_rows() -> None:
    a, b = cuts_to_intervals(np.array([3, 3, 7]), 10)
    assert a.tolist() == [0, 3, 3, 7] and b.tolist() == [2, 2, 6, 9]
    assert (b - a + 1).tolist() == [3, 0, 4, 3]  # device 1 gets nothing


@pytest.mark.parametrize(
    ("name", "layers", "heights_end", "gflops"),
    [
        ("vgg16", 18, (14, 7), 30.7),  # 15.35 GMAC of convolutions
        ("resnet50", 18, (7, 7), 8.2),  # ~4.1 GMAC
        ("yolov2", 20, (13, 13), 29.4),  # darknet reports 29.37 BFLOPs for yolo-voc
    ],
)
def test_zoo_models_have_published_shapes_and_operations(
    name: str, layers: int, heights_end: tuple[int, int], gflops: float
) -> None:
    model = load_model(name)
    assert model.num_layers == layers
    assert model.heights[-2:] == heights_end
    assert model.flops / 1e9 == pytest.approx(gflops, rel=0.01)


def test_zoo_models_keep_blocks_whole() -> None:
    resnet = load_model("resnet50")
    assert sum(layer.is_block for layer in resnet.layers) == 16
    yolo = load_model("yolov2")
    passthrough = yolo.layers[17]
    assert passthrough.merge == "concat" and passthrough.c_out == 1024 + 256
    assert yolo.layers[-1].c_out == 125
