"""The calibrated model recovers known overheads, and is never fitted on what it predicts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from splitexit.configuration import Configuration
from splitexit.fidelity import (
    FidelityCase,
    calibrate,
    compare,
    compare_many,
    make_case,
    measurement_from_mapping,
)
from splitexit.topology import load_topology
from tests.fidelity.helpers import Overheads, bundled, measurement_mapping, random_deployments


def cases(
    preset: str, count: int, overheads: Overheads, *, seed: int = 0, rows: int = 300
) -> list[FidelityCase]:
    profile, trace = bundled()
    topology = load_topology(preset)
    found = []
    for i, plan in enumerate(random_deployments(topology, count, seed)):
        data = measurement_mapping(topology, plan, rows=rows, overheads=overheads, seed=seed + i)
        measurement = measurement_from_mapping(data, source=f"{preset}-{i}.json")
        found.append(make_case(measurement, profile, trace, topology))
    return found


def test_calibrate_recovers_known_overheads() -> None:
    truth = Overheads(message_s=3e-3, per_bit_s=4e-9, call_s=7e-4, reference_scale=0.6)
    fitted = calibrate(cases("mobile", 8, truth), compute="paper")
    profile, _ = bundled()
    assert fitted.input_s == pytest.approx(truth.message_s + truth.per_bit_s * profile.input_bits)
    assert fitted.result_s == pytest.approx(truth.message_s + truth.per_bit_s * profile.result_bits)
    assert fitted.forward_s + fitted.per_bit_s * 401408 == pytest.approx(
        truth.message_s + truth.per_bit_s * 401408
    )
    assert fitted.call_s == pytest.approx(truth.call_s, rel=1e-6)
    assert fitted.call_scale == pytest.approx(truth.reference_scale - 1, abs=1e-9)
    assert abs(fitted.jitter_s).max() < 1e-9  # no noise: nothing left over


def test_calibrate_learns_what_messages_crossing_no_link_cost() -> None:
    truth = Overheads(message_s=1e-3, local_message_s=4e-4, per_bit_s=0.0, call_s=2e-4)
    profile, trace = bundled()
    topology = load_topology("iot")  # source and destination: raspberry-pi (tier 0)
    plans = [
        Configuration(partition=(9,), placement=(0,), thresholds=()),  # all local
        Configuration(partition=(9,), placement=(1,), thresholds=()),  # both cross links
        Configuration(partition=(9,), placement=(2,), thresholds=()),  # both cross links
        Configuration(partition=(2, 9), placement=(0, 1), thresholds=(0.3,)),  # mixed
    ]
    found = []
    for i, plan in enumerate(plans):
        data = measurement_mapping(topology, plan, rows=100, overheads=truth, seed=i)
        found.append(make_case(measurement_from_mapping(data, source=f"{i}.json"), profile,
                               trace, topology))  # fmt: skip
    fitted = calibrate(found, compute="paper")
    assert fitted.input_s == pytest.approx(1e-3) and fitted.result_s == pytest.approx(1e-3)
    assert fitted.input_local_s == pytest.approx(4e-4)
    assert fitted.result_local_s == pytest.approx(4e-4)
    # a kind seen in one fitted file only takes the other kind's value
    only_links = calibrate(found[1:3], compute="paper")
    assert only_links.input_local_s == pytest.approx(only_links.input_s) == pytest.approx(1e-3)
    for case in found:  # the calibrated prediction is exact without noise
        assert compare(case, calibration=fitted).model("calibrated").mean_error == pytest.approx(
            0.0, abs=1e-9
        )


def test_calibrate_forward_slope_from_two_sizes() -> None:
    truth = Overheads(message_s=1e-3, per_bit_s=5e-9)
    profile, trace = bundled()
    topology = load_topology("iot")
    found = []
    # cuts after blocks 3 and 7 (0-based 2 and 6) forward activations of different sizes
    for i, cut in enumerate((2, 6)):
        plan = Configuration(partition=(cut, 9), placement=(0, 1), thresholds=(0.05,))
        data = measurement_mapping(topology, plan, rows=100, overheads=truth, seed=i)
        measurement = measurement_from_mapping(data, source=f"cut{cut}.json")
        found.append(make_case(measurement, profile, trace, topology))
    assert profile.output_bits[2] != profile.output_bits[6]
    fitted = calibrate(found)
    assert fitted.per_bit_s == pytest.approx(truth.per_bit_s, rel=1e-6)
    assert fitted.forward_s == pytest.approx(truth.message_s, rel=1e-6)


def test_calibrate_runtime_compute_needs_no_scale() -> None:
    truth = Overheads(reference_scale=0.6)
    fitted = calibrate(cases("iot", 4, truth), compute="runtime")
    assert fitted.call_scale == pytest.approx(0.0, abs=1e-9)
    assert fitted.call_s == pytest.approx(truth.call_s, rel=1e-6)


def test_calibrate_is_robust_to_one_disturbed_run() -> None:
    quiet = cases("mobile", 4, Overheads())
    loud = cases("mobile", 5, Overheads(message_s=0.05))[-1]
    fitted = calibrate([*quiet, loud])
    assert fitted.result_s == pytest.approx(calibrate(quiet).result_s)


@pytest.mark.slow  # over 1 s of CPU (CONTRIBUTING.md)
def test_compare_many_meets_targets_after_calibration_only() -> None:
    noisy = Overheads(noise_s=1e-3, reference_scale=0.5)
    found = cases("mobile", 6, noisy) + cases("iot", 6, noisy, seed=50)
    summary = compare_many(found, calibrate_model=True)
    after = summary.errors_of("calibrated")
    assert after.configurations == 12
    assert after.mean_ape < 0.05 and after.max_p99_ape < 0.10
    assert summary.errors_of("paper").mean_ape > after.mean_ape
    for comparison in summary.comparisons:
        assert comparison.exit_agreement == 1.0  # the fake runtime deploys the joint model
        assert comparison.measured_accuracy == pytest.approx(comparison.predicted_accuracy)
        assert comparison.calibration is not None
        assert comparison.name not in comparison.calibration.fitted_on
        assert len(comparison.calibration.fitted_on) == 11


def test_compare_many_leaves_the_predicted_configuration_out() -> None:
    # one configuration pays 20 ms more per message than the rest: fitted on the others,
    # its prediction must miss by about that much, which it would not if it saw itself
    found = cases("mobile", 4, Overheads())
    odd = cases("mobile", 5, Overheads(message_s=0.022))[-1]
    summary = compare_many([*found, odd], calibrate_model=True)
    last = summary.comparisons[-1]
    calibrated = last.model("calibrated")
    assert calibrated.matched.mean_s < last.measured.mean_s - 0.035  # >= 2 messages x 20 ms
    for quiet in summary.comparisons[:-1]:  # medians keep the odd one from spoiling the rest
        assert abs(quiet.model("calibrated").mean_error) < 1e-3
    alone = compare(odd, calibration=calibrate([odd]))
    assert alone.model("calibrated").mean_error == pytest.approx(0.0, abs=1e-9)


def test_compare_many_does_not_mix_transports() -> None:
    grpc_cases = cases("iot", 3, Overheads(message_s=2e-3))
    tcp_cases = [
        replace(c, measurement=replace(c.measurement, transport="tcp"))
        for c in cases("iot", 3, Overheads(message_s=2e-4), seed=10)
    ]
    summary = compare_many([*grpc_cases, *tcp_cases], calibrate_model=True)
    for comparison in summary.comparisons:  # fitted on its own transport only: mixing both
        # would miss by a good part of 1.8 ms per message (5 to 20 %)
        assert abs(comparison.model("calibrated").mean_error) < 0.01
        assert comparison.calibration is not None and len(comparison.calibration.fitted_on) == 2


def test_compare_sample_matched_and_full_trace() -> None:
    case = cases("iot", 1, Overheads(), rows=200)[0]
    result = compare(case)
    paper = result.model("paper")
    assert result.delivered == 200 and result.failed == 0
    assert paper.matched.p50_s <= paper.matched.p95_s <= paper.matched.p99_s
    # the fake runtime pays overheads the paper model misses
    assert paper.matched.mean_s < result.measured.mean_s
    assert [f.model for f in result.models] == ["paper", "runtime-timed"]
    assert result.predicted_exit_rates.sum() == pytest.approx(1.0)
    assert result.predicted_exit_rates_full.sum() == pytest.approx(1.0)


def test_compare_many_compute_modes_are_not_mixed() -> None:
    found = cases("mobile", 3, Overheads())
    other = replace(found[0], measurement=replace(found[0].measurement, compute_mode="none"))
    summary = compare_many([*found[1:], other], calibrate_model=True)
    assert summary.comparisons[-1].calibration is None
    assert summary.errors_of("calibrated").configurations == 2


def test_calibrate_learns_that_messages_cost_more_after_a_longer_pause() -> None:
    """Every message costs a + g x min(cycle, 10 ms) (a gRPC call after a pause): files of
    short and long cycles give g back, and a held-out short-cycle configuration is predicted
    at its own cycle (a fixed point), where a constant cost would over-charge it."""
    from dataclasses import replace as with_cost

    from splitexit.fidelity._calibrate import IDLE_CAP_S

    a, g = 2e-4, 0.08
    from splitexit.topology import Tier

    profile, trace = bundled()
    iot = load_topology("iot")  # every tier as fast as the reference: short cycles on the Pi
    topology = with_cost(iot, tiers=tuple(Tier(t.name, 1.0) for t in iot.tiers))
    plans = [
        Configuration((1,), (0,)),
        Configuration((2,), (0,)),
        Configuration((1, 8), (0, 1), (0.85,)),
        Configuration((3,), (0,)),
        Configuration((6,), (1,)),
        Configuration((9,), (1,)),
    ]
    found, cycles = [], []
    for i, plan in enumerate(plans):
        base = Overheads(message_s=a, per_bit_s=0.0, call_s=0.0)
        data = measurement_mapping(topology, plan, rows=200, overheads=base, seed=i)
        first = make_case(measurement_from_mapping(data, source="x.json"), profile, trace, topology)
        m = first.measurement
        latency = float(m.latency_s[m.delivered].mean())
        messages = float((m.exit[m.delivered] + 2).mean())
        cost = a
        for _ in range(100):  # the file's own cycle is its mean latency (no pause recorded)
            cost = a + g * min(latency + messages * (cost - a), IDLE_CAP_S)
        cycles.append(latency + messages * (cost - a))
        data = measurement_mapping(
            topology, plan, rows=200, overheads=with_cost(base, message_s=cost), seed=i
        )
        measurement = measurement_from_mapping(data, source=f"iot-{i}.json")
        found.append(make_case(measurement, profile, trace, topology))
    assert min(cycles) < 0.005 and max(cycles) > IDLE_CAP_S  # short and saturated cycles
    fitted = calibrate(found[1:])
    assert fitted.idle_scale == pytest.approx(g, rel=1e-6)
    assert fitted.input_s == pytest.approx(a + g * 0.0, abs=1e-9)  # intercepts at no pause
    held = compare(found[0], calibration=fitted).model("calibrated")
    assert abs(held.mean_error) < 1e-6
    saturated = a + g * IDLE_CAP_S  # every message at the cap's cost
    constant = with_cost(
        fitted, idle_scale=0.0, input_s=saturated, input_local_s=saturated,
        result_s=saturated, result_local_s=saturated, forward_s=saturated,
    )  # fmt: skip
    flat = compare(found[0], calibration=constant).model("calibrated")
    assert flat.mean_error > 0.05  # a saturated cost over-charges the short cycle
