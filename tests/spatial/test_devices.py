from __future__ import annotations

import re

import numpy as np
import pytest

from splitexit import InputError
from splitexit.spatial import (
    DEVICE_PRESETS,
    Cluster,
    Op,
    Provider,
    TableDevice,
    device_preset,
    load_model,
    make_problem,
    offload,
    simulate,
)
from tests.spatial.helpers import hand_model, linear_device


def _alone_ips(device: str, model: str) -> float:
    tables, tail = device_preset(device).latency_tables(load_model(model))
    return 1 / (sum(t[-1] for t in tables) + tail)


def test_presets_keep_the_papers_order_on_every_model() -> None:
    # Pi3 << Nano < TX2 < Xavier (seed 003, section V-D1, citing [28, 29]).
    for name in ("vgg16", "vgg19", "resnet50", "yolov2"):
        ips = {key: _alone_ips(key, name) for key in DEVICE_PRESETS}
        assert 10 * ips["pi3"] < ips["nano"] < ips["tx2"] < ips["xavier"]


@pytest.mark.parametrize(("model", "ips"), [("vgg19", 10.0), ("resnet50", 36.0)])
def test_nano_matches_the_benchmark_page_the_paper_cites(model: str, ips: float) -> None:
    # The Jetson Nano page [29] (TensorRT, FP16, batch 1): VGG-19 10 and ResNet-50 36 images/s;
    # the Nano's throughput and launch cost are fitted to these two figures.
    assert _alone_ips("nano", model) == pytest.approx(ips, rel=0.01)


# The calibrated presets alone (computing only, no network), images per second, as documented
# in docs/spatial.md ("Calibration"). A change of a preset must update both.
CALIBRATED_ALONE = {
    "pi3": {"vgg16": 0.494, "vgg19": 0.394, "resnet50": 1.946, "yolov2": 0.549},
    "nano": {"vgg16": 12.10, "vgg19": 9.98, "resnet50": 35.81, "yolov2": 15.23},
    "tx2": {"vgg16": 26.24, "vgg19": 21.53, "resnet50": 75.29, "yolov2": 31.88},
    "xavier": {"vgg16": 68.16, "vgg19": 56.23, "resnet50": 124.8, "yolov2": 77.30},
}

# The simulator's Offload of VGG-16 to one provider of each kind (image in over the provider's
# link, result back), images per second at 50 and 300 Mbps, as documented.
CALIBRATED_OFFLOAD_VGG16 = {
    "pi3": (0.49, 0.49),
    "nano": (9.01, 11.03),
    "tx2": (15.03, 21.65),
    "xavier": (23.21, 43.98),
}


@pytest.mark.parametrize("device", list(CALIBRATED_ALONE))
def test_presets_alone_match_the_documented_calibration(device: str) -> None:
    for model, ips in CALIBRATED_ALONE[device].items():
        assert _alone_ips(device, model) == pytest.approx(ips, rel=0.005), model


@pytest.mark.parametrize("device", list(CALIBRATED_OFFLOAD_VGG16))
def test_simulated_offload_matches_the_documented_calibration(device: str) -> None:
    problems = [
        make_problem(
            load_model("vgg16"),
            Cluster((Provider(device, device_preset(device), mbps * 1e6),), 400e6),
        )
        for mbps in (50, 300)
    ]
    got = tuple(simulate(p, offload(p)).ips for p in problems)
    assert got == pytest.approx(CALIBRATED_OFFLOAD_VGG16[device], rel=0.01)


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
