"""The shaping rules: bucket sizes, wire bytes, the bucket credit and the receive charge."""

from __future__ import annotations

import pytest

from splitexit.errors import InputError
from splitexit.runtime._shaping import (
    FRAME_BYTES,
    MESSAGE_FRAMING_BYTES,
    LinkShape,
    ReceiveCharge,
    bucket_credit_s,
    burst_bytes,
    wire_bytes,
)


@pytest.mark.parametrize(
    ("bandwidth", "burst"),
    [(500e3, FRAME_BYTES), (10e6, FRAME_BYTES), (23e6, FRAME_BYTES), (40e6, 4 * FRAME_BYTES)],
)
def test_the_bucket_is_one_frame_where_a_frame_takes_half_a_millisecond(
    bandwidth: float, burst: int
) -> None:
    assert burst_bytes(LinkShape("l", bandwidth, 0.0).wire_rate_bps) == burst


def test_a_bulk_transfer_on_the_wire_is_the_payload_rate() -> None:
    # bulk: wire bytes / wire rate is payload bits / bandwidth (the model's charge)
    shape = LinkShape("l", 10e6, 0.0)
    nbytes = 1448 * 100
    assert wire_bytes(nbytes) * 8 / shape.wire_rate_bps == pytest.approx(nbytes * 8 / 10e6)


def test_the_credit_is_the_whole_of_a_small_message_and_one_bucket_of_a_long_one() -> None:
    rate = LinkShape("l", 500e3, 0.0).wire_rate_bps
    assert bucket_credit_s(rate, 1514, 800) == pytest.approx(wire_bytes(800) * 8 / rate)
    assert bucket_credit_s(rate, 1514, 30_000) == pytest.approx(1514 * 8 / rate)


def test_a_receive_charge_adds_propagation_and_every_links_credit() -> None:
    shapes = [LinkShape("a", 500e3, 0.006), LinkShape("b", 10e6, 0.04)]
    charge = ReceiveCharge.of_path(shapes)
    body = 700
    payload = body + MESSAGE_FRAMING_BYTES
    expected = 0.046 + sum(
        bucket_credit_s(s.wire_rate_bps, burst_bytes(s.wire_rate_bps), payload) for s in shapes
    )
    assert charge.seconds(body) == pytest.approx(expected)
    assert ReceiveCharge.from_env(charge.to_env()) == charge
    assert ReceiveCharge.from_env("0.02") == ReceiveCharge(0.02)  # a bare delay still works
    assert ReceiveCharge.from_env("").seconds(10**6) == 0.0


@pytest.mark.parametrize("raw", ["x", "0.1;abc", "0.1;1e6:0", "-1"])
def test_a_bad_receive_charge_is_one_clear_error(raw: str) -> None:
    with pytest.raises(InputError, match="receive charge"):
        ReceiveCharge.from_env(raw)
