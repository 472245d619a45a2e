"""How much the CPU time of one fixed piece of work drifts on this machine, minute by minute.

``distredge measure`` charges an emulated device ``slowdown`` times the CPU seconds its
thread spends on its rows. That removes the waits for the other processes on this machine,
not a change of the host's own speed: a neighbour on the same physical core, a shared cache
or memory bandwidth makes the same work take more CPU time, and ``/proc/loadavg`` inside this
virtual machine does not see it. This script computes one fixed layer of the channel-reduced
VGG-16 (the rows a provider of emu4 computes: ``--rows`` of conv3_1), twice in a row with the
second timed (the *twice* timing), every ``--every-ms`` for ``--seconds``, and prints the
median CPU time of every window of ``--window-s`` seconds, their range over the run, and how
much two windows ``--lag-s`` apart differ (the gap between a profile round and the block of
images after it). With ``--probe LAYER:ROWS`` a second fixed piece of work (another layer) is
timed the same way right before each run, and the same figures are printed for the run's
CPU time over the probe's: whether a probe taken just before a part would track the host's
speed for it. One torch thread.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_host_drift.py [--seconds 120]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from splitexit.spatial import load_model
from splitexit.spatial.geometry import _torch
from splitexit.spatial.geometry._geometry import layer_input_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--every-ms", type=float, default=20.0)
    parser.add_argument("--window-s", type=float, default=10.0)
    parser.add_argument("--lag-s", type=float, default=30.0)
    parser.add_argument("--layer", default="conv3_1")
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--probe", default=None, help="LAYER:ROWS timed before each run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model("vgg16", channel_divisor=4, input_size=(112, 112))
    net = _torch.TorchModel(model, seed=0).eval()
    work = _work(model, net, args.layer, args.rows)
    probe = None
    if args.probe is not None:
        name, rows = args.probe.split(":")
        probe = _work(model, net, name, int(rows))
    with torch.inference_mode():
        samples: list[tuple[float, float]] = []  # (wall clock since start, CPU seconds)
        ratios: list[tuple[float, float]] = []  # (wall clock, run over probe)
        start = time.perf_counter()
        while (now := time.perf_counter() - start) < args.seconds:
            probed = probe() if probe is not None else float("nan")
            spent = work()
            samples.append((now, spent))
            ratios.append((now, spent / probed))
            time.sleep(args.every_ms / 1e3)
    _report(f"{args.layer}, {args.rows} rows", samples, args)
    if probe is not None:
        _report(f"{args.layer} over the probe {args.probe}", ratios, args)


def _work(model, net, name: str, rows: int):  # type: ignore[no-untyped-def]
    """One layer's first ``rows`` output rows, computed twice, the second timed (CPU s)."""
    index = next(i for i, layer in enumerate(model.layers) if layer.name == name)
    layer = model.layers[index]
    rows = min(rows, layer.h_out)
    lo, hi = (int(r[0]) for r in layer_input_rows(layer, np.array([0]), np.array([rows - 1])))
    x = torch.randn(1, layer.c_in, hi - lo + 1, layer.w_in)

    def run() -> float:
        _out, spent = _torch.run_split_part_twice(net, index, index, x, lo, 0, rows - 1)
        return spent[0]

    return run


def _report(title: str, samples: list[tuple[float, float]], args: argparse.Namespace) -> None:
    windows: list[float] = []
    edge = 0.0
    while edge < args.seconds:
        inside = [c for t, c in samples if edge <= t < edge + args.window_s]
        if inside:
            windows.append(statistics.median(inside))
        edge += args.window_s
    overall = statistics.median(c for _, c in samples)
    print(f"{title}: {len(samples)} runs over {args.seconds:.0f} s, median {overall:.4g}")
    print("window medians, over the median: " + ", ".join(f"{w / overall:.3f}" for w in windows))
    low, high = min(windows), max(windows)
    print(f"range of the window medians: {low / overall:.3f} to {high / overall:.3f} of the "
          f"median ({high / low:.2f}x)")  # fmt: skip
    lag = max(1, round(args.lag_s / args.window_s))
    moves = [abs(b / a - 1) for a, b in zip(windows, windows[lag:], strict=False)]
    if moves:
        print(f"two windows {lag * args.window_s:.0f} s apart differ by a median of "
              f"{100 * statistics.median(moves):.1f}%, at most {100 * max(moves):.1f}%; "
              f"{sum(m > 0.10 for m in moves)} of {len(moves)} by more than 10%")  # fmt: skip


if __name__ == "__main__":
    main()
