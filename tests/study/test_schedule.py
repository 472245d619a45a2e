from __future__ import annotations

from collections import Counter

import pytest

from splitexit.study import Strategy, choose_samples, make_schedule

S = [Strategy("m", "I", "M"), Strategy("m", "I", "E"), Strategy("n", "P", "ME")]
SAMPLES = {"m": (4, 7, 9), "n": (0, 1, 2)}


def _schedule(order: str, **kw: int):  # type: ignore[no-untyped-def]
    args = {"repetitions": 3, "warmup": 5, "inferences": 4} | kw
    return make_schedule(S, SAMPLES, order=order, **args)


@pytest.mark.parametrize("order", ["interleaved", "randomized", "sequential"])
def test_schedule_counts_every_block_once(order: str) -> None:
    events = _schedule(order)
    measures = [(e.strategy, e.repetition) for e in events if e.kind == "measure"]
    assert sorted(measures) == sorted((s, r) for s in S for r in (1, 2, 3))
    for e in events:
        if e.kind == "measure":
            assert e.samples == SAMPLES[e.strategy.subject][:3] + SAMPLES[e.strategy.subject][:1]
        if e.kind == "warmup":
            assert len(e.samples) == 5
    # every restart is followed by a warm-up of the same strategy, and the strategy changes
    # only right after a restart
    for i, e in enumerate(events):
        if e.kind == "restart":
            assert events[i + 1].kind == "warmup" and events[i + 1].strategy == e.strategy
        if i and e.strategy != events[i - 1].strategy:
            assert e.kind == "restart"


def test_schedule_interleaved_runs_each_repetition_across_strategies() -> None:
    events = _schedule("interleaved")
    measures = [(e.strategy, e.repetition) for e in events if e.kind == "measure"]
    assert measures == [(s, r) for r in (1, 2, 3) for s in S]
    assert Counter(e.kind for e in events) == {"restart": 9, "warmup": 9, "measure": 9}


def test_schedule_sequential_restarts_between_strategies_only() -> None:
    events = _schedule("sequential")
    kinds = [e.kind for e in events]
    assert kinds == ["restart", "warmup", "measure", "measure", "measure"] * 3
    assert [e.repetition for e in events if e.kind == "measure"] == [1, 2, 3] * 3


def test_schedule_randomized_is_seeded() -> None:
    a = [(e.kind, e.strategy, e.repetition) for e in _schedule("randomized", seed=1)]
    b = [(e.kind, e.strategy, e.repetition) for e in _schedule("randomized", seed=1)]
    c = [(e.kind, e.strategy, e.repetition) for e in _schedule("randomized", seed=2)]
    assert a == b
    assert a != c


def test_schedule_without_warmup_has_no_warmup_events() -> None:
    events = _schedule("interleaved", warmup=0)
    assert all(e.kind != "warmup" for e in events)


def test_schedule_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="repetitions must be >= 1, got 0"):
        _schedule("interleaved", repetitions=0)
    with pytest.raises(ValueError, match="order must be"):
        _schedule("shuffled")


def test_choose_samples_largest_first_random() -> None:
    sizes = [10, 50, 20, 50, 5, 40]
    assert choose_samples(sizes, 3) == (1, 3, 5)
    assert choose_samples(sizes, 2, choice="first") == (0, 1)
    picked = choose_samples(sizes, 4, choice="random", seed=3)
    assert len(set(picked)) == 4 and picked == choose_samples(sizes, 4, choice="random", seed=3)
    with pytest.raises(ValueError, match="cannot choose 7 samples from 6"):
        choose_samples(sizes, 7)
