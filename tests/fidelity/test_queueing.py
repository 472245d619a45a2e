"""Closed-loop clients through shared tiers and links (fidelity/_queueing.py)."""

from __future__ import annotations

import numpy as np
import pytest

from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.fidelity import (
    Stage,
    calibrate,
    closed_loop,
    make_case,
    measurement_from_mapping,
    path_stages,
    predict_queueing,
    predict_samples,
)
from splitexit.fidelity._queueing import DELAY
from splitexit.topology import load_topology
from tests.fidelity.helpers import Overheads, bundled, measurement_mapping, random_deployments


def _case(
    plan: Configuration,
    *,
    topology: str = "iot",
    rows: int = 120,
    seed: int = 0,
    run: dict[str, object] | None = None,
    overheads: Overheads | None = None,
):  # type: ignore[no-untyped-def]
    topo = load_topology(topology)
    profile, trace = bundled()
    data = measurement_mapping(topo, plan, rows=rows, seed=seed, overheads=overheads)
    if run is not None:
        data["run"] = run
    return make_case(measurement_from_mapping(data, source=f"{seed}.json"), profile, trace, topo)


@pytest.mark.parametrize("network", ["emulated", "netns"])
@pytest.mark.parametrize("calibrated", [False, True])
def test_one_client_is_the_one_sample_prediction(network: str, calibrated: bool) -> None:
    """N = 1: nobody waits; every sample's latency is exactly the existing prediction, for
    configurations of 1 to 3 partitions, every model."""
    topo = load_topology("iot")
    plans = random_deployments(topo, 6, seed=3)
    cases = [_case(p, seed=i, run={"clients": 1, "network": network}) for i, p in enumerate(plans)]
    for k, case in enumerate(cases):
        calibration = calibrate(cases[:k] + cases[k + 1 :]) if calibrated else None
        for compute in ("paper", "runtime"):
            q = predict_queueing(case, compute=compute, calibration=calibration)  # type: ignore[arg-type]
            pred = predict_samples(
                case.profile, case.trace, case.topology, case.deployment, compute=compute,  # type: ignore[arg-type]
                measurement=case.measurement, calibration=calibration,
            )  # fmt: skip
            expected = pred.latency_s[case.rows] + pred.jitter_s.mean()
            np.testing.assert_allclose(q.latency_s, expected, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(q.alone_s, expected, rtol=1e-12, atol=1e-12)
            assert q.wait_s == pytest.approx(0.0, abs=1e-12)
            assert q.mean_s == pytest.approx(float(np.mean(pred.distribution(case.rows))))


def test_two_clients_on_one_resource_by_hand() -> None:
    """One resource held 2 s, then 1 s of delay; clients A (3 samples) and B (2), both at 0.

    A: 0-2 resource, 2-3 delay (3); 3-5 resource? no: B holds it 2-4, so A waits to 4, 4-6,
    delay to 7 (4); then A asks at 7, B (back at 5, served 6-8) has it until 8: 8-10, 11 (4).
    B: waits 0-2, 2-4, delay to 5 (5); asks at 5, A holds 4-6: 6-8, 9 (4).
    """
    path = [Stage(0, 2.0), Stage(DELAY, 1.0)]
    a, b = closed_loop([path], [[0, 0, 0], [0, 0]], 1)
    assert a.tolist() == [3.0, 4.0, 4.0]
    assert b.tolist() == [5.0, 4.0]
    # with one client the same path never waits
    (alone,) = closed_loop([path], [[0, 0, 0]], 1)
    assert alone.tolist() == [3.0, 3.0, 3.0]
    # two resources in series, pipelined: B waits once, then the two never meet again
    two = [Stage(0, 1.0), Stage(1, 1.0)]
    a, b = closed_loop([two], [[0, 0], [0, 0]], 2)
    assert a.tolist() == [2.0, 2.0] and b.tolist() == [3.0, 2.0]


def test_closed_loop_saturates_at_the_bottleneck() -> None:
    """N clients on a resource held s seconds with a delay d: once N s > s + d, every sample
    takes N s (the resource is never idle), else s + d."""
    s, d = 0.010, 0.015
    path = [Stage(0, s), Stage(DELAY, d)]
    for n in (1, 2, 4, 8):
        out = closed_loop([path], [[0] * 200 for _ in range(n)], 1)
        steady = np.concatenate([x[20:] for x in out])
        assert steady.mean() == pytest.approx(max(n * s, s + d), rel=1e-9)


def test_closed_loop_refuses_unknown_resources() -> None:
    with pytest.raises(InputError, match="resource must be -1"):
        closed_loop([[Stage(3, 1.0)]], [[0]], 2)
    with pytest.raises(InputError, match=r"queues must name paths in 0\.\.0"):
        closed_loop([[Stage(0, 1.0)]], [[0, 1]], 1)
    with pytest.raises(InputError, match="seconds"):
        Stage(0, -1.0)


def test_links_are_shared_on_netns_and_per_sender_when_emulated() -> None:
    """Results of partitions 1 and 2 both cross link 1 -> 0: one queue in the kernel, two in
    the emulation (each sender's process has its own)."""
    topo = load_topology("iot")
    plan = Configuration(partition=(2, 9), placement=(1, 2), thresholds=(0.5,))
    case = _case(plan)
    costs = case.costs("paper")
    latency = costs.latency_s.tolist()
    _, _, shared = path_stages(topo, plan.placement, costs, latency, shared_links=True)
    _, _, own = path_stages(topo, plan.placement, costs, latency, shared_links=False)
    assert shared.count("link micro-datacenter->raspberry-pi") == 1
    senders = [n for n in own if n.startswith("link micro-datacenter->raspberry-pi")]
    assert sorted(senders) == [
        "link micro-datacenter->raspberry-pi (sent by local-cloud)",
        "link micro-datacenter->raspberry-pi (sent by micro-datacenter)",
    ]


def test_more_clients_wait_more_and_follow_the_measurement() -> None:
    """On the pi (R = 100, its compute dominates) two clients queue; the file's client ids
    decide who sends what; the replay is deterministic and its seed moves only the start."""
    plan = Configuration(partition=(2, 5), placement=(0, 1), thresholds=(0.55,))
    case = _case(plan, rows=200, run={"clients": 2, "network": "netns"})
    one = predict_queueing(case, clients=1)
    two = predict_queueing(case)
    four = predict_queueing(case, clients=4)
    assert two.clients == 2 and four.clients == 4
    assert 0 < two.wait_s < four.wait_s
    assert four.mean_s > two.mean_s > one.mean_s
    assert np.array_equal(predict_queueing(case).latency_s, two.latency_s)
    assert sorted(set(two.client.tolist())) == [1, 2]
    pi = two.resources.index("compute raspberry-pi")
    assert two.utilization[pi] > one.utilization[pi]
    staggered = predict_queueing(case, seed=1, stagger_s=0.005)
    assert np.array_equal(predict_queueing(case, seed=1, stagger_s=0.005).latency_s,
                          staggered.latency_s)  # fmt: skip


def test_recorded_clients_are_used() -> None:
    """Samples go to the clients the file names, in the order they were sent."""
    topo = load_topology("iot")
    profile, trace = bundled()
    plan = Configuration(partition=(2, 5), placement=(0, 1), thresholds=(0.55,))
    data = measurement_mapping(topo, plan, rows=40, seed=0)
    data["run"] = {"clients": 2, "network": "netns"}
    for i, sample in enumerate(data["samples"]):
        sample["client"] = 1 if i < 20 else 2  # halves rather than the testbed's round-robin
        sample["sent_s"] = float(i % 20)
        sample["received_s"] = float(i % 20) + 0.5
    case = make_case(measurement_from_mapping(data, source="x.json"), profile, trace, topo)
    q = predict_queueing(case)
    assert q.client.tolist() == [1] * 20 + [2] * 20


def test_think_time_and_measured_one_client_latency() -> None:
    """A client pauses ``think_s`` between a result and its next send (not in the latency);
    ``alone_s`` replaces the model's one-sample latency per exit."""
    path = [Stage(0, 1.0)]
    a, b = closed_loop([path], [[0, 0], [0, 0]], 1, think_s=1.0)
    assert a.tolist() == [1.0, 1.0] and b.tolist() == [2.0, 1.0]
    plan = Configuration(partition=(2, 5), placement=(0, 1), thresholds=(0.55,))
    case = _case(plan, rows=100)
    q = predict_queueing(case, clients=1, alone_s=[0.030, float("nan")])
    model = predict_queueing(case, clients=1)
    first = case.measurement.exit[case.measurement.delivered] == 0
    assert np.allclose(q.latency_s[first], 0.030)
    assert np.allclose(q.latency_s[~first], model.latency_s[~first])
    slow = predict_queueing(case, clients=4, alone_s=[0.030, float("nan")], think_s=0.01)
    assert slow.wait_s < predict_queueing(case, clients=4, alone_s=[0.030, float("nan")]).wait_s


def test_residuals_vary_the_paths_and_break_the_lockstep() -> None:
    """Alone, a sample lasts its exit's latency plus its drawn residual (seeded); with two
    clients and a busy pi, identical paths fall into step and never wait, varied ones do."""
    plan = Configuration(partition=(0,), placement=(0,), thresholds=())
    case = _case(plan, rows=200, run={"clients": 2, "network": "netns"})
    base = float(predict_queueing(case, clients=1).alone_s[0])  # nearly all compute
    alone = [3 * base]  # the pi's compute is a third of the cycle
    pool = [[-base, 0.0, base, 2 * base]]
    one = predict_queueing(case, clients=1, alone_s=alone, residual_s=pool, seed=5)
    np.testing.assert_allclose(one.latency_s, one.alone_s, rtol=0, atol=1e-12)
    drawn = set(np.round((one.alone_s - 3 * base) / base, 9).tolist())
    assert drawn == {-1.0, 0.0, 1.0, 2.0}
    again = predict_queueing(case, clients=1, alone_s=alone, residual_s=pool, seed=5)
    assert np.array_equal(again.latency_s, one.latency_s)
    assert not np.array_equal(
        predict_queueing(case, clients=1, alone_s=alone, residual_s=pool, seed=6).alone_s,
        one.alone_s,
    )
    steady = predict_queueing(case, clients=2, alone_s=alone)
    varied = predict_queueing(case, clients=2, alone_s=alone, residual_s=pool, seed=5)
    assert steady.wait_s < 0.01 * base < 0.05 * base < varied.wait_s  # one wait at the start


def test_fidelity_on_several_clients_reports_the_queueing_replay_beside() -> None:
    """``compare_many`` on a two-client file: each model also replayed through shared queues
    (``<model> + queueing``, equal to ``predict_queueing``), the one-sample figures kept; the
    calibration of the two-client file is fitted on the one-client files only, and one-client
    files get no queueing figures."""
    from splitexit.fidelity import compare_many

    topo = load_topology("iot")
    busy = Configuration(partition=(2, 5), placement=(0, 1), thresholds=(0.55,))
    plans = random_deployments(topo, 4, seed=7)
    alone = [_case(p, seed=i, run={"clients": 1, "network": "netns"}) for i, p in enumerate(plans)]
    two = _case(busy, rows=200, seed=9, run={"clients": 2, "network": "netns"})
    summary = compare_many([*alone, two], calibrate_model=True)
    last = summary.comparisons[-1]
    names = [f.model for f in last.models]
    assert names == [
        "paper", "runtime-timed", "calibrated",
        "paper + queueing", "runtime-timed + queueing", "calibrated + queueing",
    ]  # fmt: skip
    assert last.calibration is not None
    assert set(last.calibration.fitted_on) == {c.name for c in alone}
    replay = predict_queueing(two, compute="runtime")
    assert last.model("runtime-timed + queueing").matched.mean_s == pytest.approx(replay.mean_s)
    assert replay.wait_s > 0
    assert last.model("runtime-timed + queueing").matched.mean_s > (
        last.model("runtime-timed").matched.mean_s
    )
    assert all("queueing" not in f.model for c in summary.comparisons[:-1] for f in c.models)
    assert summary.errors_of("paper + queueing").configurations == 1
