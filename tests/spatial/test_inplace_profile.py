"""The in-place profile's chained order and the first-layer tables it feeds the simulator."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from splitexit.errors import InputError
from splitexit.spatial import Strategy, load_model
from splitexit.spatial.devices import Cluster, Provider, TableDevice, make_problem
from splitexit.spatial.execution import Links
from splitexit.spatial.execution._links import REQUESTER
from splitexit.spatial.execution._study import table_parts
from splitexit.spatial.geometry._simulator import simulate
from splitexit.spatial.methods import aofl, modnn

torch = pytest.importorskip("torch")

from splitexit.spatial.devices import _measure  # noqa: E402

TINY = dict(channel_divisor=8, input_size=(32, 32))


class _CountingLock:
    """A lock that records, per acquisition, the layers run while it is held."""

    def __init__(self) -> None:
        self.held: list[list[int]] = []
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()
        self.held.append([])

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_chained_profile_shape_order_lock_and_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model("vgg16", **TINY)
    lock = _CountingLock()
    sleeps: list[float] = []
    run = _measure.run_split_part

    def spy(net, first, last, x, x_lo, a, b):  # type: ignore[no-untyped-def]
        if lock.held:
            lock.held[-1].append((first, b - a + 1))
        return run(net, first, last, x, x_lo, a, b)

    monkeypatch.setattr(_measure, "run_split_part", spy)
    monkeypatch.setattr(_measure.time, "sleep", sleeps.append)
    table = _measure.measure_device(
        model, name="d", granularity=4, repeats=1, warmup=0, slowdown=2.0,
        mode="chained", gap_s=1e-3, lock=lock,
    )  # fmt: skip
    heights = [sorted({*range(4, ly.h_out, 4), ly.h_out}) for ly in model.layers]
    # shape: both tables at every layer's heights, positive, ending at the layer's height
    assert [list(h) for h in table.heights] == heights
    assert table.first_seconds is not None
    for secs, first, hs in zip(table.seconds, table.first_seconds, heights, strict=True):
        assert len(secs) == len(first) == len(hs)
        assert min(secs) > 0 and min(first) > 0
    assert table.tail_s > 0
    # order: every pass runs every layer, first to last, at the same share of its heights,
    # once woken (a lock and a sleep per layer), then chained (one lock and sleep per pass)
    passes = max(len(hs) for hs in heights)
    expected: list[list[tuple[int, int]]] = []
    for p in range(passes):
        share = [
            heights[i][round(p * (len(hs) - 1) / (passes - 1))] for i, hs in enumerate(heights)
        ]
        expected += [[(i, h)] for i, h in enumerate(share)]
        expected.append(list(enumerate(share)))
    assert lock.held[: len(expected)] == expected
    assert len(lock.held) == len(expected) + 1  # the tail, woken
    assert len(sleeps) == passes * (model.num_layers + 1) + 1 and set(sleeps) == {1e-3}
    assert [expected[0][0], expected[-1][-1]] == [
        (0, heights[0][0]),
        (model.num_layers - 1, heights[-1][-1]),
    ]


def test_pass_heights_cover_every_height_at_a_common_share() -> None:
    heights = [[1, 2, 3, 4, 5], [1, 2, 3], [1]]
    at = _measure.pass_heights(heights)
    assert at == [[0, 0, 0], [1, 0, 0], [2, 1, 0], [3, 2, 0], [4, 2, 0]]
    for index, hs in enumerate(heights):
        assert {row[index] for row in at} == set(range(len(hs)))


def test_isolated_profile_has_no_first_layer_tables() -> None:
    model = load_model("tinycnn")
    table = _measure.measure_device(model, name="d", granularity=8, repeats=1, warmup=0)
    assert table.first_seconds is None
    assert make_problem(model, Cluster((Provider("d", table, 1e8),), 4e8)).first_tables is None


def _table(model, offset: float = 0.0) -> TableDevice:  # type: ignore[no-untyped-def]
    heights = tuple((layer.h_out,) for layer in model.layers)
    seconds = tuple((1e-3,) for _ in model.layers)
    first = tuple((1e-3 + offset,) for _ in model.layers) if offset else None
    return TableDevice(
        "d", model.name, tuple(ly.name for ly in model.layers), heights, seconds, 2e-3, "test",
        first_seconds=first,
    )  # fmt: skip


def test_first_layer_tables_charge_each_split_part_once() -> None:
    model = load_model("vgg16", **TINY)
    plain = make_problem(model, Cluster((Provider("d", _table(model), 1e8),), 4e8))
    woken = make_problem(model, Cluster((Provider("d", _table(model, 5e-4), 1e8),), 4e8))
    assert woken.first_tables is not None
    for volumes in ((0, model.num_layers), (0, 3, 9, model.num_layers)):
        splits = tuple((model.layers[b - 1].h_out,) * 0 for b in volumes[1:])
        strategy = Strategy(volumes, splits)
        extra = simulate(woken, strategy).latency_s - simulate(plain, strategy).latency_s
        assert extra == pytest.approx(5e-4 * (len(volumes) - 1))  # once per split-part


@pytest.mark.parametrize("method", [modnn, aofl])
def test_table_parts_add_up_to_the_simulators_compute(method) -> None:  # type: ignore[no-untyped-def]
    model = load_model("vgg16", **TINY)
    devices = [Provider(f"d{k}", _table(model, 1e-4 * k), 1e8 / (k + 1)) for k in range(3)]
    problem = make_problem(model, Cluster(tuple(devices), 4e8))
    strategy = method(problem)
    parts = table_parts(problem, strategy)
    compute = simulate(problem, strategy).compute_s
    for k in range(3):
        mine = sum(s for (d, _), s in parts.items() if d == k)
        assert mine == pytest.approx(float(compute[k]))
    assert sum(1 for (_, stage) in parts if stage == model.num_layers) == 1  # the tail, once


def test_links_pay_the_pipe_only_on_the_delivery_to_the_requester() -> None:
    links = Links((1e8, 1e8), 4e8, 2e-3, 8.0, (16.0,), 16.0, pipe_s=5e-4)
    between, _ = links.transfer(0, 1, 1e6)
    home, _ = links.transfer(0, REQUESTER, 1e6)
    assert between == pytest.approx(1e6 / 1e8 + 2e-3)  # the simulator's, to the letter
    assert home == pytest.approx(1e6 / 1e8 + 2e-3 - 5e-4)  # the lateness is paid for real
    assert np.isclose(links.transfer(0, 1, 1e6)[1], 1e6 / 1e8 + 2e-3)


def test_first_layer_tables_survive_a_device_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from splitexit.spatial.devices import load_device_table, save_device_table

    model = load_model("vgg16", **TINY)
    table = _table(model, 5e-4)
    path = tmp_path / "d.json"
    save_device_table(path, table, measured_with="test")
    back = load_device_table(path)
    assert back.first_seconds == table.first_seconds and back.seconds == table.seconds
    data = path.read_text().replace('"first_seconds"', '"first"', 1)
    path.write_text(data)
    with pytest.raises(InputError, match="first"):
        load_device_table(path)


def test_chained_profile_sleeps_out_the_device_and_wakes_every_nth_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    sleeps: list[float] = []
    monkeypatch.setattr(_measure.time, "sleep", sleeps.append)
    monkeypatch.setattr(_measure, "timed", lambda work, slowdown: (work(), 4e-3))
    profile = _measure.ChainedProfile(
        model, net, name="d", granularity=4, slowdown=4.0, gap_s=1e-4,
        sleep_out=True, woken_every=3,
    )  # fmt: skip
    profile.round(keep=False)  # warm-up: the gap only
    warm = list(sleeps)
    assert set(warm) == {1e-4}
    sleeps.clear()
    profile.round()
    passes = len(_measure.pass_heights(profile.heights))
    woken = len([p for p in range(passes) if p % 3 == 0 or p == passes - 1])
    # each woken layer (and the tail) sleeps out (1 - 1/4) of the previous one's 4 ms
    assert sleeps.count(3e-3) == woken * model.num_layers + 1
    assert sleeps.count(1e-4) == passes  # each chained pass sleeps the gap once
    table = profile.table()
    assert table.first_seconds is not None
    for first, plain in zip(table.first_seconds, table.seconds, strict=True):
        assert first == pytest.approx(plain)  # woken and chained alike here: ratio 1 between


def test_warm_up_spins_the_cpu_and_leaves_the_part_unchanged() -> None:
    import time

    from splitexit.spatial.geometry._torch import TorchModel, run_split_part, warm_split_part

    model = load_model("vgg16", channel_divisor=8, input_size=(32, 32))
    net = TorchModel(model, seed=0).eval()
    x = torch.randn(1, model.c_in, model.h_in, model.w_in)
    with torch.inference_mode():
        before = run_split_part(net, 0, 2, x, 0, 0, 7)
        started = time.thread_time()
        assert warm_split_part(net, 0, 2, x, 0, 0, 7, 0.02) is None
        spent = time.thread_time() - started
        after = run_split_part(net, 0, 2, x, 0, 0, 7)
    assert spent >= 0.02  # it kept computing until that much CPU time had passed
    assert torch.equal(before, after)


def test_timed_work_runs_without_the_garbage_collector() -> None:
    import gc

    from splitexit.spatial.devices import timed

    seen = []
    result, seconds = timed(lambda: seen.append(gc.isenabled()) or 7, 3.0)
    assert result == 7 and seconds >= 0 and seen == [False]
    assert gc.isenabled()


def test_chained_profile_in_chains_of_three_takes_near_layer_tables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    sleeps: list[float] = []
    monkeypatch.setattr(_measure.time, "sleep", sleeps.append)
    monkeypatch.setattr(_measure, "timed", lambda work, slowdown: (work(), 4e-3))
    profile = _measure.ChainedProfile(
        model, net, name="d", granularity=4, slowdown=4.0, gap_s=1e-4,
        sleep_out=True, woken_every=2, chain=3,
    )  # fmt: skip
    n = model.num_layers
    # the chains of a woken pass start one layer later from one woken pass to the next
    assert [list(c) for c in profile._chains(7, 0)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [list(c) for c in profile._chains(7, 1)] == [[0], [1, 2, 3], [4, 5, 6]]
    assert [list(c) for c in profile._chains(7, 2)] == [[0, 1], [2, 3, 4], [5, 6]]
    profile.round()
    # a chain sleeps out (1 - 1/4) of its layers' emulated seconds (4 ms each)
    assert {round(s, 6) for s in sleeps} <= {1e-4, 3e-3, 6e-3, 9e-3}
    assert 9e-3 in {round(s, 6) for s in sleeps}
    assert sum(len(t) for layer in profile.near for t in layer) > 0
    assert all(not t for t in profile.near[0])  # the model's first layer is never chained
    table = profile.table()
    assert table.near_seconds is not None and len(table.near_seconds) == n
    with pytest.raises(InputError, match="chain"):
        _measure.ChainedProfile(model, net, name="d", chain=4)


def test_near_tables_charge_a_parts_second_and_third_layers() -> None:
    from splitexit.spatial.geometry._problem import NEAR_LAYERS

    model = load_model("vgg16", **TINY)
    table = _table(model)
    near = tuple((2e-3,) for _ in model.layers)
    nearer = TableDevice(
        table.name, table.model_name, table.layer_names, table.heights, table.seconds,
        table.tail_s, table.source, near_seconds=near,
    )  # fmt: skip
    plain = make_problem(model, Cluster((Provider("d", table, 1e8),), 4e8))
    woken = make_problem(model, Cluster((Provider("d", nearer, 1e8),), 4e8))
    assert plain.near_tables is None and woken.near_tables is not None
    for volumes in ((0, model.num_layers), (0, 2, 3, 9, model.num_layers)):
        splits = tuple(() for _ in volumes[1:])
        strategy = Strategy(volumes, splits)
        extra = simulate(woken, strategy).latency_s - simulate(plain, strategy).latency_s
        near_layers = sum(min(b - a - 1, NEAR_LAYERS) for a, b in itertools.pairwise(volumes))
        assert extra == pytest.approx(1e-3 * near_layers)


def test_near_layer_tables_survive_a_device_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from splitexit.spatial.devices import load_device_table, save_device_table

    model = load_model("vgg16", **TINY)
    table = _table(model, 5e-4)
    near = tuple((3e-3,) for _ in model.layers)
    nearer = TableDevice(
        table.name, table.model_name, table.layer_names, table.heights, table.seconds,
        table.tail_s, table.source, first_seconds=table.first_seconds, near_seconds=near,
    )  # fmt: skip
    path = tmp_path / "d.json"
    save_device_table(path, nearer, measured_with="test")
    back = load_device_table(path)
    assert back.near_seconds == near and back.first_seconds == table.first_seconds


def test_shuffled_passes_sleep_out_the_previous_layer_at_the_woken_layers_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every layer and height takes its own emulated seconds: 1 ms per output row, plus the
    # layer's index in tenths of a ms, so that a sleep says which entry it came from
    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    sleeps: list[float] = []
    monkeypatch.setattr(_measure.time, "sleep", sleeps.append)

    def seconds_of(index: int, h: int) -> float:
        return 1e-3 * h + 1e-4 * index

    def fake_timed(work, slowdown):  # type: ignore[no-untyped-def]
        if not hasattr(work, "args"):  # the FC tail
            return work(), 1e-3
        return work(), seconds_of(work.args[1], work.args[-1] + 1)

    monkeypatch.setattr(_measure, "timed", fake_timed)
    profile = _measure.ChainedProfile(
        model, net, name="d", granularity=2, slowdown=4.0, gap_s=1e-5,
        sleep_out=True, woken_every=1, shuffle_seed=3,
    )  # fmt: skip
    profile.round(keep=False)
    sleeps.clear()
    rng = np.random.default_rng([3, 1])  # the kept round's deal, as the profile draws it
    passes = _measure.shuffled_passes(_measure.pass_heights(profile.heights), rng)
    profile.round()
    n = model.num_layers
    assert len(sleeps) == len(passes) * (n + 1) + 1  # n woken, 1 chained per pass; the tail
    for p, at in enumerate(passes):
        inside = sleeps[p * (n + 1) + 1 : p * (n + 1) + n]  # before woken layers 1..n-1
        same, dealt = [], []
        for index in range(1, n):
            mine, theirs = len(profile.heights[index - 1]), len(profile.heights[index])
            q = round(at[index] / (theirs - 1) * (mine - 1)) if theirs > 1 else mine - 1
            same.append(0.75 * seconds_of(index - 1, profile.heights[index - 1][q]))
            dealt.append(0.75 * seconds_of(index - 1, profile.heights[index - 1][at[index - 1]]))
        assert inside == pytest.approx(same)
        if p == 0:  # the deal put some layer at another share than the next one's
            assert inside != pytest.approx(dealt)


def test_twice_profile_times_a_layer_with_the_executing_workers_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the profile's twice timing must time exactly what an executing worker times: the
    # layer's second computation inside run_split_part_twice, on the emulated clock
    from splitexit.spatial.geometry import _torch

    model = load_model("vgg16", **TINY)
    net = _measure.TorchModel(model, seed=0).eval()
    calls: list[tuple[int, int, int, int, int, object]] = []

    def spy(net_, first, last, x, x_lo, a, b, clock):  # type: ignore[no-untyped-def]
        calls.append((first, last, x_lo, a, b, clock))
        out, spent = _torch.run_split_part_twice(net_, first, last, x, x_lo, a, b, clock)
        return out, [1e-3 for _ in spent]

    monkeypatch.setattr(_measure, "run_split_part_twice", spy)
    monkeypatch.setattr(_measure, "timed", lambda work, slowdown: pytest.fail("timed() used"))
    monkeypatch.setattr(_measure.time, "sleep", lambda s: None)
    profile = _measure.ChainedProfile(
        model, net, name="d", granularity=8, slowdown=5.0, twice=True, woken_every=2
    )
    seconds = profile._one(3, 1)
    first, last, x_lo, a, b, clock = calls[-1]
    assert (first, last, a, b) == (3, 3, 0, profile.heights[3][1] - 1)
    assert x_lo == profile.rows[3][1][0]
    assert clock is _measure.time.thread_time  # the emulated clock of a slowdown > 1
    assert seconds == pytest.approx(5.0 * 1e-3)  # R times the second run's CPU seconds
