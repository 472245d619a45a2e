from __future__ import annotations

import numpy as np
import pytest

from splitexit.errors import InputError
from splitexit.spatial import (
    ExactFinish,
    Run,
    aofl,
    fast,
    group_cluster,
    lcpss,
    load_model,
    make_problem,
    offload,
    polish,
    simulate,
    split_volumes,
)


@pytest.mark.parametrize(
    ("group", "kwargs"), [("DC", {"bandwidth": 50e6}), ("NA", {"device": "nano"})]
)
def test_exact_finish_predicts_the_simulator(group: str, kwargs: dict[str, object]) -> None:
    problem = make_problem(load_model("vgg16"), group_cluster(group, **kwargs))  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    boundaries = (0, 6, 10, 14, 18)
    run = Run(problem, boundaries)
    for v in range(len(boundaries) - 1):
        height = problem.height(boundaries[v + 1] - 1)
        cuts = np.sort(rng.integers(0, height + 1, problem.num_devices - 1))
        model = ExactFinish(run, final=False)
        model.reset()
        edges = [0, *cuts.tolist(), height]
        predicted = []
        for k in range(problem.num_devices):
            predicted.append(float(model.finish(k, edges[k], np.array([edges[k + 1]]))[0]))
            model.commit(k, edges[k], edges[k + 1])
        finished = run.step(cuts)
        for k in range(problem.num_devices):
            if edges[k + 1] > edges[k]:
                assert predicted[k] == pytest.approx(finished[k])


def test_split_volumes_balances_a_homogeneous_volume() -> None:
    problem = make_problem(load_model("vgg16"), group_cluster("LA"))
    run = Run(problem, (0, 10, 18))
    strategy = split_volumes(problem, (0, 10, 18))
    finish = run.step(strategy.splits[0])
    busy = finish[finish > 0]
    assert busy.size >= 4  # the work is spread over several providers...
    assert busy.max() - busy.min() < 0.15 * busy.max()  # ...that finish together


def test_polish_never_makes_a_strategy_worse() -> None:
    problem = make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=300e6))
    start = split_volumes(problem, lcpss(problem))
    tuned = polish(problem, start, max_evaluations=1000)
    assert simulate(problem, tuned).latency_s <= simulate(problem, start).latency_s


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "group", "kwargs"),
    [
        ("vgg16", "DC", {"bandwidth": 300e6}),
        ("vgg16", "NA", {"device": "nano"}),
        ("resnet50", "DA", {"bandwidth": 50e6}),
    ],
)
def test_fast_never_loses_to_its_starts(model: str, group: str, kwargs: dict[str, object]) -> None:
    problem = make_problem(load_model(model), group_cluster(group, **kwargs))  # type: ignore[arg-type]
    given = split_volumes(problem, (0, 5, problem.num_layers))
    ours = simulate(problem, fast(problem, max_evaluations=1500, starts=[given])).latency_s
    assert ours <= simulate(problem, offload(problem)).latency_s + 1e-12
    assert ours <= simulate(problem, aofl(problem)).latency_s + 1e-12
    assert ours <= simulate(problem, given).latency_s + 1e-12
    assert ours <= simulate(problem, split_volumes(problem, lcpss(problem))).latency_s + 1e-12


@pytest.mark.slow
def test_fast_same_seed_same_decisions_and_throughput() -> None:
    problem = make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=50e6))
    first = fast(problem, max_evaluations=400, seed=3)
    second = fast(problem, max_evaluations=400, seed=3)
    assert first == second
    assert simulate(problem, first).ips == simulate(problem, second).ips


@pytest.mark.slow  # over 1 s of CPU (CONTRIBUTING.md)
def test_fast_tiny_budget_still_never_loses_to_offload_or_aofl() -> None:
    problem = make_problem(load_model("vgg16"), group_cluster("DA", bandwidth=50e6))
    few = simulate(problem, fast(problem, max_evaluations=50)).latency_s
    assert few <= simulate(problem, offload(problem)).latency_s + 1e-12
    assert few <= simulate(problem, aofl(problem)).latency_s + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_evaluations": 0}, "max_evaluations"),
        ({"max_evaluations": -1}, "max_evaluations"),
        ({"max_evaluations": 2.5}, "max_evaluations"),
        ({"time_limit_s": -1}, "time_limit_s"),
        ({"alpha": 7}, "alpha"),
    ],
)
def test_fast_bad_parameter_raises_input_error_naming_it(
    kwargs: dict[str, object], name: str
) -> None:
    problem = make_problem(load_model("tinycnn"), group_cluster("DB", bandwidth=50e6))
    with pytest.raises(InputError, match=name):
        fast(problem, **kwargs)  # type: ignore[arg-type]


def test_fast_time_budget_is_gone() -> None:
    problem = make_problem(load_model("tinycnn"), group_cluster("DB", bandwidth=50e6))
    with pytest.raises(TypeError):
        fast(problem, time_budget_s=-1)  # type: ignore[call-arg]


def test_polish_bad_budget_raises_input_error_naming_it() -> None:
    problem = make_problem(load_model("tinycnn"), group_cluster("DB", bandwidth=50e6))
    with pytest.raises(InputError, match="max_evaluations"):
        polish(problem, offload(problem), max_evaluations=0)
