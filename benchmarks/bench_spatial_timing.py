"""What each way of timing one layer of a split-part reads, on the same layer and rows.

``distredge measure`` charges an executing device its layers' CPU seconds as
``run_split_part_twice`` reads them (the clock around the layer's second computation alone).
Until session 13 its chained profile timed the same layer through ``timed(run_split_part)``,
whose window also held ``run_split_part``'s bookkeeping and whatever ``timed`` leaves
behind. This script times random one-layer parts of the channel-reduced VGG-16 (a share of
5-50% of a layer's height, rows from the top, after one untimed computation) four ways, one
after another for each part:

- ``timed``: ``timed(partial(run_split_part, ...))`` (the profile until session 13);
- ``clock around run_split_part``: the thread clock read around ``run_split_part`` directly;
- ``clock around the layer``: the thread clock around ``_layer_rows`` alone;
- ``run_split_part_twice``: the executing worker's own timing (the profile since session 13).

It prints each one's median CPU microseconds and its median ratio to ``timed`` over the same
parts. One torch thread. Run:
``PYTHONPATH=src .venv/bin/python benchmarks/bench_spatial_timing.py [--parts 3000]``.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import numpy as np
import torch

from splitexit.spatial import load_model
from splitexit.spatial.devices._slowdown import no_gc, timed
from splitexit.spatial.geometry import _torch
from splitexit.spatial.geometry._geometry import layer_input_rows

SLOWDOWN = 8.0  # any slowdown above 1 makes timed() read the thread's CPU clock
WAYS = ("timed", "clock around run_split_part", "clock around the layer", "run_split_part_twice")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = load_model("vgg16", channel_divisor=4, input_size=(112, 112))
    net = _torch.TorchModel(model, seed=0).eval()
    clock = time.thread_time
    rng = np.random.default_rng(args.seed)
    seconds: dict[str, list[float]] = {way: [] for way in WAYS}
    with torch.inference_mode():
        maps = [torch.randn(1, model.c_in, model.h_in, model.w_in)]
        for index, layer in enumerate(model.layers):
            maps.append(_torch.run_split_part(net, index, index, maps[-1], 0, 0, layer.h_out - 1))
        for _ in range(args.parts):
            index = int(rng.integers(0, model.num_layers - 1))
            layer = model.layers[index]
            h = max(1, int(layer.h_out * rng.uniform(0.05, 0.5)))
            lo, _hi = (int(r[0]) for r in layer_input_rows(layer, np.array([0]), np.array([h - 1])))
            rows = maps[index][:, :, lo : _hi + 1].clone()
            part = functools.partial(_torch.run_split_part, net, index, index, rows, lo, 0, h - 1)
            modules = net.modules_of(index)
            part()
            seconds["timed"].append(timed(part, SLOWDOWN)[1] / SLOWDOWN)
            part()
            with no_gc():
                started = clock()
                part()
                seconds["clock around run_split_part"].append(clock() - started)
            with no_gc():
                _torch._layer_rows(layer, modules, rows, lo, 0, h - 1)
                started = clock()
                _torch._layer_rows(layer, modules, rows, lo, 0, h - 1)
                seconds["clock around the layer"].append(clock() - started)
            with no_gc():
                _, spent = _torch.run_split_part_twice(net, index, index, rows, lo, 0, h - 1, clock)
            seconds["run_split_part_twice"].append(spent[0])
    print(f"{args.parts} one-layer parts of vgg16-c4-112x112, one torch thread")
    print("way                          median us  median ratio to timed")
    for way in WAYS:
        ratio = statistics.median(
            t / r for t, r in zip(seconds[way], seconds["timed"], strict=True)
        )
        print(f"{way:28s} {statistics.median(seconds[way]) * 1e6:9.1f}  {ratio:.3f}")


if __name__ == "__main__":
    main()
