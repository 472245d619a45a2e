"""The per-message overheads, fitted once per network from measurements."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.configuration import Configuration
from splitexit.errors import InputError
from splitexit.fidelity import (
    calibrate,
    compare,
    fit_overheads,
    make_case,
    measurement_from_mapping,
    sample_residuals,
)
from splitexit.fidelity._spread import LEVELS
from splitexit.topology import Overheads as TopologyOverheads
from splitexit.topology import load_topology
from tests.fidelity.helpers import Overheads, bundled, measurement_mapping, random_deployments
from tests.fidelity.test_calibrate import cases

# messages cost 1.2 ms plus 0.4 ms per link crossed; nothing else is missing from the model
TRUTH = Overheads(message_s=1.2e-3, per_hop_s=4e-4, per_bit_s=0.0, call_s=0.0)


def test_sample_residuals_are_the_injected_message_costs() -> None:
    case = cases("iot", 1, TRUTH, rows=50)[0]
    found = sample_residuals(case)
    m = case.measurement
    assert len(found.residual_s) == m.delivered.sum()
    assert np.array_equal(found.messages, m.exit[m.delivered] + 2)
    expected = TRUTH.message_s * found.messages + TRUTH.per_hop_s * found.hops
    assert np.allclose(found.residual_s, expected, atol=1e-12)


def test_sample_residuals_count_links_by_hand() -> None:
    # iot: source = destination = tier 0; P on tiers 1 then 3: input 1 link, forward 2,
    # result from tier 1 crosses 1 (exit 1) or from tier 3 crosses 3 (exit 2)
    profile, trace = bundled()
    topology = load_topology("iot")
    plan = Configuration((2, 8), (1, 3), (0.5,))
    data = measurement_mapping(topology, plan, rows=200, overheads=TRUTH)
    case = make_case(measurement_from_mapping(data, source="x.json"), profile, trace, topology)
    found = sample_residuals(case)
    early = found.messages == 2
    assert early.any() and (~early).any()
    assert set(found.hops[early].tolist()) == {2} and set(found.hops[~early].tolist()) == {6}


def test_fit_recovers_known_overheads() -> None:
    fit = fit_overheads(cases("iot", 6, TRUTH))
    assert fit.per_message_s == pytest.approx(TRUTH.message_s, rel=1e-6)
    assert fit.per_hop_s == pytest.approx(TRUTH.per_hop_s, rel=1e-6)
    assert fit.network == "emulated" and fit.setting == ("sleep", "grpc")
    assert fit.file_means.shape == (6, 3)


def test_fit_recovers_overheads_under_noise_and_one_disturbed_run() -> None:
    noisy = replace(TRUTH, noise_s=3e-4)  # exponential, mean 0.3 ms, on every message
    found = cases("mobile", 8, noisy, seed=4)
    disturbed = replace(TRUTH, message_s=20e-3)  # another process ate this run
    found[3] = cases("mobile", 4, disturbed, seed=4)[3]
    fit = fit_overheads(found)
    # the mean noise belongs to every message: per message, not per link
    assert fit.per_message_s == pytest.approx(TRUTH.message_s + 3e-4, rel=0.1)
    assert fit.per_hop_s == pytest.approx(TRUTH.per_hop_s, rel=0.2)


def test_fit_without_varying_links_puts_everything_per_message() -> None:
    profile, trace = bundled()
    topology = load_topology("iot")
    found = []
    for i, plan in enumerate([Configuration((3,), (0,)), Configuration((5,), (0,))]):
        data = measurement_mapping(topology, plan, rows=50, overheads=TRUTH, seed=i)
        found.append(
            make_case(measurement_from_mapping(data, source=f"{i}.json"), profile, trace, topology)
        )
    fit = fit_overheads(found)  # every sample: two messages, no link
    assert (fit.per_message_s, fit.per_hop_s) == (pytest.approx(TRUTH.message_s), 0.0)


def test_fitted_topology_predicts_a_configuration_it_has_not_seen() -> None:
    held_out, *others = cases("iot", 7, TRUTH, seed=2)
    fit = fit_overheads(others)
    plain = compare(held_out).model("runtime-timed")
    fitted = replace(held_out, topology=fit.topology(held_out.topology))
    after = compare(fitted).model("runtime-timed")
    assert plain.mean_error < -0.001  # the paper's formulas miss the messages' cost
    assert abs(after.mean_error) < 1e-9
    assert abs(after.p99_error) < 1e-9


def test_calibrated_model_ignores_the_topology_overheads() -> None:
    found = cases("iot", 4, TRUTH)
    heavy = TopologyOverheads(per_message=0.05, per_hop=0.01)
    with_term = [replace(c, topology=replace(c.topology, overheads=heavy)) for c in found]
    a, b = calibrate(found[1:]), calibrate(with_term[1:])
    assert (a.input_s, a.forward_s, a.result_s) == (b.input_s, b.forward_s, b.result_s)
    before = compare(found[0], calibration=a).model("calibrated")
    after = compare(with_term[0], calibration=b).model("calibrated")
    assert before.matched == after.matched
    # while the uncalibrated models charge the term
    assert compare(with_term[0]).model("paper").matched.mean_s > (
        compare(found[0]).model("paper").matched.mean_s + 0.05
    )


def test_fit_refuses_mixed_networks() -> None:
    found = cases("iot", 2, TRUTH)
    other = replace(found[1].measurement, network="netns")
    with pytest.raises(InputError, match="mix networks"):
        fit_overheads([found[0], replace(found[1], measurement=other)])


def _files(folder: Path, count: int) -> list[Path]:
    topology = load_topology("iot")
    paths = []
    for i, plan in enumerate(random_deployments(topology, count, seed=5)):
        data = measurement_mapping(topology, plan, rows=60, overheads=TRUTH, seed=i)
        path = folder / f"iot-{i}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(path)
    return paths


def test_cli_fidelity_overheads_writes_a_topology(tmp_path: Path) -> None:
    files = _files(tmp_path, 3)
    out, fit_json = tmp_path / "iot-fitted.yaml", tmp_path / "fit.json"
    args = ["fidelity-overheads", *map(str, files), "--out", str(out), "--json", str(fit_json)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "per message 1.2 ms" in result.output
    fitted = load_topology(str(out))
    assert fitted.overheads.per_message == pytest.approx(1.2e-3)
    assert fitted.overheads.per_hop == pytest.approx(4e-4)
    assert "fitted by splitexit fidelity-overheads on 3" in fitted.overheads.note
    base = load_topology("iot")
    assert (fitted.tiers, fitted.links, fitted.source) == (base.tiers, base.links, base.source)
    assert json.loads(fit_json.read_text())["samples"] == 180
    # the file feeds the other commands
    plan = CliRunner().invoke(app, ["plan", "--topology", str(out)])
    assert plan.exit_code == 0, plan.output
    assert "message overheads" in plan.output


def test_cli_fidelity_overheads_bad_output_one_line(tmp_path: Path) -> None:
    files = _files(tmp_path, 1)
    result = CliRunner().invoke(
        app, ["fidelity-overheads", str(files[0]), "--out", str(tmp_path / "x.txt")]
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1 and "--out" in result.output
    assert not (tmp_path / "x.txt").exists()


def _netns_cases(truth: Overheads, count: int, seed: int = 0) -> list:
    profile, trace = bundled()
    topology = load_topology("iot")
    found = []
    for i, plan in enumerate(random_deployments(topology, count, seed)):
        data = measurement_mapping(
            topology, plan, rows=300, overheads=truth, seed=seed + i, network="netns"
        )
        measurement = measurement_from_mapping(data, source=f"netns-{i}.json")
        found.append(make_case(measurement, profile, trace, topology))
    return found


def test_netns_timestamps_calibrate_as_the_emulated_ones() -> None:
    # on kernel-shaped links the receiver sleeps the propagation after stamping the arrival
    # and nobody sleeps the transfer; the calibrated model must read the same overheads
    truth = Overheads(message_s=1.5e-3, per_bit_s=3e-9, call_s=4e-4)
    netns, emulated = _netns_cases(truth, 6), cases("iot", 6, truth)
    assert netns[0].measurement.network == "netns"
    pairs = [(n.measurement, e.measurement) for n, e in zip(netns, emulated, strict=True)]
    assert all(np.allclose(n.latency_s, e.latency_s) for n, e in pairs)
    assert not all(np.allclose(n.arrive_s, e.arrive_s) for n, e in pairs)
    a, b = calibrate(netns), calibrate(emulated)
    for name in ("input_s", "result_s", "forward_s", "per_bit_s", "call_s"):
        assert getattr(a, name) == pytest.approx(getattr(b, name), rel=1e-6, abs=1e-12), name
    assert a.result_s == pytest.approx(1.5e-3 + 3e-9 * 80, rel=1e-3)
    # and the whole-sample fit does not care how the stamps fall
    fit_a, fit_b = fit_overheads(netns), fit_overheads(emulated)
    assert fit_a.per_message_s == pytest.approx(fit_b.per_message_s, rel=1e-9)
    assert fit_a.network == "netns"


def test_the_fit_keeps_the_variation_around_the_term_and_it_shapes_only_the_tail() -> None:
    """Exponential noise on every message: without the jitter every sample of an exit costs
    the same and the predicted p99 of a one-exit configuration is its mean; with it the
    held-out configuration's p99 comes within a few percent and its mean does not move."""
    noisy = replace(TRUTH, noise_s=2e-3)
    held_out, *others = cases("iot", 9, noisy, seed=6, rows=300)
    fit = fit_overheads(others)
    jitter = fit.jitter_s
    assert len(jitter) == LEVELS and abs(jitter.mean()) < 1e-12
    assert np.all(np.diff(jitter) >= 0) and jitter[-1] - jitter[0] > 4e-3
    with_jitter = replace(held_out, topology=fit.topology(held_out.topology))
    without = replace(
        held_out,
        topology=replace(
            held_out.topology, overheads=replace(fit.overheads, jitter_s=(), jitter_per_link_s=())
        ),
    )
    a, b = compare(without).model("runtime-timed"), compare(with_jitter).model("runtime-timed")
    assert b.matched.mean_s == pytest.approx(a.matched.mean_s, rel=1e-12)
    assert abs(b.p99_error) < abs(a.p99_error) and abs(b.p99_error) < 0.08
    # the topology file carries it, and so does what the CLI writes
    again = TopologyOverheads(0.001, 0.0, "", tuple(jitter.tolist()))
    topo = replace(load_topology("iot"), overheads=again)
    from splitexit.topology import Topology

    assert Topology.from_mapping(topo.to_mapping()).overheads == again


@pytest.mark.parametrize("bad", [[float("nan")], ["1ms"], [5e3]])
def test_bad_jitter_in_a_topology_is_one_clear_error(bad: list[object]) -> None:
    from splitexit.topology import Topology

    data = load_topology("iot").to_mapping()
    data["overheads"] = {"per_message": "1ms", "jitter_s": bad}
    with pytest.raises(InputError, match="jitter_s"):
        Topology.from_mapping(data)
