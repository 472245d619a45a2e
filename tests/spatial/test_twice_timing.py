"""The *twice* timing of emulated devices (every layer computed twice, the second timed)
and the profile round paired with each block of images (issue 17, session 12)."""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from splitexit.spatial import load_model
from splitexit.spatial.execution import (
    ExecutionPool,
    Measured,
    emulated_cluster,
    measure_methods,
)
from splitexit.spatial.methods import aofl

torch = pytest.importorskip("torch")

from splitexit.spatial.devices import _measure  # noqa: E402
from splitexit.spatial.geometry import _torch  # noqa: E402

TINY = dict(channel_divisor=8, input_size=(32, 32))


def _cluster(n: int = 2):
    devices = [("a", 1.0, 200e6), ("b", 2.0, 100e6), ("c", 3.0, 50e6)][:n]
    return emulated_cluster(devices, overhead_s=1e-3)


def test_twice_computes_every_layer_twice_and_times_the_second(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = load_model("vgg16", **TINY)
    net = _torch.TorchModel(model, seed=0).eval()
    x = torch.randn(1, model.c_in, model.h_in, model.w_in)
    with torch.inference_mode():
        once = _torch.run_split_part(net, 0, 3, x, 0, 2, 9)
        calls = [0]
        layer_rows = _torch._layer_rows

        def counting(*args):  # type: ignore[no-untyped-def]
            calls[0] += 1
            return layer_rows(*args)

        monkeypatch.setattr(_torch, "_layer_rows", counting)
        out, seconds = _torch.run_split_part_twice(net, 0, 3, x, 0, 2, 9, lambda: calls[0])
    assert torch.equal(out, once)  # the same rows as computed once
    assert calls[0] == 2 * 4  # four layers, each computed twice
    assert seconds == [1, 1, 1, 1]  # the clock brackets exactly one run of each layer


def test_chained_profile_twice_times_each_layer_with_the_executing_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every profiled layer (woken and chained) goes through run_split_part_twice, one layer
    # at a time, as an executing worker times it; timed() is left to the FC tail
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    events: list[tuple[str, ...]] = []
    twice = _measure.run_split_part_twice

    def spy(net, first, last, x, x_lo, a, b, clock):  # type: ignore[no-untyped-def]
        events.append(("twice", first, last, b - a + 1))
        out, spent = twice(net, first, last, x, x_lo, a, b, clock)
        return out, [1e-3 for _ in spent]

    def timed(work, slowdown):  # type: ignore[no-untyped-def]
        events.append(("timed",))
        return work(), 2e-3

    profile = _measure.ChainedProfile(
        model, net, name="d", granularity=8, slowdown=2.0, sleep_out=True, woken_every=2,
        warm_s=5e-4, twice=True,
    )  # fmt: skip
    monkeypatch.setattr(_measure, "run_split_part_twice", spy)
    monkeypatch.setattr(_measure, "timed", timed)
    monkeypatch.setattr(_measure, "run_split_part", lambda *a, **k: pytest.fail("run_split_part"))
    monkeypatch.setattr(_measure.time, "sleep", lambda s: None)
    monkeypatch.setattr(_measure, "warm_split_part", lambda *a: pytest.fail("warm-up used"))
    profile.round()
    layers, tail = events[:-1], events[-1]
    assert tail == ("timed",) and all(e[0] == "twice" for e in layers)
    assert len(layers) > 2 * model.num_layers  # woken and chained passes
    assert all(e[1] == e[2] for e in layers)  # one layer per timing
    for e in layers:  # at one of the layer's tabled heights
        assert e[3] in profile.heights[e[1]]
    table = profile.table()
    assert {t for per in table.seconds for t in per} == {2.0 * 1e-3}  # R times the reading


def test_speed_probe_scales_by_the_reference_over_its_recent_median(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    probe = _measure.SpeedProbe(window=3, calibration=4)
    readings = iter([1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 0.5, 4.0])
    monkeypatch.setattr(probe, "read", lambda: next(readings))
    assert probe.scale() == pytest.approx(0.5)  # calibrated on four 1.0 s, then 2.0
    assert probe.reference == pytest.approx(1.0)
    assert probe.scale() == pytest.approx(0.5)  # median of 2.0, 2.0
    assert probe.scale() == pytest.approx(0.5)  # median of 2.0, 2.0, 0.5
    assert probe.scale() == pytest.approx(0.5)  # the window: 2.0, 0.5, 4.0
    real = _measure.SpeedProbe(calibration=3)
    assert 0 < real.read() < 0.1 and real.scale() > 0


def test_a_probed_part_is_charged_at_the_reference_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    x = torch.randn(1, model.c_in, model.h_in, model.w_in)

    class Half:
        calls = 0

        def scale(self) -> float:
            self.calls += 1
            return 0.5  # the host runs twice as slow as at its reference

    def fixed(net, first, last, x, x_lo, a, b, clock):  # type: ignore[no-untyped-def]
        return x, [1e-3, 2e-3]

    monkeypatch.setattr(_measure, "run_split_part_twice", fixed)
    half = Half()
    _, plain = _measure.time_part_twice(net, 0, 1, x, 0, 0, 3, 4.0)
    _, probed = _measure.time_part_twice(net, 0, 1, x, 0, 0, 3, 4.0, half)  # type: ignore[arg-type]
    assert plain == pytest.approx((4e-3, 8e-3)) and probed == pytest.approx((2e-3, 4e-3))
    assert half.calls == 1  # one reading per part, right before it
    _measure.time_part_twice(net, 0, 1, x, 0, 0, 3, 1.0, half)  # type: ignore[arg-type]
    assert half.calls == 1  # slowdown 1 is the wall clock: no probe


def test_the_profile_reads_the_probe_once_per_lock_as_a_part_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # one reading per woken layer (one lock each) and one per chained pass (one lock for
    # every layer of it), as an executing worker reads it once per part
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    readings, scales = [0], []

    class Counting:
        def held(self) -> object:
            readings[0] += 1
            return _measure._HeldScale(0.5)

    twice = _measure.time_part_twice

    def spy(*args):  # type: ignore[no-untyped-def]
        scales.append(args[8].scale())
        return twice(*args)

    monkeypatch.setattr(_measure, "time_part_twice", spy)
    monkeypatch.setattr(_measure.time, "sleep", lambda s: None)
    profile = _measure.ChainedProfile(
        model, net, name="d", granularity=8, slowdown=2.0, twice=True, probe=Counting(),  # type: ignore[arg-type]
    )  # fmt: skip
    profile.round()
    passes = len(_measure.pass_heights(profile.heights))
    assert readings[0] == passes * model.num_layers + passes  # woken layers + chained passes
    assert len(scales) == 2 * passes * model.num_layers and set(scales) == {0.5}


def _offload(**options: Any) -> Measured:
    """``measure_methods`` on Offload alone, the tiny model, one image in one block, threads."""
    settings: dict[str, Any] = dict(blocks=1, images=1, granularity=8, repeats=1, mode="thread")
    return measure_methods(
        load_model("vgg16", **TINY), _cluster(), methods=["offload"], **{**settings, **options}
    )


def test_measure_probes_by_default_and_says_so() -> None:
    # the default since session 15 (two whole sets held under it; docs/spatial.md)
    measured = _offload()
    row = measured.to_dict()["rows"][0]
    assert measured.notes["probe"] is True and row["max_abs_diff"] < 1e-4
    assert row["compute_vs_table_pct"] is not None
    once = _offload(timing="once")
    assert once.notes["probe"] is False  # the probe belongs to the twice timing


def test_a_pool_without_the_probe_never_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[int] = []
    monkeypatch.setattr(_measure.SpeedProbe, "read", lambda self: reads.append(1) or 1e-4)
    model = load_model("vgg16", **TINY)
    image = torch.randn(1, model.c_in, model.h_in, model.w_in)
    for probe in (False, True):
        with ExecutionPool(model, _cluster(), mode="thread", wait_s=30, probe=probe) as pool:
            pool.run(aofl(pool.profile(granularity=8, repeats=1, warmup=0)), image)
        assert bool(reads) is probe


def test_latest_table_is_the_last_round_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    seconds = [1e-3]
    monkeypatch.setattr(_measure, "timed", lambda work, slowdown: (work(), seconds[0]))
    monkeypatch.setattr(_measure.time, "sleep", lambda s: None)
    profile = _measure.ChainedProfile(model, net, name="d", granularity=8, slowdown=2.0)
    profile.round()
    seconds[0] = 3e-3
    profile.round()
    both, latest = profile.table(), profile.table(latest=True)
    for plain in both.seconds:
        assert plain == pytest.approx((2e-3,) * len(plain))  # the median of 1 and 3 ms
    for plain, first in zip(latest.seconds, latest.first_seconds or (), strict=True):
        assert plain == pytest.approx((3e-3,) * len(plain))
        assert first == pytest.approx((3e-3,) * len(first))
    assert both.tail_s == pytest.approx(2e-3) and latest.tail_s == pytest.approx(3e-3)
    assert latest.source.endswith("its latest round)")


@pytest.mark.parametrize("timing", ["once", "twice"])
def test_both_timings_execute_the_unsplit_output(timing: str) -> None:
    model = load_model("vgg16", **TINY)
    image = torch.randn(1, model.c_in, model.h_in, model.w_in)
    with ExecutionPool(model, _cluster(), mode="thread", wait_s=30, timing=timing) as pool:
        strategy = aofl(pool.profile(granularity=8, repeats=1, warmup=0))
        output, _ = pool.run(strategy, image)
        parts = pool.part_log()
        layers = pool.part_layers
    reference = _torch.TorchModel(model).eval()(image)
    assert torch.allclose(output, reference, atol=1e-5, rtol=1e-4)
    for key, per_layer in layers.items():
        if per_layer and timing == "twice":  # a part's seconds are its layers' second runs
            assert sum(per_layer) == pytest.approx(parts[key])


def test_paired_error_uses_the_round_before_each_block() -> None:
    measured = _offload(blocks=2)
    row = measured.to_dict()["rows"][0]
    assert row["paired_error_pct"] is not None and -90 < row["paired_error_pct"] < 900
    assert len(row["block_simulated_ms"]) == 2 and all(ms > 0 for ms in row["block_simulated_ms"])
    assert row["paired_rejected_blocks"] == []  # two blocks are never both rejected
    assert measured.notes["timing"] == "twice"
    assert "paired error, paired rejection" in measured.markdown()
    without = _offload(rounds_per_block=0)
    assert without.to_dict()["rows"][0]["paired_error_pct"] is None
    assert without.to_dict()["rows"][0]["block_simulated_ms"] == [None]  # JSON, not NaN


def test_paired_rejection_keeps_a_drift_the_round_saw_and_drops_a_disturbance() -> None:
    from splitexit.spatial.execution._study import _disturbed, _paired

    # Latencies of five blocks: the host slows down by 40% from block 2 on, and the rounds
    # before those blocks saw it (their simulated latency rose with it); block 4 was also
    # disturbed after its round.
    latencies = [[1.00, 1.02], [0.98, 1.00], [1.40, 1.42], [1.38, 1.40], [1.90, 1.95]]
    simulated = [1.0, 1.0, 1.4, 1.4, 1.4]
    ratios = [[t / s for t in block] for block, s in zip(latencies, simulated, strict=True)]
    error, off = _paired(ratios, 15.0)
    assert off == [4]
    assert error == pytest.approx(statistics.median([r for b in ratios[:4] for r in b]) - 1)
    assert abs(error) < 0.02
    # The unpaired rule, on the block medians, rejects the slow blocks the rounds explain.
    assert _disturbed([statistics.median(b) for b in latencies], 15.0) == [0, 1, 4]
    assert _paired([[float("nan")], [float("nan")]], 15.0)[1] == []


def test_shuffled_passes_keep_each_layers_heights_and_decorrelate_them() -> None:
    import numpy as np

    heights = [list(range(1, 33)), list(range(1, 17)), list(range(1, 5))]
    passes = _measure.pass_heights(heights)
    shuffled = _measure.shuffled_passes(passes, np.random.default_rng(0))
    assert len(shuffled) == len(passes)
    for index in range(len(heights)):  # every layer keeps its heights, as many times each
        assert sorted(at[index] for at in shuffled) == sorted(at[index] for at in passes)
    # in the ordered passes the layers' shares rise together; shuffled, not
    ordered = np.corrcoef([at[0] for at in passes], [at[1] for at in passes])[0, 1]
    mixed = np.corrcoef([at[0] for at in shuffled], [at[1] for at in shuffled])[0, 1]
    assert ordered > 0.99 and abs(mixed) < 0.6
    again = _measure.shuffled_passes(passes, np.random.default_rng(0))
    assert again == shuffled  # seeded


def test_chained_profile_shuffles_each_round_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    seen: list[tuple[int, int]] = []
    run = _measure.run_split_part

    def spy(net, first, last, x, x_lo, a, b):  # type: ignore[no-untyped-def]
        seen.append((first, b - a + 1))
        return run(net, first, last, x, x_lo, a, b)

    monkeypatch.setattr(_measure, "run_split_part", spy)
    monkeypatch.setattr(_measure.time, "sleep", lambda s: None)
    orders = []
    for seed in (None, 3, 3):
        profile = _measure.ChainedProfile(
            model, net, name="d", granularity=4, slowdown=2.0, woken_every=100,
            shuffle_seed=seed,
        )  # fmt: skip
        rounds = []
        for _ in range(2):
            seen.clear()
            profile.round()
            rounds.append(list(seen))
        orders.append(rounds)
    plain, shuffled, again = orders
    assert plain[0] == plain[1]  # ordered: every round the same
    assert shuffled[0] != shuffled[1] and shuffled == again  # afresh each round, seeded
    # as many runs, every layer at every height (the woken passes draw other heights)
    assert len(shuffled[0]) == len(plain[0]) and set(shuffled[0]) == set(plain[0])


def test_measure_interleaves_the_methods_image_by_image(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model("vgg16", **TINY)
    ran: list[int] = []
    run = ExecutionPool.run

    def spy(self, strategy, image):  # type: ignore[no-untyped-def]
        ran.append(strategy.num_volumes)
        return run(self, strategy, image)

    monkeypatch.setattr(ExecutionPool, "run", spy)
    for interleave in ("image", "method"):
        ran.clear()
        measure_methods(
            model, _cluster(), methods=["offload", "modnn"], blocks=1, images=2, granularity=8,
            repeats=1, mode="thread", interleave=interleave,
        )  # fmt: skip
        timed = ran[2:]  # after one untimed image of each
        n = model.num_layers
        expected = [1, n, 1, n] if interleave == "image" else [1, 1, n, n]
        assert timed == expected
