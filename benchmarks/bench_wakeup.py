"""The CPU time of a layer right after the worker slept, with and without a warm-up.

Issue 17's diagnosis of `distredge measure` (docs/spatial.md, "Session 11"): an emulated
device is charged ``slowdown`` times the CPU seconds its thread spends on a split-part. On
this shared machine the first layer a thread computes after sleeping costs more CPU time the
longer it slept (other processes ran on the core meanwhile), whereas a real device that
waits for its rows stays as it was. This script times, in one process and one torch thread,
layers of the channel-reduced VGG-16 at small heights: back to back (*chained*), and right
after sleeping 2, 10 or 50 ms, each without warm-up and after warming up for ``--warm-ms``
of CPU time (``warm_split_part``: one output row of the layer, repeated). Every setting is
interleaved with the others, ``--rounds`` times; medians, as ratios to the chained time
of the same warm-up setting.

Usage: .venv/bin/python benchmarks/bench_wakeup.py [--rounds 20] [--warm-ms 0.5] [--json F]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from splitexit.spatial import load_model
from splitexit.spatial.geometry._geometry import layer_input_rows
from splitexit.spatial.geometry._torch import TorchModel, run_split_part, warm_split_part

CASES = ((0, 20), (1, 20), (4, 8), (7, 6), (10, 4), (13, 2), (16, 2))  # (layer, height)
SLEEPS_S = (0.0, 0.002, 0.01, 0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warm-ms", type=float, default=0.5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = load_model("vgg16", channel_divisor=4, input_size=(112, 112))
    net = TorchModel(spec, seed=0).eval()
    warms = (0.0, args.warm_ms * 1e-3)
    samples: dict[tuple[float, float, int], list[float]] = {}
    with torch.inference_mode():
        maps = [torch.randn(1, spec.c_in, spec.h_in, spec.w_in)]
        for index, layer in enumerate(spec.layers):
            maps.append(run_split_part(net, index, index, maps[-1], 0, 0, layer.h_out - 1))
        load_start = Path("/proc/loadavg").read_text().split()[:3]
        for _ in range(args.rounds):
            for sleep_s in SLEEPS_S:
                for warm_s in warms:
                    for index, h in CASES:
                        lo_arr, hi_arr = layer_input_rows(
                            spec.layers[index], np.array([0]), np.array([h - 1])
                        )
                        lo, hi = int(lo_arr[0]), int(hi_arr[0])
                        piece = maps[index][:, :, lo : hi + 1].clone()
                        if sleep_s:
                            time.sleep(sleep_s)
                        if warm_s:
                            warm_split_part(net, index, index, piece, lo, 0, h - 1, warm_s)
                        cpu = time.thread_time()
                        run_split_part(net, index, index, piece, lo, 0, h - 1)
                        samples.setdefault((sleep_s, warm_s, index), []).append(
                            time.thread_time() - cpu
                        )
    rows = []
    for warm_s in warms:
        for index, h in CASES:
            chained = statistics.median(samples[(0.0, warm_s, index)])
            after = {
                f"{s * 1e3:g}ms": statistics.median(samples[(s, warm_s, index)]) / chained - 1
                for s in SLEEPS_S[1:]
            }
            rows.append(
                {
                    "warm_ms": warm_s * 1e3,
                    "layer": spec.layers[index].name,
                    "height": h,
                    "chained_us": chained * 1e6,
                    "after_sleep": after,
                }
            )
    load_end = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average {' '.join(load_start)} at the start, {' '.join(load_end)} at the end")
    print("| warm-up | layer | height | chained us | after 2 ms | after 10 ms | after 50 ms |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cells = " | ".join(f"{100 * v:+.0f}%" for v in row["after_sleep"].values())
        print(
            f"| {row['warm_ms']:g} ms | {row['layer']} | {row['height']} | "
            f"{row['chained_us']:.0f} | {cells} |"
        )
    for warm_s in warms:
        mine = [r for r in rows if r["warm_ms"] == warm_s * 1e3]
        means = [statistics.mean(r["after_sleep"][k] for r in mine) for k in mine[0]["after_sleep"]]
        print(
            f"warm-up {warm_s * 1e3:g} ms, mean over layers: "
            + ", ".join(f"{100 * m:+.0f}%" for m in means)
        )
    if args.json is not None:
        args.json.write_text(
            json.dumps({"rows": rows, "loadavg": [load_start, load_end]}, indent=1) + "\n"
        )


if __name__ == "__main__":
    main()
