"""Fig. 5: LC-PSS over different numbers of random split decisions."""

from __future__ import annotations

import pytest

from splitexit.errors import InputError
from splitexit.spatial import load_model, samples_markdown, samples_sweep


@pytest.mark.slow
def test_samples_sweep_reports_min_mean_max_over_repeats() -> None:
    info, raw = samples_sweep(load_model("vgg16"), sizes=(2, 100), repeats=6, polish_evaluations=50)
    assert list(raw) == ["(a) DB 50Mbps", "(b) NA Nano"]
    assert info.labels[:3] == ("(a) DB 50Mbps min", "(a) DB 50Mbps mean", "(a) DB 50Mbps max")
    assert info.x[0] == (2.0, 100.0)
    for rows in raw.values():
        few, many = rows
        for row in rows:
            assert len(row["ips"]) == 6
            assert row["min"] - 1e-9 <= row["mean"] <= row["max"] + 1e-9
            assert row["min"] == min(row["ips"]) and row["max"] == max(row["ips"])
        # Two random decisions are a noisy score: LC-PSS picks several schemes; 100 agree.
        assert len(few["schemes"]) > 1
        assert len(many["schemes"]) == 1 and many["min"] == many["max"]
    text = samples_markdown(raw)
    assert text.splitlines()[2].startswith("| (a) DB 50Mbps | 2 | ")
    assert len(text.splitlines()) == 2 + 4


def test_samples_sweep_rejects_bad_sizes() -> None:
    with pytest.raises(InputError, match="sizes must be >= 1"):
        samples_sweep(load_model("tinycnn"), sizes=(0,), repeats=1)
    with pytest.raises(InputError, match="repeats must be >= 1"):
        samples_sweep(load_model("tinycnn"), repeats=0)
