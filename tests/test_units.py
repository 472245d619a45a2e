from __future__ import annotations

import pytest

from splitexit.errors import UnitError
from splitexit.units import format_duration, parse_bandwidth, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500kbps", 5e5),
        ("10Mbps", 1e7),
        ("1.5 Gbps", 1.5e9),
        ("200 bps", 200.0),
        ("10 Mbit/s", 1e7),
        (1200, 1200.0),
        ("2e6", 2e6),
    ],
)
def test_parse_bandwidth_units(text: object, expected: float) -> None:
    assert parse_bandwidth(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("40ms", 0.04), ("50us", 5e-5), ("1.5s", 1.5), ("2", 2.0), (0.25, 0.25), ("7 ms", 0.007)],
)
def test_parse_duration_units(text: object, expected: float) -> None:
    assert parse_duration(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10MBps", "bytes per second"),
        ("10 furlongs", "unknown bandwidth unit"),
        ("fast", "cannot read"),
        (True, "must be a number"),
        ("inf", "cannot read"),
        (float("nan"), "must be finite"),
    ],
)
def test_parse_bandwidth_rejects(text: object, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        parse_bandwidth(text)


@pytest.mark.parametrize(("text", "fragment"), [("3 hours", "unknown time unit"), ([], "number")])
def test_parse_duration_rejects(text: object, fragment: str) -> None:
    with pytest.raises(UnitError, match=fragment):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.2999, "299.9 ms"), (3.309, "3.31 s"), (8.5e-4, "850 us"), (0, "0 ms")]
)
def test_format_duration_readable(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
