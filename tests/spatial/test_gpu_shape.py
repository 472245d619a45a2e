"""Issue 17, item 6, made ready: profiling on a torch device, and Tables I-II on a measured shape.

No GPU here: the CUDA path is refused cleanly, and the shape is checked with hand-made tables.
The one test that profiles on a GPU runs only where torch sees one (the device machine).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit import InputError
from splitexit.cli import app
from splitexit.spatial import (
    DEVICE_PRESETS,
    OSDSConfig,
    Provider,
    ShapedDevice,
    TableDevice,
    gpu_shaped,
    group_cluster,
    load_model,
    run_table,
)
from tests.spatial.helpers import hand_model, linear_device

torch = pytest.importorskip("torch")

from splitexit.spatial.devices._measure import measure_device  # noqa: E402

runner = CliRunner()


def _shape(model_name: str, flat: bool) -> TableDevice:
    """A table of ``model_name``: flat (any height costs the whole layer) or linear."""
    model = load_model(model_name)
    heights = tuple((layer.h_out,) if flat else tuple(range(1, layer.h_out + 1))
                    for layer in model.layers)  # fmt: skip
    return TableDevice(
        name="gpu",
        model_name=model.name,
        layer_names=tuple(layer.name for layer in model.layers),
        heights=heights,
        seconds=tuple(tuple(1e-3 * h for h in hs) for hs in heights),
        tail_s=1.0,
        source="gpu.json",
    )


def test_a_shaped_device_keeps_the_base_speed_per_layer_and_takes_the_shape() -> None:
    model = load_model("tinycnn")
    nano = DEVICE_PRESETS["nano"]
    base, base_tail = nano.latency_tables(model)
    for flat in (True, False):
        tables, tail = ShapedDevice(nano, _shape("tinycnn", flat)).latency_tables(model)
        assert tail == base_tail  # the preset's tail, not the shape's 1 s
        for layer, ours, theirs in zip(model.layers, tables, base, strict=True):
            assert ours[0] == 0.0 and ours[-1] == pytest.approx(theirs[-1])
            heights = np.arange(layer.h_out + 1)
            expected = np.where(heights > 0, 1.0, 0.0) if flat else heights / layer.h_out
            assert ours / theirs[-1] == pytest.approx(expected)


def test_a_shape_with_a_zero_layer_is_refused() -> None:
    model = hand_model(2)
    zero = linear_device("gpu", model, 0.0)
    with pytest.raises(InputError, match=r"gpu: layers\[0\] costs 0.0 s at its full height"):
        ShapedDevice(DEVICE_PRESETS["nano"], zero).latency_tables(model)


def test_gpu_shaped_reshapes_the_jetsons_and_leaves_the_pi3_and_tables() -> None:
    shape = _shape("tinycnn", flat=True)
    dc = gpu_shaped(group_cluster("DC", bandwidth=50e6), shape)
    kinds = [(type(p.device).__name__, p.device.name) for p in dc.providers]
    assert kinds == [
        ("ShapedDevice", "xavier"),
        ("ShapedDevice", "tx2"),
        ("ShapedDevice", "nano"),
        ("SyntheticDevice", "pi3"),
    ]
    assert [p.bandwidth for p in dc.providers] == [50e6] * 4
    measured = linear_device("me", load_model("tinycnn"), 1e-3)
    mixed = group_cluster("DB", bandwidth=50e6)
    mixed = type(mixed)(
        (Provider("me", measured, 1e8), *mixed.providers[1:]), mixed.requester_bandwidth
    )
    assert gpu_shaped(mixed, shape).providers[0].device is measured


def test_tables_on_a_shape_keep_offload_and_move_a_layer_by_layer_split() -> None:
    model = load_model("vgg16")
    config = OSDSConfig(episodes=2, learning_starts=1, actor_layers=(8,), critic_layers=(8,))

    def run(shape: TableDevice | None) -> dict[str, float]:
        records = run_table(
            "table1", model, osds_config=config, fast_evaluations=20, cases=["DB 50Mbps"],
            methods=["offload", "modnn"], shape=shape,
        )  # fmt: skip
        assert records[0]["notes"].get("gpu_shape") == (None if shape is None else "gpu.json")
        return {r["method"]: r["ips"] for r in records[0]["results"]}

    presets = run(None)
    flat, linear = run(_shape("vgg16", flat=True)), run(_shape("vgg16", flat=False))
    # Offload runs every layer whole on one device: the shape cannot change it.
    assert flat["offload"] == pytest.approx(presets["offload"], rel=1e-12)
    assert linear["offload"] == pytest.approx(presets["offload"], rel=1e-12)
    # MoDNN computes a share of every layer on every device: on a flat shape each share
    # costs the whole layer, on a linear one its share of it (4.73 and 5.82 img/s here).
    assert linear["modnn"] > 1.15 * flat["modnn"]


def test_profiling_on_cuda_without_a_gpu_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = load_model("tinycnn")
    with pytest.raises(InputError, match=r"torch device 'cuda': CUDA is not available here"):
        measure_device(model, name="g", torch_device="cuda")
    with pytest.raises(InputError, match=r"torch device 'mps': only cpu and cuda"):
        measure_device(model, name="g", torch_device="mps")
    with pytest.raises(InputError, match=r"torch device 'gpu0' is not a device name"):
        measure_device(model, name="g", torch_device="gpu0")
    with pytest.raises(InputError, match=r"precision must be one of float32, float16, bfloat16"):
        measure_device(model, name="g", precision="int8")


def test_the_chained_profile_stays_on_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(InputError, match="only the isolated profile at slowdown 1 runs off"):
        measure_device(load_model("tinycnn"), name="g", torch_device="cuda", mode="chained")
    with pytest.raises(InputError, match="this machine has 1 CUDA device"):
        measure_device(load_model("tinycnn"), name="g", torch_device="cuda:3")


def test_a_half_precision_profile_on_the_cpu_reads_back() -> None:
    model = load_model("tinycnn")
    table = measure_device(model, name="h", granularity=8, repeats=1, precision="bfloat16")
    tables, tail = table.latency_tables(model)
    assert all(t[-1] > 0 for t in tables) and tail > 0


def test_cli_refuses_cuda_here_and_a_shape_outside_the_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "gpu.json"
    result = runner.invoke(
        app, ["distredge", "profile-device", "--model", "tinycnn", "--out", str(out),
              "--torch-device", "cuda"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("error: torch device 'cuda': CUDA is not available here")
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()
    shape = tmp_path / "shape.json"
    from splitexit.spatial import save_device_table

    save_device_table(shape, _shape("tinycnn", flat=True), measured_with="hand")
    for name, model, message in (
        ("alpha", "tinycnn", "error: --gpu-shape applies to table1, table2, table3, not 'alpha'"),
        ("table1", "vgg16", f"error: {shape}: profiled for model 'tinycnn', not 'vgg16'"),
    ):
        bad = runner.invoke(
            app, ["distredge", "experiment", name, "--out", str(tmp_path / "o"), "--model",
                  model, "--gpu-shape", str(shape)],
        )  # fmt: skip
        assert bad.exit_code == 2 and bad.output.strip() == message
        assert not (tmp_path / "o" / f"{name}.json").exists()
    saved = json.loads(shape.read_text())
    assert saved["model"] == "tinycnn"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU (the device machine)")
def test_profiling_on_a_gpu_gives_a_table() -> None:  # pragma: no cover - GPU only
    model = load_model("tinycnn")
    table = measure_device(model, name="gpu", granularity=4, repeats=3, torch_device="cuda",
                           precision="float16", flush_bytes=1 << 20)  # fmt: skip
    tables, tail = table.latency_tables(model)
    assert all(t[-1] > 0 for t in tables) and tail > 0
