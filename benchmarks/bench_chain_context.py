"""Does a layer cost the same inside a long executed chain as in the profile's chained pass?

Issue 17, session 15: over sets 5 and 6 of ``distredge measure --probe``, Offload (one part
of all 18 layers at full height) ran faster than simulated in 8 of 8 cases and DeepThings
(a fused first volume) in 7 of 8, with *compute vs table* down to -12%: the executed parts
cost less than the chained table's entries for the same layers. The chained profile times
every layer as its own one-layer part, from a fresh copy of its input rows, in a pass where
the other layers run at other shares of their heights (shuffled passes); an executed chain
hands each layer the previous layer's output. This script times the same layers of the
channel-reduced VGG-16 three ways, one after another in every round (order rotated), all
with the *twice* timing (``run_split_part_twice``: each layer computed twice, the second
timed) on this thread's CPU clock, one torch thread, no sleeps, no other worker:

- ``chain``: the whole model as one part at full height (an executing Offload worker);
- ``pass, full``: one pass, every layer its own one-layer part at full height from a fresh
  copy of its input rows (the profile's chained pass at share 1);
- ``pass, mixed``: one pass with every layer at a random share of its height but one layer,
  chosen at random, at full height, which alone is kept (a shuffled pass of the profile).

It prints each layer's median CPU microseconds under each, the ratios to ``chain``, the
whole part's sum, and the minor page faults (fresh pages the kernel zeroed, counted in the
thread's CPU time) per round of each way. A ratio near 1 rules the chain's context out as
the cause of the bias; a ratio above 1 says the profile's pass charges a layer more than an
executed chain pays. ``--keep-heap`` first makes this process keep what it frees
(``keep_heap``, as a ``distredge measure --keep-heap`` worker does). Run (nothing else of
this project running):
``PYTHONPATH=src .venv/bin/python benchmarks/bench_chain_context.py [--rounds 400] [--keep-heap]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from splitexit.spatial import load_model
from splitexit.spatial.devices._slowdown import keep_heap
from splitexit.spatial.geometry._geometry import layer_input_rows
from splitexit.spatial.geometry._torch import TorchModel, run_split_part, run_split_part_twice


def _one_layer(net: TorchModel, index: int, full_input: torch.Tensor, height: int) -> float:
    """Layer ``index``'s CPU seconds for output rows ``0..height-1``, from a fresh copy of
    exactly its input rows (as the chained profile times it)."""
    layer = net.spec.layers[index]
    lo, hi = (int(r[0]) for r in layer_input_rows(layer, np.array([0]), np.array([height - 1])))
    piece = full_input[:, :, lo : hi + 1].clone()
    _, seconds = run_split_part_twice(net, index, index, piece, lo, 0, height - 1)
    return seconds[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--channel-divisor", type=int, default=4)
    parser.add_argument("--input-size", type=int, default=112)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-heap", action="store_true")
    args = parser.parse_args()
    if args.keep_heap and not keep_heap():
        raise SystemExit("--keep-heap: no glibc mallopt here")
    torch.set_num_threads(1)
    model = load_model(
        "vgg16", channel_divisor=args.channel_divisor, input_size=(args.input_size,) * 2
    )
    net = TorchModel(model, seed=args.seed).eval()
    layers = model.layers
    rng = np.random.default_rng(args.seed)
    with torch.inference_mode():
        image = torch.randn(1, model.c_in, model.h_in, model.w_in)
        inputs = [image]
        for index, layer in enumerate(layers):
            inputs.append(run_split_part(net, index, index, inputs[-1], 0, 0, layer.h_out - 1))
        samples: dict[str, list[list[float]]] = {
            name: [[] for _ in layers] for name in ("chain", "pass, full", "pass, mixed")
        }

        def chain() -> None:
            last = len(layers) - 1
            _, seconds = run_split_part_twice(net, 0, last, image, 0, 0, layers[-1].h_out - 1)
            for index, s in enumerate(seconds):
                samples["chain"][index].append(s)

        def pass_full() -> None:
            for index, layer in enumerate(layers):
                samples["pass, full"][index].append(
                    _one_layer(net, index, inputs[index], layer.h_out)
                )

        def pass_mixed() -> None:
            kept = int(rng.integers(len(layers)))
            share = float(rng.uniform(0.02, 1.0))
            for index, layer in enumerate(layers):
                height = layer.h_out if index == kept else max(1, round(share * layer.h_out))
                seconds = _one_layer(net, index, inputs[index], height)
                if index == kept:
                    samples["pass, mixed"][index].append(seconds)

        ways: list[Callable[[], None]] = [chain, pass_full, pass_mixed]
        faults: list[list[int]] = [[] for _ in ways]
        started = time.perf_counter()
        for r in range(args.rounds):
            for k in range(len(ways)):
                way = (r + k) % len(ways)
                before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
                ways[way]()
                faults[way].append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
    took = time.perf_counter() - started
    print(f"{args.rounds} rounds in {took:.0f} s, keep_heap {args.keep_heap}")
    print(
        "minor page faults per round (median): "
        + ", ".join(f"{n} {statistics.median(f):.0f}" for n, f in zip(samples, faults, strict=True))
    )
    print("CPU us per layer at full height (median)")
    print(
        f"{'layer':>16} {'chain':>9} {'pass,full':>10} {'ratio':>6}"
        f" {'pass,mixed':>11} {'ratio':>6} {'n':>4}"
    )
    totals = dict.fromkeys(samples, 0.0)
    for index, layer in enumerate(layers):
        med = {
            n: statistics.median(s[index]) if s[index] else float("nan") for n, s in samples.items()
        }
        for n in totals:
            totals[n] += med[n]
        c = med["chain"]
        print(
            f"{index:>3} {layer.name[:6]:>6} {layer.h_out:>4} {c * 1e6:9.0f}"
            f" {med['pass, full'] * 1e6:10.0f}"
            f" {med['pass, full'] / c:6.3f} {med['pass, mixed'] * 1e6:11.0f}"
            f" {med['pass, mixed'] / c:6.3f} {len(samples['pass, mixed'][index]):4d}"
        )
    c = totals["chain"]
    print(
        f"{'sum':>16} {c * 1e6:9.0f} {totals['pass, full'] * 1e6:10.0f}"
        f" {totals['pass, full'] / c:6.3f} {totals['pass, mixed'] * 1e6:11.0f}"
        f" {totals['pass, mixed'] / c:6.3f}"
    )


if __name__ == "__main__":
    main()
