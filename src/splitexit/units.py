"""Quantities with units: parsing what people write, formatting what people read.

Inside splitexit everything is SI: bits, seconds, bit/s. Outside, people write ``500kbps``,
``10Mbps``, ``40ms``. Rates are decimal (1 kbps = 1000 bit/s) as in networking; bytes per
second are refused rather than guessed.

>>> parse_bandwidth("10Mbps")
10000000.0
>>> parse_duration("40ms")
0.04
>>> format_duration(0.2999)
'299.9 ms'
"""

from __future__ import annotations

import math
import numbers
import re

from splitexit._validation import (
    InstanceOf,
    validate_params,
)
from splitexit.errors import UnitError

__all__ = [
    "format_bandwidth",
    "format_bits",
    "format_duration",
    "parse_bandwidth",
    "parse_duration",
    "parse_fraction",
]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BANDWIDTH = re.compile(rf"^\s*({_NUMBER})\s*([a-zA-Z/]*)\s*$")
_DURATION = re.compile(rf"^\s*({_NUMBER})\s*([a-zµ]*)\s*$")

_RATE_FACTORS = {
    "": 1.0,
    "bps": 1.0,
    "bit/s": 1.0,
    "kbps": 1e3,
    "kbit/s": 1e3,
    "mbps": 1e6,
    "mbit/s": 1e6,
    "gbps": 1e9,
    "gbit/s": 1e9,
}
_NUMBER_ANY = InstanceOf(numbers.Real, name="a number")  # inf and nan format too
_QUANTITY = InstanceOf(str, int, float, name="a number or a string with a unit")
_TIME_FACTORS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def _split(value: object, pattern: re.Pattern[str], what: str) -> tuple[float, str]:
    """Split ``value`` into (number, unit); a bare number has the unit ``""``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _finite(float(value), value, what), ""
    if not isinstance(value, str):
        raise UnitError(f"{what} must be a number or a string with a unit, got {value!r}")
    match = pattern.match(value)
    if match is None:
        raise UnitError(f"cannot read {value!r} as a {what}")
    return _finite(float(match.group(1)), value, what), match.group(2)


@validate_params({"value": [_QUANTITY]}, error=UnitError)
def parse_bandwidth(value: object) -> float:
    """Return a bandwidth in bit/s from ``"500kbps"``, ``"10Mbps"``, ``"1Gbps"`` or a number.

    Bare numbers are bit/s. Byte rates such as ``"10MBps"`` are refused: write ``80Mbps``.
    """
    number, unit = _split(value, _BANDWIDTH, "bandwidth")
    if "B" in unit:
        raise UnitError(
            f"{value!r} looks like bytes per second; write the rate in bits (e.g. Mbps)"
        )
    factor = _RATE_FACTORS.get(unit.lower())
    if factor is None:
        raise UnitError(
            f"unknown bandwidth unit {unit!r} in {value!r}; expected bps, kbps, Mbps or Gbps"
        )
    return number * factor


@validate_params({"value": [_QUANTITY]}, error=UnitError)
def parse_duration(value: object) -> float:
    """Return seconds from ``"40ms"``, ``"50us"``, ``"1.5s"`` or a number (seconds)."""
    number, unit = _split(value, _DURATION, "duration")
    factor = _TIME_FACTORS.get(unit)
    if factor is None:
        raise UnitError(f"unknown time unit {unit!r} in {value!r}; expected s, ms, us or ns")
    return number * factor


@validate_params({"value": [_QUANTITY]}, error=UnitError)
def parse_fraction(value: object) -> float:
    """Return a fraction from ``"92%"``, ``"0.92"`` or a number (``0.92``).

    >>> parse_fraction("92%"), parse_fraction(0.5)
    (0.92, 0.5)
    """
    text = value.strip() if isinstance(value, str) else value
    percent = isinstance(text, str) and text.endswith("%")
    body = text[:-1] if isinstance(text, str) and percent else text
    if isinstance(body, str):
        try:
            number = float(body)
        except ValueError:
            raise UnitError(f"cannot read {value!r} as a fraction like 0.92 or 92%") from None
    elif isinstance(body, int | float) and not isinstance(body, bool):
        number = float(body)
    else:
        raise UnitError(f"fraction must be a number or a percentage, got {value!r}")
    return _finite(number / 100 if percent else number, value, "fraction")


def _finite(number: float, original: object, what: str) -> float:
    if not math.isfinite(number):
        raise UnitError(f"{what} must be finite, got {original!r}")
    return number


@validate_params(
    {
        "seconds": [_NUMBER_ANY],
    }
)
def format_duration(seconds: float) -> str:
    """Format seconds for people: ``'299.9 ms'``, ``'3.31 s'``, ``'850 us'``."""
    magnitude = abs(seconds)
    if magnitude >= 1.0:
        return f"{seconds:.3g} s" if magnitude < 100 else f"{seconds:.1f} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.4g} ms"
    if magnitude == 0.0:
        return "0 ms"
    return f"{seconds * 1e6:.4g} us"


@validate_params(
    {
        "bits_per_second": [_NUMBER_ANY],
    }
)
def format_bandwidth(bits_per_second: float) -> str:
    """Format a rate for people: ``'10 Mbps'``, ``'500 kbps'``."""
    for factor, unit in ((1e9, "Gbps"), (1e6, "Mbps"), (1e3, "kbps")):
        if bits_per_second >= factor:
            return f"{bits_per_second / factor:.4g} {unit}"
    return f"{bits_per_second:.4g} bps"


@validate_params(
    {
        "bits": [_NUMBER_ANY],
    }
)
def format_bits(bits: float) -> str:
    """Format a data size for people: ``'512 kbit'``, ``'1.05 Mbit'``."""
    for factor, unit in ((1e9, "Gbit"), (1e6, "Mbit"), (1e3, "kbit")):
        if bits >= factor:
            return f"{bits / factor:.4g} {unit}"
    return f"{bits:.4g} bit"
