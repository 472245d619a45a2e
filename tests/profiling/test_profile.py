from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from splitexit import InputError, load_profile
from splitexit.nets import build_network
from splitexit.profile import Profile, Trace, exit_rates_from_entropy, load_profile_trace
from splitexit.profiling import (
    ProfileSettings,
    normalized_entropy,
    tensor_bits,
    time_blocks,
    write_profile,
)


@pytest.mark.slow
def test_profile_model_fills_every_field_from_measurements(
    tiny_profile: tuple[Profile, Trace, Path],
) -> None:
    profile, trace, _ = tiny_profile
    n = 4
    assert profile.num_blocks == n and profile.model == "resnet8" and profile.dataset == "digits"
    assert profile.thresholds.tolist() == pytest.approx([k / 20 for k in range(1, 21)])
    # CK_k is block k's partition less its head alone (ONNX Runtime's per-call cost sits in
    # CB_k): a block cheaper than the timing noise (ResNet-8's stem on 8 x 8 digits, a few
    # microseconds) can come out 0, never negative; the blocks together cost measurable time
    assert (profile.block_compute_s >= 0).all() and profile.block_compute_s.sum() > 0
    assert (profile.branch_compute_s > 0).all()
    # accuracies are what the trace says, per branch: separate for acc_i, joint for the other
    assert profile.accuracy.tolist() == pytest.approx(trace.correct_separate.mean(0).tolist())
    assert profile.accuracy_joint is not None
    assert profile.accuracy_joint.tolist() == pytest.approx(trace.correct_joint.mean(0).tolist())
    assert profile.accuracy[-1] > 0.9 and profile.accuracy_joint[-1] > 0.9
    # alpha_i(T) replays the joint model's entropies: first branch below T, else branch N
    replay = exit_rates_from_entropy(trace.entropy_joint.astype(np.float64), profile.thresholds)
    assert np.array_equal(profile.exit_rates, replay)
    assert trace.num_samples == 359 and trace.split == "profile"


@pytest.mark.slow
def test_profile_model_sizes_come_from_real_tensors(
    tiny_profile: tuple[Profile, Trace, Path],
) -> None:
    profile, _, _ = tiny_profile
    # ResNet-8 at half width on 8x8 digits: 8, 8, 16, 32 channels at 8x8, 8x8, 4x4, 2x2
    assert profile.output_bits.tolist() == [8 * 64 * 32, 8 * 64 * 32, 16 * 16 * 32, 32 * 4 * 32]
    assert profile.input_bits == 64 * 8 and profile.result_bits == 10 * 32


@pytest.mark.slow
def test_profile_model_again_reuses_the_checkpoints(
    tiny_profile: tuple[Profile, Trace, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from splitexit.profiling import profile_model
    from splitexit.training import _train

    profile, trace, work_dir = tiny_profile
    monkeypatch.setattr(_train, "save_checkpoint", pytest.fail)  # nothing may be trained
    again, again_trace = profile_model(ProfileSettings(**{**_settings(work_dir)}))
    assert np.array_equal(again.accuracy, profile.accuracy)
    assert np.array_equal(again_trace.entropy_joint, trace.entropy_joint)


def _settings(work_dir: Path) -> dict[str, object]:
    from tests.profiling.conftest import tiny_settings

    return dict(tiny_settings(work_dir).__dict__)


@pytest.mark.slow
def test_write_profile_puts_the_trace_beside_and_names_it(
    tiny_profile: tuple[Profile, Trace, Path], tmp_path: Path
) -> None:
    profile, trace, _ = tiny_profile
    out = tmp_path / "deep" / "tiny.json"
    trace_path = write_profile(profile, trace, out)
    assert trace_path == tmp_path / "deep" / "tiny.trace.npz"
    assert json.loads(out.read_text())["trace"] == "tiny.trace.npz"
    loaded = load_profile(out)
    again = load_profile_trace(loaded, out)
    assert np.array_equal(again.entropy_separate, trace.entropy_separate)
    assert np.array_equal(again.correct_joint, trace.correct_joint)


def test_normalized_entropy_bounds() -> None:
    logits = np.array([[0.0, 0.0, 0.0, 0.0], [100.0, 0.0, 0.0, 0.0], [2.0, 1.0, 0.0, -1.0]])
    entropy = normalized_entropy(logits)
    assert entropy[0] == pytest.approx(1.0) and entropy[1] == pytest.approx(0.0, abs=1e-6)
    p = np.exp([2.0, 1.0, 0.0, -1.0]) / np.exp([2.0, 1.0, 0.0, -1.0]).sum()
    assert entropy[2] == pytest.approx(-(p * np.log(p)).sum() / np.log(4), rel=1e-6)


def test_time_blocks_and_tensor_bits_on_an_untrained_net() -> None:
    net = build_network("resnet20", in_channels=1, num_classes=10, width=0.25)
    images = np.zeros((3, 1, 28, 28), dtype=np.float32)
    block_s, branch_s = time_blocks(net, images, warmup=1, percentile=99.0)
    assert block_s.shape == branch_s.shape == (10,)
    assert (block_s > 0).all() and (branch_s > 0).all()
    sizes, result = tensor_bits(net, images[0])
    assert sizes[0] == 4 * 28 * 28 * 32 and sizes[-1] == 16 * 7 * 7 * 32 and result == 320
    with pytest.raises(InputError, match="full configuration"):
        time_blocks(build_network("resnet8", in_channels=1, num_classes=10, exits=[1]), images,
                    warmup=0, percentile=99.0)  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"percentile": 0.0}, "percentile must be in (0, 100], got 0.0"),
        ({"num_thresholds": 0}, "thresholds must be >= 1, got 0"),
        ({"timing_samples": 0}, "timing samples must be >= 1"),
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda[:n]', got 'tpu'"),
    ],
)
def test_profile_settings_bad_values(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as info:
        ProfileSettings(model="resnet8", dataset="digits", work_dir=Path("x"), **changes)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_profile_settings_cuda_without_a_gpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(InputError, match="sees no CUDA device on this machine"):
        ProfileSettings(model="resnet8", dataset="digits", work_dir=Path("x"), device="cuda")
