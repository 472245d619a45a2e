from __future__ import annotations

import re

import numpy as np
import pytest

from splitexit import InputError
from splitexit.spatial import DEVICE_PRESETS, Op, TableDevice, device_preset, load_model
from tests.spatial.helpers import hand_model, linear_device


def test_presets_keep_the_benchmarks_order_on_every_model() -> None:
    # Pi3 << Nano < TX2 < Xavier (seed 003 [28, 29]); Nano ~10 images/s on VGG-16.
    for name in ("vgg16", "resnet50", "yolov2"):
        model = load_model(name)
        total = {}
        for key, device in DEVICE_PRESETS.items():
            tables, tail = device.latency_tables(model)
            total[key] = sum(t[-1] for t in tables) + tail
        assert total["pi3"] > 10 * total["nano"] > 10 * total["tx2"] > 10 * total["xavier"]
    tables, tail = device_preset("nano").latency_tables(load_model("vgg16"))
    assert 1 / (sum(t[-1] for t in tables) + tail) == pytest.approx(10, rel=0.1)


def test_synthetic_latency_is_step_shaped_not_linear() -> None:
    # A 512-channel 14-wide conv row holds 7168 outputs; a Xavier wave holds 131072, so the
    # whole 14-row layer is one wave: 1 row costs as much as 14 (under-occupancy).
    xavier = device_preset("xavier")
    op = Op("conv", 14, 14, 512, 512, 3, 1, 1)
    one, all_rows = xavier.op_seconds(op, 1), xavier.op_seconds(op, 14)
    assert one == pytest.approx(all_rows)
    # The Nano's wave (16384) is 2.3 rows: latency rises in steps of whole waves.
    nano = device_preset("nano")
    steps = [nano.op_seconds(op, h) for h in range(1, 15)]
    assert steps[0] == steps[1] < steps[2] == steps[3] < steps[4]
    assert np.all(np.diff(steps) >= 0)
    assert nano.op_seconds(op, 0) == 0.0


def test_synthetic_tables_start_at_zero_and_cover_every_height() -> None:
    model = load_model("vgg16")
    tables, _ = device_preset("tx2").latency_tables(model)
    for layer, table in zip(model.layers, tables, strict=True):
        assert table.shape == (layer.h_out + 1,) and table[0] == 0.0
        assert np.all(np.diff(table) >= 0)


@pytest.mark.parametrize("method", ["interp", "knn"])
def test_table_device_reads_measured_points_back(method: str) -> None:
    model = hand_model(1, height=8)
    table = TableDevice(
        "m",
        "hand",
        ("c0",),
        ((2, 4, 8),),
        ((1.0, 3.0, 4.0),),
        0.5,
        "m.json",
        method,  # type: ignore[arg-type]
    )
    tables, tail = table.latency_tables(model)
    assert tables[0][[0, 2, 4, 8]].tolist() == pytest.approx([0.0, 1.0, 3.0, 4.0])
    assert tail == 0.5
    if method == "interp":
        assert tables[0][3] == pytest.approx(2.0) and tables[0][6] == pytest.approx(3.5)
        assert tables[0][1] == pytest.approx(1.0)  # held flat below the first height


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_name": "vgg16"}, "m.json: profiled for model 'vgg16', not 'hand'"),
        ({"layer_names": ("c0", "x1")}, "m.json: layers[1] is 'x1' but the model's is 'c1'"),
        ({"layer_names": ("c0",)}, "m.json: profiles 1 layers but model 'hand' has 2"),
    ],
)
def test_table_device_must_match_the_model(change: dict[str, object], message: str) -> None:
    model = hand_model(2)
    good = linear_device("m", model, 1.0)
    fields = {**good.__dict__, "source": "m.json", **change}
    with pytest.raises(InputError, match=re.escape(message)):
        TableDevice(**fields).latency_tables(model)  # type: ignore[arg-type]


def test_table_device_must_reach_the_layer_height() -> None:
    model = hand_model(1, height=8)
    short = TableDevice("m", "hand", ("c0",), ((2, 4),), ((1.0, 2.0),), 0.0, "m.json")
    with pytest.raises(InputError, match=r"layers\[0\].heights must end at the layer's height 8"):
        short.latency_tables(model)
