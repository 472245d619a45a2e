"""Regenerate the bundled example profile (src/splitexit/profile/data/example_resnet20.json).

The example is SYNTHETIC: sizes are those of a CIFAR-style ResNet-20 cut into N = 10 blocks
(stem + 9 residual blocks, float32 activations); compute times are plausible batch-1 figures
for a desktop GPU; accuracies and exit rates come from a simulated cascade, not from training.
It exists so that `splitexit plan` runs before any model has been profiled.

Usage: python tools/make_example_profile.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from splitexit.profile import Profile, exit_rates_from_entropy, save_profile

OUT = Path(__file__).resolve().parents[1] / "src/splitexit/profile/data/example_resnet20.json"


def main() -> None:
    rng = np.random.default_rng(20)
    n = 10
    channels = [16, 16, 16, 16, 32, 32, 32, 64, 64, 64]
    side = [32, 32, 32, 32, 16, 16, 16, 8, 8, 8]
    output_bits = np.array([c * s * s * 32 for c, s in zip(channels, side, strict=True)], float)
    block_compute = np.array([0.09, 0.16, 0.16, 0.16, 0.19, 0.17, 0.17, 0.2, 0.18, 0.18]) * 1e-2
    branch_compute = np.array([0.07, 0.07, 0.07, 0.07, 0.06, 0.06, 0.06, 0.05, 0.05, 0.05]) * 1e-2
    accuracy = np.array([0.412, 0.538, 0.604, 0.659, 0.752, 0.797, 0.833, 0.884, 0.903, 0.917])
    joint = accuracy - np.array([0.06, 0.07, 0.06, 0.05, 0.05, 0.04, 0.03, 0.02, 0.015, 0.012])
    thresholds = np.arange(1, 21) / 20
    samples = 10_000
    difficulty = rng.beta(1.6, 2.2, size=(samples, 1))
    depth = np.arange(1, n + 1) / n
    entropy = np.clip(difficulty * (1.25 - depth) * 1.3 + rng.normal(0, 0.06, (samples, n)), 0, 1)
    profile = Profile(
        model="resnet20 (SYNTHETIC example, not measured)",
        dataset="cifar10-like (synthetic)",
        num_classes=10,
        input_bits=3 * 32 * 32 * 8.0,  # an 8-bit RGB image, as a camera sends it
        result_bits=10 * 32.0,
        thresholds=thresholds,
        block_names=("stem", *[f"res{s}.{b}" for s in (1, 2, 3) for b in (1, 2, 3)]),
        output_bits=output_bits,
        block_compute_s=block_compute,
        branch_compute_s=branch_compute,
        accuracy=accuracy,
        accuracy_joint=joint,
        exit_rates=exit_rates_from_entropy(entropy, thresholds),
        reference_device="desktop GPU (assumed)",
        notes=(
            "SYNTHETIC example shipped with splitexit so that the planner runs out of the box. "
            "Sizes follow a CIFAR ResNet-20 (8-bit RGB input, float32 activations); compute "
            "times, accuracies and exit rates are made up (tools/make_example_profile.py). "
            "Profile a real model before trusting any recommendation."
        ),
    )
    save_profile(profile, OUT)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
