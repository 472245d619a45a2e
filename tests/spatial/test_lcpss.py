from __future__ import annotations

import pytest

from splitexit.errors import InputError
from splitexit.spatial import PartitionScorer, group_cluster, lcpss, load_model, make_problem


@pytest.fixture(scope="module")
def vgg_db():  # type: ignore[no-untyped-def]
    return make_problem(load_model("vgg16"), group_cluster("DB", bandwidth=50e6))


def test_scorer_scales_both_terms_between_the_extreme_schemes(vgg_db) -> None:  # type: ignore[no-untyped-def]
    n = vgg_db.num_layers
    one, lbl = (0, n), tuple(range(n + 1))
    only_t = PartitionScorer(vgg_db, alpha=1.0, samples=50, seed=0)
    only_o = PartitionScorer(vgg_db, alpha=0.0, samples=50, seed=0)
    assert only_t.score(one) == pytest.approx(0.0) and only_t.score(lbl) == pytest.approx(1.0)
    assert only_o.score(lbl) == pytest.approx(0.0) and only_o.score(one) == pytest.approx(1.0)
    ops_one, bits_one = only_t.terms(one)
    ops_lbl, bits_lbl = only_t.terms(lbl)
    assert ops_one > ops_lbl  # halos computed twice
    assert bits_lbl > bits_one  # maps exchanged after every layer


def test_lcpss_alpha_trades_volumes_as_in_fig4(vgg_db) -> None:  # type: ignore[no-untyped-def]
    # Small alpha (operations) -> many volumes; alpha = 1 (transmission) -> few.
    counts = [len(lcpss(vgg_db, alpha=a)) - 1 for a in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert counts[0] >= 12 and counts[-1] <= 2
    assert counts == sorted(counts, reverse=True)


def test_lcpss_stops_where_no_single_location_helps(vgg_db) -> None:  # type: ignore[no-untyped-def]
    scheme = lcpss(vgg_db, alpha=0.75, samples=100, seed=3)
    scorer = PartitionScorer(vgg_db, alpha=0.75, samples=100, seed=3)
    base = scorer.score(scheme)
    for j in range(1, vgg_db.num_layers):
        if j not in scheme:
            assert scorer.score(sorted([*scheme, j])) >= base - 1e-12


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": 7}, "alpha"),
        ({"alpha": -0.1}, "alpha"),
        ({"alpha": "0.5"}, "alpha"),
        ({"samples": 0}, "samples"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_lcpss_bad_parameter_raises_input_error_naming_it(
    vgg_db, kwargs: dict[str, object], name: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=name):
        lcpss(vgg_db, **kwargs)  # type: ignore[arg-type]
