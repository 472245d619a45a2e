"""Executing split decisions for real: output equality, profiles in place, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from splitexit.errors import InputError
from splitexit.spatial import Strategy, load_model, model_from_mapping, zoo_mapping
from splitexit.spatial.execution import (
    ExecutionPool,
    emulated_cluster,
    load_emulated,
    measure_methods,
)
from splitexit.spatial.methods import aofl, modnn, offload

torch = pytest.importorskip("torch")

from splitexit.spatial.geometry._torch import TorchModel  # noqa: E402

TINY = dict(channel_divisor=8, input_size=(32, 32))


def _cluster(n: int = 3):
    devices = [("a", 1.0, 200e6), ("b", 2.0, 100e6), ("c", 3.0, 50e6)][:n]
    return emulated_cluster(devices, overhead_s=1e-3)


@pytest.mark.parametrize("method", [offload, modnn, aofl])
def test_execution_output_equals_unsplit(method) -> None:
    model = load_model("vgg16", **TINY)
    with ExecutionPool(model, _cluster(), mode="thread", wait_s=30) as pool:
        problem = pool.profile(granularity=4, repeats=1, warmup=0)
        strategy = method(problem)
        image = torch.randn(
            1, model.c_in, model.h_in, model.w_in, generator=torch.Generator().manual_seed(1)
        )
        output, latency = pool.run(strategy, image)
    reference = TorchModel(model).eval()(image)
    assert latency > 0
    assert output.shape == reference.shape
    assert torch.allclose(output, reference, atol=1e-5, rtol=1e-4)


def test_execution_uneven_split_without_tail_equals_unsplit() -> None:
    mapping = zoo_mapping("tinycnn")
    mapping["tail"] = {"pool": "none"}
    model = model_from_mapping(mapping, source="tinycnn without tail")
    with ExecutionPool(model, _cluster(2), mode="thread", wait_s=30) as pool:
        problem = pool.profile(granularity=8, repeats=1, warmup=0)
        boundaries = (0, 2, model.num_layers)
        splits = ((problem.height(1) // 3,), (problem.height(model.num_layers - 1),))
        image = torch.randn(1, model.c_in, model.h_in, model.w_in)
        output, _ = pool.run(Strategy(boundaries, splits), image)
    reference = TorchModel(model).eval()(image)
    assert torch.allclose(output, reference, atol=1e-5, rtol=1e-4)


def test_execution_profile_is_a_device_table_per_worker() -> None:
    model = load_model("vgg16", **TINY)
    with ExecutionPool(model, _cluster(2), mode="thread", wait_s=30) as pool:
        problem = pool.profile(granularity=4, repeats=1, warmup=0)
    assert problem.num_devices == 2
    for provider in problem.cluster.providers:  # type: ignore[attr-defined]
        table = provider.device
        assert table.model_name == model.name
        assert table.layer_names == tuple(layer.name for layer in model.layers)
        for layer, heights in zip(model.layers, table.heights, strict=True):
            assert heights[-1] == layer.h_out and list(heights) == sorted(set(heights))
    for index, layer in enumerate(model.layers):
        assert problem.tables[index].shape == (2, layer.h_out + 1)
        assert (problem.tables[index][:, 0] == 0).all()


@pytest.mark.slow
def test_execution_processes_output_equals_unsplit() -> None:
    model = load_model("vgg16", **TINY)
    with ExecutionPool(model, _cluster(2), mode="process", wait_s=60) as pool:
        problem = pool.profile(granularity=8, repeats=1, warmup=0)
        image = torch.randn(1, model.c_in, model.h_in, model.w_in)
        output, _ = pool.run(modnn(problem), image)
    assert torch.allclose(output, TorchModel(model).eval()(image), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("providers: []\n", "providers"),
        ("providers:\n  - {name: a, slowdown: 0.5, bandwidth: 10Mbps}\n", "slowdown"),
        ("providers:\n  - {name: a, slowdown: 5000, bandwidth: 10Mbps}\n", "slowdown"),
        ("providers:\n  - {name: a, slowdown: 2, bandwidth: fast}\n", "bandwidth"),
        ("providers:\n  - {name: a, slowdown: 2, bandwidth: 1Mbps, gpu: 1}\n", "gpu"),
        (
            "providers:\n  - {name: a, slowdown: 2, bandwidth: 1Mbps}\n"
            "  - {name: a, slowdown: 2, bandwidth: 1Mbps}\n",
            "twice",
        ),
    ],
)
def test_load_emulated_bad_file_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "emu.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_emulated(path)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_disturbed_blocks_are_those_far_from_the_median() -> None:
    from splitexit.spatial.execution._study import _disturbed

    assert _disturbed([1.0, 1.05, 0.97, 1.6, 1.0], 15.0) == [3]
    assert _disturbed([1.0, 1.0], 15.0) == []


def test_measure_methods_reports_every_method_in_json_and_markdown() -> None:
    model = load_model("vgg16", **TINY)
    measured = measure_methods(
        model, _cluster(2), methods=["offload", "aofl"], blocks=2, images=1,
        granularity=8, repeats=1, mode="thread",
    )  # fmt: skip
    data = measured.to_dict()
    assert [row["method"] for row in data["rows"]] == ["offload", "aofl"]
    for row in data["rows"]:
        assert row["measured_ips"] > 0 and row["simulated_ips"] > 0
        assert len(row["block_medians_ms"]) == 2 and row["max_abs_diff"] <= 1e-4
        assert row["simulated_at_planning_ms"] > 0 and row["host_late_ms"] > -1.0
        assert -90 < row["compute_vs_table_pct"] < 900  # the parts' seconds were all logged
        by_device = row["compute_vs_table_pct_by_device"]
        assert len(by_device) == 2 and any(x is not None for x in by_device)
    assert data["notes"]["profile"] == "chained" and data["notes"]["profile_rounds_per_block"] == 1
    assert "| offload |" in measured.markdown() and "| aofl |" in measured.markdown()
    assert "of 2 methods within 10% of simulated" in measured.markdown()


def test_profile_more_adds_rounds_of_the_chained_profile() -> None:
    model = load_model("vgg16", **TINY)
    with ExecutionPool(model, _cluster(2), mode="thread", wait_s=30) as pool:
        first = pool.profile(granularity=8, repeats=1, warmup=0)
        more = pool.profile_more(2)
        assert pool.problem is more
    for problem, rounds in ((first, 1), (more, 3)):
        for provider in problem.cluster.providers:  # type: ignore[attr-defined]
            assert provider.device.source.endswith(f"(chained, {rounds} rounds)")
        assert problem.first_tables is not None
        for index, layer in enumerate(model.layers):
            assert problem.first_tables[index].shape == (2, layer.h_out + 1)


def test_disturbed_blocks_never_all() -> None:
    from splitexit.spatial.execution._study import _disturbed

    assert _disturbed([1.0, 2.0], 15.0) == []


def test_part_layers_log_every_layer_of_every_executed_part() -> None:
    model = load_model("vgg16", **TINY)
    with ExecutionPool(model, _cluster(2), mode="thread", wait_s=30) as pool:
        problem = pool.profile(granularity=8, repeats=1, warmup=0)
        strategy = aofl(problem)
        pool.run(strategy, torch.randn(1, model.c_in, model.h_in, model.w_in))
        parts = pool.part_log()
        layers = pool.part_layers
    assert set(layers) == set(parts)
    tail = model.num_layers
    for (image, device, stage), seconds in parts.items():
        if stage == tail:  # the FC tail has no layers of its own
            assert layers[(image, device, stage)] == ()
            continue
        first, last = strategy.volume(stage)
        per_layer = layers[(image, device, stage)]
        assert len(per_layer) == last - first + 1
        assert all(s >= 0 for s in per_layer)
        assert sum(per_layer) <= seconds * (1 + 1e-9) + 1e-9  # inside the part's timing


def test_measure_methods_splits_first_and_chained_layers() -> None:
    model = load_model("vgg16", **TINY)
    measured = measure_methods(
        model, _cluster(2), methods=["modnn", "offload"], blocks=1, images=1,
        granularity=8, repeats=1, mode="thread",
    )  # fmt: skip
    rows = {row["method"]: row for row in measured.to_dict()["rows"]}
    # every part of MoDNN is one layer: no chained layer at all; Offload's one part has 17
    assert rows["modnn"]["chained_layers_vs_table_pct"] is None
    assert -90 < rows["offload"]["chained_layers_vs_table_pct"] < 900
    for row in rows.values():
        assert -90 < row["first_layer_vs_table_pct"] < 900
    assert "| first layer | chained layers |" in measured.markdown()
    assert measured.notes["warm_up_ms"] > 0
