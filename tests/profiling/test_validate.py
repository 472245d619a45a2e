from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from splitexit import InputError, save_profile
from splitexit.cli import app
from splitexit.perfmodel._trace import CascadeTable
from splitexit.profile import Profile, Trace
from splitexit.profiling import (
    ESTIMATORS,
    Fit,
    ValidationSettings,
    choose_partitions,
    measure_final,
    predict,
    render_validation_plot,
    validate,
    write_profile,
)
from splitexit.training import TrainConfig, load_dataset, train_joint
from tests.profiling.conftest import JOINT

runner = CliRunner()


def test_choose_partitions_are_distinct_sorted_and_seeded() -> None:
    chosen = choose_partitions(10, 12, max_parts=4, seed=3)
    assert len(set(chosen)) == 12
    assert all(2 <= len(p) <= 4 and list(p) == sorted(set(p)) for p in chosen)
    assert all(0 <= b < 10 for p in chosen for b in p)
    assert chosen == choose_partitions(10, 12, max_parts=4, seed=3)
    assert len(choose_partitions(3, 4, max_parts=3, seed=0)) == 4  # all of C(3,2) + C(3,3)


@pytest.mark.parametrize(
    ("blocks", "k", "max_parts", "message"),
    [
        (10, 0, 4, "k must be >= 1, got 0"),
        (10, 3, 1, "max parts must be >= 2"),
        (3, 5, 3, "k = 5 exceeds the 4 partitionings with 2..3 parts"),
    ],
)
def test_choose_partitions_bad_values(blocks: int, k: int, max_parts: int, message: str) -> None:
    with pytest.raises(InputError, match=message):
        choose_partitions(blocks, k, max_parts=max_parts, seed=0)


def test_fit_scores_perfect_and_shifted_predictions() -> None:
    x = np.array([0.1, 0.5, 0.9])
    perfect = Fit.of(x, x)
    assert perfect.mae == 0 and perfect.slope == pytest.approx(1) and perfect.r2 == pytest.approx(1)
    shifted = Fit.of(x, x + 0.02)
    assert shifted.mae == pytest.approx(0.02) and shifted.intercept == pytest.approx(0.02)
    assert math.isnan(Fit.of(np.ones(3), x).slope)  # constant predictions have no line


@pytest.mark.slow
def test_measure_final_of_the_full_configuration_replays_its_trace(
    tiny_profile: tuple[Profile, Trace, Path],
) -> None:
    profile, trace, work_dir = tiny_profile
    data = load_dataset("digits")
    joint = train_joint("resnet8", data, JOINT, work_dir=work_dir, width=0.5)
    measured = measure_final(joint.net, data.profile, profile.thresholds)
    # on the profiling split the full configuration is exactly what the profile recorded
    assert np.allclose(measured.exit_rates, profile.exit_rates)
    table = CascadeTable.from_trace(trace, profile.thresholds, source="joint")
    _, accuracy = table.evaluate(np.arange(4)[None], np.arange(20))
    assert np.allclose(measured.accuracy, accuracy[0])


@pytest.mark.slow
def test_predict_gives_every_estimator_for_every_partitioning(
    tiny_profile: tuple[Profile, Trace, Path],
) -> None:
    profile, trace, _ = tiny_profile
    partitions = [(0, 3), (1, 2, 3)]
    predicted = predict(profile, trace, partitions)
    assert tuple(predicted) == ESTIMATORS
    for guesses in predicted.values():
        assert [g.exit_rates.shape for g in guesses] == [(20, 2), (20, 3)]
        assert all(np.allclose(g.exit_rates.sum(axis=1), 1.0) for g in guesses)
    # the paper's estimators share the exit rates; with P_1 = 1 the first exit rate is
    # alpha_1 for the paper and for the replay of the joint trace alike
    paper = predicted["paper/separate"][0].exit_rates
    assert np.allclose(paper, predicted["paper/joint"][0].exit_rates)
    assert np.allclose(paper[:, 0], predicted["trace/joint"][0].exit_rates[:, 0])


@pytest.mark.slow
def test_validate_end_to_end_writes_scores_and_plot(
    tiny_profile: tuple[Profile, Trace, Path], tmp_path: Path
) -> None:
    profile, trace, work_dir = tiny_profile
    path = tmp_path / "p.json"
    write_profile(profile, trace, path)
    settings = ValidationSettings(
        profile=path,
        work_dir=work_dir,
        joint=JOINT,
        final=TrainConfig(epochs=1, batch_size=64, lr=0.02, augment=False),
        k=2,
        width=0.5,
    )
    result = validate(settings)
    assert len(result.partitions) == len(result.measured) == 2
    assert set(result.accuracy_fit) == set(ESTIMATORS) and result.best in ESTIMATORS
    data = result.to_dict()
    assert data["partitions"] == [[b + 1 for b in p] for p in result.partitions]
    assert json.dumps(data)  # JSON-ready (nan became null)
    render_validation_plot(result, tmp_path / "v.png")
    assert (tmp_path / "v.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (work_dir / "validate-joint").iterdir()) == sorted(
        "final-" + "-".join(str(b + 1) for b in parts) + ".pt" for parts in result.partitions
    )


def test_cli_validate_profile_without_trace_exits_2(tmp_path: Path) -> None:
    from splitexit import random_profile

    path = tmp_path / "p.json"
    save_profile(random_profile(4, seed=0), path)
    result = runner.invoke(app, ["validate", "--profile", str(path), "--quiet"])
    assert result.exit_code == 2
    assert "the profile names no per-sample trace" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--init", "x"], "init must be 'joint' or 'scratch', got 'x'"),
        (["--plot", "v.svg"], "the plot is a PNG file"),
        (["--threads", "0"], "--threads must be >= 1"),
    ],
)
def test_cli_validate_bad_arguments_exit_2(
    tiny_profile: tuple[Profile, Trace, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    profile, trace, _ = tiny_profile
    path = tmp_path / "p.json"
    write_profile(profile, trace, path)
    result = runner.invoke(app, ["validate", "--profile", str(path), "--quiet", *args])
    assert result.exit_code == 2 and message in result.output
