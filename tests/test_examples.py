"""The four cases of seed 000 on the bundled profile (examples/four_cases.py, docs/cases.md)."""

from __future__ import annotations

import importlib.util
import itertools
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest
import torch


def _module() -> ModuleType:
    path = Path(__file__).resolve().parents[1] / "examples" / "four_cases.py"
    spec = importlib.util.spec_from_file_location("four_cases", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_four_cases_reproduce_the_papers_qualitative_findings() -> None:
    rows = {(r["case"], r["estimator"]): r for r in _module().run()}
    # I: trimming, a partial DNN on one tier is optimal
    trimmed = rows[("I trimming", "paper")]
    assert len(trimmed["partition"]) == 1 and trimmed["partition"][0] < 10
    # II: a binding cap calls for early exits over several tiers
    assert len(rows[("II cap 35 ms", "paper")]["partition"]) >= 2
    assert rows[("II cap 35 ms", "trace")]["latency_s"] <= 0.035
    # III: a non-consecutive placement (a later partition on an earlier tier)
    tiers = rows[("III cap 80 ms", "trace")]["placement_tiers"]
    assert any(b < a for a, b in itertools.pairwise(tiers))
    # IV: the destination changes the placement of the same partitioning
    near, far = rows[("IV dest. tier 1", "trace")], rows[("IV dest. tier 4", "trace")]
    assert near["partition"] == far["partition"] and near["placement"] != far["placement"]


def _count_macs(
    macs: list[int], k: int, conv: torch.nn.Conv2d, _: object, out: torch.Tensor
) -> None:
    macs[k] += conv.weight.numel() * out.shape[-1] * out.shape[-2]


def test_seed004_subject_has_a_third_of_its_compute_before_the_first_exit() -> None:
    """examples/seed004_subject.py (docs/fidelity.md, "Session 12"): 7 blocks on 84 x 84
    inputs, every exit gives logits, and the first block holds about a third of the
    multiply-accumulates, so that no configuration is only messages."""
    from torch import nn

    from splitexit.experiment import load_experiment
    from splitexit.nets import build_network

    root = Path(__file__).resolve().parents[1]
    model = f"{root / 'examples' / 'seed004_subject.py'}:wide_resnet20_coarse"
    net = build_network(model, in_channels=1, num_classes=10, image_size=(84, 84)).eval()
    assert net.num_blocks == 7
    macs = [0] * net.num_blocks  # multiply-accumulates of each block's convolutions
    for k, block in enumerate(net.blocks):
        for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
            conv.register_forward_hook(partial(_count_macs, macs, k))
    with torch.inference_mode():
        outputs = net(torch.zeros(2, 1, 84, 84))
    assert [tuple(o.shape) for o in outputs] == [(2, 10)] * 7
    assert 0.28 < macs[0] / sum(macs) < 0.4
    assert all(0.08 < m / sum(macs) < 0.13 for m in macs[1:])
    experiment = load_experiment(root / "examples" / "fidelity-seed004-wide-netns-20.yaml")
    assert experiment.topology == "seed004" and experiment.measure.network == "netns"
    assert (experiment.measure.configurations, experiment.measure.samples) == (20, 500)
