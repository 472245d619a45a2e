"""Check the bundled joint weights end to end: export a plan of the bundled profile from them
and run the ONNX chain on Fashion-MNIST (needs the dataset, `dataset-fashion-mnist`).

On the profiling split the chain must replay the profile's trace: per sample, the same exit
(the joint model's entropies at P's branches against the threshold(s)) and the same
correctness there, so the same accuracy and exit rates as the trace replay of the joint model.
On the held-out test split it prints what the deployment achieves.

Usage: .venv/bin/python tools/check_bundled_export.py [--max-latency 35ms]
           [--per-exit-thresholds] [--samples 2000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from splitexit.export import (
    ChainRunner,
    exit_partitions,
    export_partitions,
    input_shape_from_bits,
    load_joint,
)
from splitexit.planner import plan
from splitexit.profile import DEFAULT_PROFILE, load_profile, load_profile_trace, profile_path
from splitexit.topology import load_topology
from splitexit.training import load_dataset
from splitexit.units import parse_duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topology", default="mobile")
    parser.add_argument("--max-latency", default="35ms")
    parser.add_argument("--per-exit-thresholds", action="store_true")
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    profile = load_profile(DEFAULT_PROFILE)
    trace = load_profile_trace(profile, profile_path(DEFAULT_PROFILE))
    topology = load_topology(args.topology)
    best = plan(
        profile,
        topology,
        max_latency_s=parse_duration(args.max_latency),
        trace=trace,
        per_exit_thresholds=args.per_exit_thresholds,
    ).best
    partition = list(best.config.partition)
    joint = load_joint(
        Path("no-work-dir/joint.pt"),  # absent: the bundled weights are used
        model=profile.model,
        dataset=profile.dataset,
        num_classes=profile.num_classes,
        profile=DEFAULT_PROFILE,
    )
    with tempfile.TemporaryDirectory() as folder:
        manifest = export_partitions(
            joint.net,
            partition=partition,
            placement=[topology.tiers[a].name for a in best.config.placement],
            threshold=best.threshold,
            destination=topology.tiers[topology.destination].name,
            model=profile.model,
            dataset=profile.dataset,
            input_shape=input_shape_from_bits(profile.input_bits, 1),
            out_dir=Path(folder),
        )
        runner = ChainRunner(manifest, Path(folder), threads=1)
        data = load_dataset(profile.dataset)
        n = min(args.samples, len(data.profile))
        shown = [p + 1 for p in partition]
        rule = manifest.thresholds or manifest.threshold
        print(
            f"P={shown} T={rule} weights={joint.path.name}; planner's estimate (separate "
            f"accuracies) {best.accuracy:.4f}, exit rates {np.round(best.estimate.exit_rates, 4)}"
        )
        chain = runner.run(data.profile.images[:n])
        replay = exit_partitions(trace.entropy_joint[:n][:, partition], rule)
        right = trace.correct_joint[:n][:, partition][np.arange(n), replay]
        same_exit = float((chain.exit_partition == replay).mean())
        correct = chain.predictions == data.profile.labels[:n]
        print(
            f"profiling split, first {n}: same exit as the trace for {same_exit:.2%} of "
            f"samples, same correctness for {float((correct == right).mean()):.2%}; accuracy "
            f"chain {correct.mean():.4f}, trace {right.mean():.4f}; exit rates chain "
            f"{_rates(chain.exit_partition, len(partition))}, trace "
            f"{_rates(replay, len(partition))}"
        )
        m = min(args.samples, len(data.test))
        test = runner.run(data.test.images[:m])
        accuracy = float((test.predictions == data.test.labels[:m]).mean())
        print(
            f"test split, first {m}: accuracy {accuracy:.4f}, exit rates "
            f"{_rates(test.exit_partition, len(partition))}"
        )


def _rates(exits: np.ndarray, count: int) -> list[float]:
    return [round(float(r), 4) for r in np.bincount(exits, minlength=count) / len(exits)]


if __name__ == "__main__":
    main()
