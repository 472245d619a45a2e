"""How well a profile's ONNX Runtime times add up to the partitions a worker runs.

Issue 15: the profile's CK_1 + CB_1 was 1.7x the time the smartwatch's worker measured for the
partition of block 1, and R = 500 multiplied it. For every contiguous partition a..b of a
profile's network, this script times the graph a worker would deploy (blocks a..b and exit b,
exported by export's code, as the last partition and, for b < N, as one that forwards its
activation) and compares it with two sums of per-block times, all in one process and in the
same rounds:

- ``before``: each block and each exit head exported as its own graph (the method before
  session 11), CK_a + ... + CK_b + CB_b;
- ``now``: ``profiling.onnx_times`` (single-block partitions and heads; the per-call cost
  charged once per partition, in CB).

Every graph is timed the same way (``export.ort_session``, ``export.call_time``: the median
of ``--runs`` batch-1 calls on float32 zeros after ``--runs // 10`` warm-up calls, 1 thread);
the figures are medians over ``--rounds`` rounds. Usage:

    .venv/bin/python benchmarks/bench_profile_timing.py --profile runs/user-npz.json \\
        --cache "$SPLITEXIT_CACHE" [--runs 300] [--rounds 3] [--out runs/bench_profile_timing.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np


def _timer(runs: int) -> Any:
    from splitexit.export import call_time, ort_session

    def timed(data: bytes, shape: tuple[int, ...]) -> float:
        session = ort_session(data, 1)
        zeros = {"input": np.zeros((1, *shape), dtype=np.float32)}
        return call_time(session, zeros, runs=runs, warmup=max(1, runs // 10))

    return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("runs/bench_profile_timing.json"))
    args = parser.parse_args()

    import torch

    from splitexit.export import load_profile_joint
    from splitexit.export._export import _onnx_bytes
    from splitexit.export._manifest import expected_outputs
    from splitexit.export._pieces import PartitionPiece
    from splitexit.profile import load_profile
    from splitexit.profiling import RetimeSettings
    from splitexit.profiling._retime import onnx_times
    from splitexit.training import profile_run_dir

    torch.set_num_threads(1)
    profile = load_profile(args.profile)
    folder = profile_run_dir(profile, args.cache)
    if folder is None:
        raise SystemExit(f"{args.profile}: records no cache key; no checkpoint folder")
    net = load_profile_joint(profile, str(args.profile), folder).net.eval()
    n = net.num_blocks
    channels = int(next(net.parameters()).shape[1])
    side = round((profile.input_bits / 8 / channels) ** 0.5)
    x = torch.zeros((2, channels, side, side))
    inputs = [x]  # the input of block k (batch 2, for the exporter)
    with torch.no_grad():
        for block in net.blocks:
            inputs.append(block(inputs[-1]))
    blocks_alone = [
        _onnx_bytes(torch.nn.Sequential(net.blocks[k]).eval(), inputs[k], ["activation"])
        for k in range(n)
    ]
    heads_alone = [
        _onnx_bytes(
            PartitionPiece([], net.heads[k], last=True), inputs[k + 1], expected_outputs(True)
        )
        for k in range(n)
    ]
    partitions: dict[str, bytes] = {}
    for a in range(n):
        for b in range(a, n):
            for last in (True, False) if b < n - 1 else (True,):
                piece = PartitionPiece(list(net.blocks)[a : b + 1], net.heads[b], last=last)
                key = f"{a + 1}..{b + 1} {'last' if last else 'forward'}"
                partitions[key] = _onnx_bytes(piece, inputs[a], expected_outputs(last))
    timed = _timer(args.runs)
    shape = [tuple(t.shape[1:]) for t in inputs]
    rounds: list[dict[str, Any]] = []
    for r in range(args.rounds):
        load = Path("/proc/loadavg").read_text().split()[0]
        ck_now, cb_now = onnx_times(
            net, inputs[0][:1], RetimeSettings(runs=args.runs, warmup=max(1, args.runs // 10))
        )
        ck_old = [timed(blocks_alone[k], shape[k]) for k in range(n)]
        cb_old = [timed(heads_alone[k], shape[k + 1]) for k in range(n)]
        measured = {}
        for key, data in partitions.items():
            a = int(key.split("..")[0]) - 1
            measured[key] = timed(data, shape[a])
        rounds.append(
            {
                "load": load,
                "measured": measured,
                "before": {"ck": ck_old, "cb": cb_old},
                "now": {"ck": ck_now.tolist(), "cb": cb_now.tolist()},
            }
        )
        print(f"round {r + 1}/{args.rounds} done (load {load})", flush=True)
    rows = []
    for key in partitions:
        a, b = (int(v) - 1 for v in key.split()[0].split(".."))
        measured = float(np.median([rd["measured"][key] for rd in rounds]))
        row: dict[str, Any] = {"partition": key, "measured_us": measured * 1e6}
        for method in ("before", "now"):
            sums = [sum(rd[method]["ck"][a : b + 1]) + rd[method]["cb"][b] for rd in rounds]
            predicted = float(np.median(sums))
            row[f"{method}_us"] = predicted * 1e6
            row[f"{method}_ratio"] = predicted / measured
        rows.append(row)
    print("| partition | measured (µs) | before: sum (µs), ratio | now: sum (µs), ratio |")
    print("|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['partition']} | {row['measured_us']:.1f} | {row['before_us']:.1f}, "
            f"{row['before_ratio']:.2f} | {row['now_us']:.1f}, {row['now_ratio']:.2f} |"
        )
    summary = {}
    for method in ("before", "now"):
        errors = np.array([abs(row[f"{method}_ratio"] - 1) for row in rows])
        singles = [abs(r[f"{method}_ratio"] - 1) for r in rows if r["partition"].split(".")[0]
                   == r["partition"].split()[0].split("..")[1]]  # fmt: skip
        summary[method] = {
            "mean_abs_error": float(errors.mean()),
            "max_abs_error": float(errors.max()),
            "single_block_mean_abs_error": float(np.mean(singles)),
        }
        print(
            f"{method}: mean |error| {100 * errors.mean():.1f} %, max {100 * errors.max():.1f} "
            f"%, single-block partitions {100 * np.mean(singles):.1f} %"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"rows": rows, "summary": summary, "rounds": rounds}, indent=1) + "\n"
    )
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}; wrote {args.out}")


if __name__ == "__main__":
    main()
