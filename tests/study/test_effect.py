from __future__ import annotations

import numpy as np
import pytest

from splitexit.study import cliffs_delta, magnitude, magnitude_letter


def test_cliffs_delta_hand_worked_example() -> None:
    # x = 1, 2, 3 against y = 2, 4: the six pairs are (1,2) <, (1,4) <, (2,2) =, (2,4) <,
    # (3,2) >, (3,4) <, so d = (1 - 4) / 6 = -0.5
    assert cliffs_delta([1, 2, 3], [2, 4]) == -0.5
    assert cliffs_delta([2, 4], [1, 2, 3]) == 0.5


def test_cliffs_delta_extremes_and_ties() -> None:
    assert cliffs_delta([5, 6], [1, 2, 3]) == 1.0
    assert cliffs_delta([1, 2], [5, 6]) == -1.0
    assert cliffs_delta([3, 3], [3, 3, 3]) == 0.0


def test_cliffs_delta_equals_the_pairwise_definition() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        x = rng.integers(0, 6, size=rng.integers(1, 30)).astype(float)
        y = rng.integers(0, 6, size=rng.integers(1, 30)).astype(float)
        brute = (np.sign(x[:, None] - y[None, :])).mean()
        assert cliffs_delta(x, y) == pytest.approx(brute, abs=1e-12)


def test_cliffs_delta_rejects_empty() -> None:
    with pytest.raises(ValueError, match="two non-empty samples"):
        cliffs_delta([], [1.0])


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (0.0, "negligible"),
        (0.1469, "negligible"),
        (0.147, "small"),
        (-0.3299, "small"),
        (0.33, "medium"),
        (-0.4739, "medium"),
        (0.474, "large"),
        (-1.0, "large"),
    ],
)
def test_magnitude_seed_thresholds(delta: float, label: str) -> None:
    assert magnitude(delta) == label


def test_magnitude_letter_sign_and_letter() -> None:
    assert [magnitude_letter(d) for d in (0.5, -0.5, 0.2, -0.01)] == ["L", "-L", "S", "-N"]
