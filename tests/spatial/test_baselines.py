from __future__ import annotations

import itertools

import numpy as np
import pytest

from splitexit.spatial import (
    Cluster,
    LinearFinish,
    Provider,
    TableDevice,
    aofl,
    capability,
    coedge,
    deeperthings,
    deepthings,
    equal_finish_cuts,
    group_cluster,
    load_model,
    make_problem,
    mednn,
    modnn,
    offload,
    proportional_cuts,
    simulate,
)
from tests.spatial.helpers import hand_cluster, hand_model


@pytest.mark.parametrize(
    ("weights", "height", "cuts"),
    [
        ([3.0, 1.0], 8, (6,)),
        ([1.0, 1.0, 1.0], 10, (4, 7)),  # 3.33 each: the first remainder gets the extra row
        ([1.0, 1.0, 1.0, 1.0], 14, (4, 8, 11)),
        ([2.0, 1.0], 4, (3,)),  # 2.67 / 1.33: the larger remainder wins
        ([1.0, 0.0], 5, (5,)),
    ],
)
def test_proportional_cuts(weights: list[float], height: int, cuts: tuple[int, ...]) -> None:
    assert proportional_cuts(np.array(weights), height) == cuts


def test_offload_picks_the_fastest_single_device_by_hand() -> None:
    # A: image 32 bits / 8 + .5 = 4.5, 8 rows * 1 s, result 64 / 8 + .5 = 8.5 -> 21.0
    # B: 32 / 16 + .5 = 2.5, 8 rows * 2 s, 64 / 16 + .5 = 4.5 -> 23.0
    model = hand_model(2)
    problem = make_problem(model, hand_cluster(model, [1.0, 2.0], [8.0, 16.0]))
    strategy = offload(problem)
    assert strategy.boundaries == (0, 2) and strategy.splits == ((4,),)
    assert simulate(problem, strategy).latency_s == pytest.approx(21.0)


def test_deepthings_fuses_down_to_a_sixteenth_and_splits_equally() -> None:
    problem = make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=50e6))
    strategy = deepthings(problem)
    assert strategy.boundaries == (0, 17, 18)  # conv1_1 .. conv5_3 at >= 14 rows
    assert strategy.splits[0] == (4, 8, 11)  # 14 rows: 4, 4, 3, 3
    assert strategy.splits[1] == (7, 7, 7)  # pool5 on the most capable device (xavier-1)


def test_deeperthings_ends_a_volume_at_every_downsampling() -> None:
    problem = make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=50e6))
    strategy = deeperthings(problem)
    assert strategy.boundaries == (0, 3, 6, 10, 14, 18)
    assert strategy.splits[0] == (28, 56, 84)


def test_modnn_splits_every_layer_by_whole_model_capability() -> None:
    model = hand_model(2)
    problem = make_problem(model, hand_cluster(model, [1.0, 2.0], [8.0, 16.0]))
    assert capability(problem)[0] == pytest.approx(2 * capability(problem)[1])
    strategy = modnn(problem)
    assert strategy.boundaries == (0, 1, 2)
    assert strategy.splits == ((3,), (3,))  # 4 rows at 2:1 -> 2.67, 1.33 -> 3, 1


def test_mednn_splits_every_layer_by_its_own_capability() -> None:
    # Layer 0: both devices 1 s/row -> 2/2; layer 1: A 1 s/row, B 3 s/row -> 3/1.
    model = hand_model(2)
    heights = ((1, 2, 3, 4), (1, 2, 3, 4))

    def device(name: str, rates: tuple[float, float]) -> TableDevice:
        seconds = tuple(tuple(r * h for h in hs) for r, hs in zip(rates, heights, strict=True))
        return TableDevice(name, "hand", ("c0", "c1"), heights, seconds, 0.0, name)

    cluster = Cluster(
        (Provider("a", device("a", (1.0, 1.0)), 8.0), Provider("b", device("b", (1.0, 3.0)), 8.0)),
        8.0,
    )
    strategy = mednn(make_problem(model, cluster))
    assert strategy.splits == ((2,), (3,))


def test_coedge_equalizes_linear_finish_times() -> None:
    # Fast network: the split follows capability, A twice B -> 4 and 2 of 6 rows.
    model = hand_model(1, height=6)
    fast_net = make_problem(model, hand_cluster(model, [1.0, 2.0], [1e12, 1e12], requester=1e12))
    assert coedge(fast_net).splits == ((4,),)
    # A slow link on A pushes rows to B: A's 2 rows need 3 input rows (24 bits) at 1 bit/s.
    slow_a = make_problem(model, hand_cluster(model, [1.0, 2.0], [1.0, 1e12], requester=1e12))
    (cuts,) = coedge(slow_a).splits
    assert cuts[0] < 4


def _linear_cost(problem, start: int, end: int) -> float:  # type: ignore[no-untyped-def]
    model = LinearFinish(
        problem.model.layers[start:end],
        capability(problem),
        problem.bandwidth,
        problem.input_row_bits(start),
    )
    height = problem.height(end - 1)
    cuts = equal_finish_cuts(model, height, problem.num_devices)
    edges = [0, *cuts, height]
    return max(
        float(model.finish(k, edges[k], np.array([edges[k + 1]]))[0])
        for k in range(problem.num_devices)
    )


def test_aofl_partition_is_the_best_under_its_linear_model() -> None:
    model = load_model("tinycnn")
    problem = make_problem(model, group_cluster("DB", bandwidth=50e6))
    n = model.num_layers
    best = min(
        sum(_linear_cost(problem, s, e) for s, e in itertools.pairwise((0, *inner, n)))
        for r in range(n)
        for inner in itertools.combinations(range(1, n), r)
    )
    chosen = aofl(problem).boundaries
    got = sum(_linear_cost(problem, s, e) for s, e in itertools.pairwise(chosen))
    assert got == pytest.approx(best)
