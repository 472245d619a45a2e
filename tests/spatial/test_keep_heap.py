"""``keep_heap``: a worker process keeps what it frees, so no activation lands on fresh pages.

The kernel zeroes a fresh page on its first touch (a minor page fault), and the thread's CPU
clock, the emulated device's, counts it; how many an image took depended on what the
process had allocated before (``benchmarks/bench_chain_context.py``; docs/spatial.md,
"Session 15").
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from splitexit.spatial import load_model
from splitexit.spatial.execution import ExecutionPool, emulated_cluster

# A chain of the channel-reduced VGG-16 at 112 rows, its page faults counted per image,
# in a fresh interpreter (mallopt changes the whole process, so not this one's).
_SCRIPT = """
import json, resource, sys
import torch
from splitexit.spatial import load_model
from splitexit.spatial.devices._slowdown import keep_heap
from splitexit.spatial.geometry._torch import TorchModel, run_split_part_twice
kept = keep_heap() if sys.argv[1] == "keep" else None
torch.set_num_threads(1)
model = load_model("vgg16", channel_divisor=4, input_size=(112, 112))
net = TorchModel(model, seed=0).eval()
last = model.num_layers - 1
faults = []
with torch.inference_mode():
    image = torch.randn(1, model.c_in, model.h_in, model.w_in)
    for n in range(12):
        before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
        run_split_part_twice(net, 0, last, image, 0, 0, model.layers[-1].h_out - 1)
        if n >= 2:  # the first images allocate what the process keeps
            faults.append(resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before)
print(json.dumps({"kept": kept, "faults": faults}))
"""


def _faults(mode: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_kept_heap_zeroes_no_page_per_image() -> None:
    kept, default = _faults("keep"), _faults("default")
    assert kept["kept"] is True
    kept_faults, default_faults = kept["faults"], default["faults"]
    assert isinstance(kept_faults, list) and isinstance(default_faults, list)
    # glibc's default hands large activations back and maps them afresh: about 1,200
    # zeroed pages per image here; kept, none in most images (an image that first needs
    # more of the heap at once still grows it: 110-200 pages, once)
    assert sum(default_faults) > 100 * len(default_faults)
    assert sorted(kept_faults)[len(kept_faults) // 2] <= 2
    assert 10 * sum(kept_faults) < sum(default_faults)


def test_keep_heap_is_for_worker_processes_alone() -> None:
    model = load_model("vgg16", channel_divisor=8, input_size=(32, 32))
    cluster = emulated_cluster([("a", 2.0, 100e6)])
    assert ExecutionPool(model, cluster, mode="process", keep_heap=True).keep_heap is True
    # threads run in the caller's process: its allocator is not ours to change
    assert ExecutionPool(model, cluster, mode="thread", keep_heap=True).keep_heap is False
    assert ExecutionPool(model, cluster, mode="process").keep_heap is True  # the default
    assert ExecutionPool(model, cluster, mode="process", keep_heap=False).keep_heap is False
