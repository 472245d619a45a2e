"""The per-message overheads, fitted once per network from measurements."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit.cli import app
from splitexit.errors import InputError
from splitexit.fidelity import (
    calibrate,
    compare,
    fit_overheads,
    message_excess,
)
from splitexit.topology import Overheads as TopologyOverheads
from splitexit.topology import load_topology
from tests.fidelity.helpers import Overheads, measurement_mapping, random_deployments
from tests.fidelity.test_calibrate import cases

# messages cost 1.2 ms plus 0.4 ms per link crossed; calls 0.3 ms (not a message cost)
TRUTH = Overheads(message_s=1.2e-3, per_hop_s=4e-4, per_bit_s=0.0, call_s=3e-4)


def test_message_excess_is_the_injected_cost_of_every_message() -> None:
    case = cases("iot", 1, TRUTH, rows=50)[0]
    excess = message_excess(case)
    m = case.measurement
    # one input and one result per delivered sample, one forward per cut crossed
    assert (excess.kind == 0).sum() == m.delivered.sum() == (excess.kind == 2).sum()
    assert (excess.kind == 1).sum() == (m.exit[m.delivered]).sum()
    expected = TRUTH.message_s + TRUTH.per_hop_s * excess.hops
    assert np.allclose(excess.excess_s, expected, atol=1e-12)


def test_fit_recovers_known_overheads() -> None:
    fit = fit_overheads(cases("iot", 6, TRUTH))
    assert fit.per_message_s == pytest.approx(TRUTH.message_s, rel=1e-9)
    assert fit.per_hop_s == pytest.approx(TRUTH.per_hop_s, rel=1e-9)
    assert fit.network == "emulated" and fit.setting == ("sleep", "grpc")
    assert set(fit.median_excess_s) <= {0, 1, 2, 3} and len(fit.median_excess_s) >= 2


def test_fit_recovers_overheads_under_noise() -> None:
    noisy = replace(TRUTH, noise_s=3e-4)  # exponential, mean 0.3 ms, on every message
    fit = fit_overheads(cases("mobile", 8, noisy, seed=4))
    # the mean noise belongs to every message: per message, not per link
    assert fit.per_message_s == pytest.approx(TRUTH.message_s + 3e-4, rel=0.1)
    assert fit.per_hop_s == pytest.approx(TRUTH.per_hop_s, rel=0.15)


def test_fitted_topology_predicts_a_configuration_it_has_not_seen() -> None:
    truth = replace(TRUTH, call_s=0.0)  # what the messages cost is all the model misses
    held_out, *others = cases("iot", 7, truth, seed=2)
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
    assert json.loads(fit_json.read_text())["messages"] > 0
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
