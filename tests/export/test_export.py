from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest

from splitexit.configuration import exit_partitions
from splitexit.errors import InputError
from splitexit.export import (
    MANIFEST_NAME,
    ChainRunner,
    export_partitions,
    load_manifest,
)
from tests.export.conftest import (
    ATOL,
    PARTITION,
    PLACEMENT,
    Exported,
    clear_threshold,
    torch_exits,
)


def test_export_files_pass_the_onnx_checker_and_manifest_describes_them(
    exported: Exported,
) -> None:
    manifest = load_manifest(exported.out_dir / MANIFEST_NAME)
    assert manifest == exported.manifest
    assert manifest.tiers == PLACEMENT and manifest.threshold == 0.5
    assert [(p.first_block, p.last_block) for p in manifest.partitions] == [(1, 1), (2, 3), (4, 4)]
    assert manifest.input_shape == (1, 8, 8) and manifest.input_dtype == "float32"
    assert [t.name for t in manifest.partitions[-1].outputs] == ["probabilities", "entropy"]
    for part in manifest.partitions:
        onnx.checker.check_model(onnx.load(str(exported.out_dir / part.file)), full_check=True)


def test_chain_reproduces_torch_exit_outputs_and_decisions(exported: Exported) -> None:
    images = exported.data.profile.images[:200]
    probabilities, entropy = torch_exits(exported.joint.net, images)
    runner = ChainRunner(exported.manifest, exported.out_dir, threads=1)
    onnx_p, onnx_h = runner.outputs(images)
    np.testing.assert_allclose(onnx_p, probabilities, atol=ATOL)
    np.testing.assert_allclose(onnx_h, entropy, atol=ATOL)

    threshold = clear_threshold(entropy[:, :-1], 0.6, 0.9)
    expected = exit_partitions(entropy, threshold)
    early = expected < len(PARTITION) - 1
    assert 0 < early.sum() < len(images)  # the test exercises early and late exits

    thresholds = (threshold,) * (len(PARTITION) - 1)
    runner.manifest = dataclasses.replace(exported.manifest, thresholds=thresholds)
    result = runner.run(images)
    np.testing.assert_array_equal(result.exit_partition, expected)
    rows = np.arange(len(images))
    np.testing.assert_array_equal(result.predictions, probabilities[rows, expected].argmax(axis=1))
    np.testing.assert_allclose(result.entropy, entropy[rows, expected], atol=ATOL)


def test_runner_with_threshold_from_manifest_matches_exit_rule(exported: Exported) -> None:
    images = exported.data.test.images[:64]
    runner = ChainRunner(exported.manifest, exported.out_dir)
    _, entropy = runner.outputs(images)
    result = runner.run(images)
    np.testing.assert_array_equal(result.exit_partition, exit_partitions(entropy, 0.5))


def test_runner_rejects_inputs_of_the_wrong_shape(exported: Exported) -> None:
    runner = ChainRunner(exported.manifest, exported.out_dir)
    with pytest.raises(InputError, match=r"inputs must have shape \(n, 1, 8, 8\), got \(2, 8, 8\)"):
        runner.run(np.zeros((2, 8, 8), dtype=np.float32))


@pytest.mark.parametrize(
    ("entropy", "threshold", "expected"),
    [
        ([[0.2, 0.1, 0.9]], 0.5, [0]),
        ([[0.6, 0.4, 0.9]], 0.5, [1]),
        ([[0.6, 0.7, 0.0]], 0.5, [2]),
        ([[0.5, 0.5, 0.5]], 0.5, [2]),  # strictly below T, as the profiler counts
        ([[0.1]], None, [0]),
    ],
)
def test_exit_partitions_first_below_threshold_else_last(
    entropy: list[list[float]], threshold: float | None, expected: list[int]
) -> None:
    assert exit_partitions(np.array(entropy), threshold).tolist() == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"placement": ("edge",)}, "placement names 1 tiers, but the partition has 3"),
        ({"threshold": None}, "a threshold is needed with more than one partition"),
        ({"threshold": 1.5}, r"`threshold` must be a finite number in \(0, 1\]"),
        ({"threshold": (0.4, 0.0)}, r"threshold\[1\] must be in \(0, 1\], got 0.0"),
        ({"threshold": (0.4,)}, r"one threshold per partition but the last \(2\), got 1"),
        ({"partition": (2, 1, 3)}, "partition must hold increasing 0-based blocks"),
        ({"input_shape": (3, 8, 8)}, r"input shape \[3, 8, 8\] does not fit the network"),
    ],
)
def test_export_bad_arguments_raise_input_error(
    exported: Exported, tmp_path: object, kwargs: dict[str, object], message: str
) -> None:
    arguments: dict[str, object] = {
        "partition": PARTITION,
        "placement": PLACEMENT,
        "threshold": 0.5,
        "destination": "cloud",
        "model": "resnet8",
        "dataset": "digits",
        "input_shape": (1, 8, 8),
        "out_dir": tmp_path,
        **kwargs,
    }
    with pytest.raises(InputError, match=message):
        export_partitions(exported.joint.net, **arguments)  # type: ignore[arg-type]


def test_runner_applies_per_exit_thresholds(exported: Exported) -> None:
    images = exported.data.profile.images[:200]
    _, entropy = torch_exits(exported.joint.net, images)
    # the stem's exit is never confident at this size: T_1 lets none go, T_2 many
    thresholds = (clear_threshold(entropy[:, 0]), clear_threshold(entropy[:, 1], 0.85, 0.95))
    manifest = dataclasses.replace(exported.manifest, thresholds=thresholds)
    assert [manifest.threshold_of(k) for k in range(3)] == [*thresholds, None]
    expected = exit_partitions(entropy, thresholds)
    assert 0 < (expected == 1).sum() < len(images)
    assert not np.array_equal(expected, exit_partitions(entropy, thresholds[0]))
    result = ChainRunner(manifest, exported.out_dir).run(images)
    np.testing.assert_array_equal(result.exit_partition, expected)


@pytest.mark.parametrize(
    ("entropy", "thresholds", "expected"),
    [
        ([[0.3, 0.3, 0.9]], [0.2, 0.4], [1]),
        ([[0.3, 0.3, 0.9]], [0.4, 0.2], [0]),
        ([[0.3, 0.5, 0.9]], [0.2, 0.4], [2]),
    ],
)
def test_exit_partitions_per_exit_thresholds(
    entropy: list[list[float]], thresholds: list[float], expected: list[int]
) -> None:
    assert exit_partitions(np.array(entropy), thresholds).tolist() == expected


def test_exit_partitions_per_exit_thresholds_of_wrong_length() -> None:
    with pytest.raises(InputError, match=r"one threshold per partition but the last \(2\), got 1"):
        exit_partitions(np.zeros((1, 3)), [0.5])
