"""The tail per path: a spread every sample has plus one per link crossed (fidelity._spread)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import expon, norm

from splitexit.errors import InputError
from splitexit.fidelity import compare, fit_overheads
from splitexit.fidelity._predict import SamplePrediction
from splitexit.fidelity._spread import LEVELS, fit_path_spread, levels
from splitexit.topology import Topology, load_topology
from tests.fidelity.helpers import Overheads
from tests.fidelity.test_calibrate import cases

BASE_S, PER_LINK_S = 4e-4, 1.2e-3  # scales of the compute-only and per-link parts


def _truth() -> tuple[np.ndarray, np.ndarray]:
    q = levels() / 100
    base, per_link = BASE_S * norm.ppf(q), PER_LINK_S * expon.ppf(q)
    return base - base.mean(), per_link - per_link.mean()


def _files(count: int, rows: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Residuals drawn comonotone from base + h x per_link, h the links of each sample;
    every file its own offset (a mean-model error, which is no spread)."""
    rng = np.random.default_rng(seed)
    residuals, links = [], []
    for f in range(count):
        if f % 2:  # a mix of paths in one file, as a configuration with two exits
            h = rng.choice([0, 2, 4], size=rows, p=[0.4, 0.3, 0.3])
        else:
            h = np.full(rows, (0, 1, 2, 3)[f // 2 % 4])
        u = rng.random(rows)
        r = BASE_S * norm.ppf(u) + h * PER_LINK_S * expon.ppf(u) + rng.normal(0, 1e-3)
        residuals.append(r)
        links.append(h)
    return residuals, links


def test_it_recovers_a_known_spread_and_spread_per_link() -> None:
    base, per_link = fit_path_spread(*_files(12, 3000, seed=1))
    true_base, true_per_link = _truth()
    lv = levels()
    middle = (lv > 2) & (lv < 97)  # the outermost levels of 3000-sample groups are noisy
    assert len(base) == len(per_link) == LEVELS
    assert abs(base.mean()) < 1e-12 and abs(per_link.mean()) < 1e-12  # centred: means kept
    assert np.all(np.diff(base) >= -1e-12) and np.all(np.diff(per_link) >= -1e-12)
    assert np.abs(base - true_base)[middle].max() < 0.15 * BASE_S
    assert np.abs(per_link - true_per_link)[middle].max() < 0.15 * PER_LINK_S
    # the p99 of a path of 3 links, compute-only and per-link parts together
    p99 = int(np.argmin(np.abs(lv - 99)))
    predicted = base[p99] + 3 * per_link[p99]
    assert predicted == pytest.approx(true_base[p99] + 3 * true_per_link[p99], rel=0.1)


def test_one_number_of_links_gives_the_pooled_median_and_no_per_link_spread() -> None:
    rng = np.random.default_rng(2)
    residuals = [rng.exponential(1e-3, 400) for _ in range(5)]
    base, per_link = fit_path_spread(residuals, [np.full(400, 2)] * 5)
    pooled = np.median([np.percentile(r - r.mean(), levels()) for r in residuals], axis=0)
    assert np.allclose(base, pooled - pooled.mean()) and not per_link.any()


def test_small_groups_are_left_out_and_bad_input_is_refused() -> None:
    residuals, links = _files(6, 3000, seed=3)
    noisy = [np.full(20, 0.5)]  # a group of 20 with a wild offset: too small to count
    with_noise = fit_path_spread([*residuals, *noisy], [*links, np.full(20, 7)])
    assert np.allclose(with_noise[1], fit_path_spread(residuals, links)[1])
    with pytest.raises(InputError, match="one links array per residual array"):
        fit_path_spread(residuals, links[:-1])
    with pytest.raises(InputError, match="differ in shape"):
        fit_path_spread([np.zeros(3)], [np.zeros(4, np.int64)])


def test_the_fitted_term_gives_each_path_its_spread_and_keeps_the_mean() -> None:
    """Noise per message on synthetic files: a held-out configuration's predicted mean is the
    same with and without the spread; its per-link spread is non-negative at the top."""
    noisy = Overheads(message_s=1.2e-3, per_hop_s=4e-4, per_bit_s=0.0, call_s=0.0, noise_s=1e-3)
    held_out, *others = cases("iot", 9, noisy, seed=6, rows=300)
    fit = fit_overheads(others)
    assert len(fit.jitter_per_link_s) == LEVELS and abs(fit.jitter_per_link_s.mean()) < 1e-12
    with_spread = replace(held_out, topology=fit.topology(held_out.topology))
    pooled = replace(
        held_out,
        topology=replace(held_out.topology, overheads=replace(fit.overheads, jitter_per_link_s=())),
    )
    a, b = compare(pooled).model("runtime-timed"), compare(with_spread).model("runtime-timed")
    assert b.matched.mean_s == pytest.approx(a.matched.mean_s, rel=1e-9)


def test_the_topology_file_carries_the_spread_per_link() -> None:
    base, per_link = _truth()
    topo = load_topology("iot")
    overheads = replace(
        topo.overheads, jitter_s=tuple(base.tolist()), jitter_per_link_s=tuple(per_link.tolist())
    )
    topo = replace(topo, overheads=overheads)
    assert Topology.from_mapping(topo.to_mapping()).overheads == overheads
    data = topo.to_mapping()
    data["overheads"]["jitter_per_link_s"] = [0.0, 1e-3]  # type: ignore[index]
    with pytest.raises(InputError, match="jitter_per_link_s must hold as many values"):
        Topology.from_mapping(data)


def test_a_p99_on_the_edge_of_a_slow_path_reaches_the_fast_paths_largest_values() -> None:
    """With exactly 1% of a run's samples on a slow path, its p99 is the fast path's largest
    value plus 1% of the gap: the spread must resolve the fast path's ~99.8th percentile,
    which 100 levels (the top one 99.5%) cannot (docs/fidelity.md, "Session 12")."""
    rng = np.random.default_rng(3)
    scale = 2e-3  # exponential variation around every sample's latency
    residuals = [rng.exponential(scale, 500) for _ in range(15)]
    base, _ = fit_path_spread(residuals, [np.zeros(500, np.int64)] * 15)
    latency = np.r_[np.full(495, 0.010), np.full(5, 0.070)]  # 5 of 500 on the slow path
    zero = np.zeros(500)
    prediction = SamplePrediction(
        exit=(latency > 0.05).astype(np.int64), correct=np.ones(500, bool), compute_s=latency,
        transmission_s=zero, propagation_s=zero, overhead_s=zero, jitter_s=base,
        num_partitions=2,
    )  # fmt: skip
    predicted = np.percentile(prediction.distribution(), 99)
    runs = [np.percentile(latency + rng.exponential(scale, 500), 99) for _ in range(400)]
    measured = np.median(runs) - scale  # what a run of these 500 samples shows, centred
    assert predicted == pytest.approx(measured, rel=0.05)
    coarse = np.median([np.percentile(r - r.mean(), levels(100)) for r in residuals], axis=0)
    before = np.percentile(latency[:, None] + coarse, 99)
    assert before < 0.9 * measured  # 100 levels: the fast path's 99.5th percentile
